//! What each write of a signed record decides, from what its backend loaded: whether the rules
//! allow it, what it writes, its audit events and who is told. Pure, and written once: each
//! backend loads (with its locks), asks here, and applies what comes back in one transaction.

use super::*;
use crate::{Notice, StoreError};
use accord_domain::audit::Draft;
use accord_domain::membership::{CurrentMember, Role};
use accord_domain::records::{Document, SubjectKind};
use accord_domain::{EventKind, NotificationKind};
use serde_json::json;

pub const SEALED: &str =
    "This record is sealed: every party has signed it, and it no longer changes. A correction is an addendum, signed the same way.";
pub const CHANGED: &str = "The record changed since you opened it: read it again as it is now, then sign what it says.";
pub const NOT_SEALED: &str = "Only a sealed record takes an addendum; until every party has signed, the record itself is changed.";

/// A put's outcome: what the backend writes.
#[derive(Debug, Clone, PartialEq)]
pub struct PutPlan {
    pub hash: String,
    pub write: PutWrite,
    /// Whether the signers named differ from those stored (always, for a new record).
    pub signers_changed: bool,
    pub draft: Option<Draft>,
    pub notice: Option<Notice>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PutWrite {
    /// A new record, with this id.
    Create(Uuid),
    /// New content (or signers): the listed signatures are voided.
    Change { voided: Vec<Uuid> },
    /// Nothing to write: the same content and signers again.
    Same,
}

/// The canonical document of what `put` would make the record (an addendum names its parent).
fn document<'a>(put: &'a PutRecord, parent: Option<(Uuid, &'a str)>) -> Document<'a> {
    Document {
        relationship_id: put.relationship_id,
        kind: put.kind,
        subject_id: put.subject_id,
        parent,
        title: &put.title,
        content: &put.content,
    }
}

fn sorted(mut signers: Vec<(Uuid, Uuid)>) -> Vec<(Uuid, Uuid)> {
    signers.sort();
    signers.dedup();
    signers
}

/// Puts `put` (the subject's record, `before` if it has one) among the relationship's
/// `parties` and `current` members; `id` names a new record.
pub fn put_record(
    before: Option<&Record>, put: &PutRecord, parent: Option<(Uuid, &str)>, parties: &[Uuid], current: &[CurrentMember], id: Uuid,
    actor: Option<Uuid>,
) -> StoreResult<PutPlan> {
    if put.title.trim().is_empty() {
        return Err(StoreError::invalid("title", "must not be empty"));
    }
    let hash = document(put, parent).hash()?;
    let signers = sorted(put.signers.clone());
    let stored = before.map(|b| sorted(b.signers.iter().map(|s| (s.party_id, s.user_id)).collect()));
    // Sealed: the same again is no change; anything else is refused before any other rule.
    if let Some(sealed) = before.filter(|b| b.seal.is_some()) {
        if hash == sealed.hash && Some(&signers) == stored.as_ref() {
            return Ok(PutPlan { hash, write: PutWrite::Same, signers_changed: false, draft: None, notice: None });
        }
        return Err(StoreError::Conflict(SEALED.into()));
    }
    for (party, user) in &put.signers {
        if !parties.contains(party) {
            return Err(StoreError::invalid("signers", "names a party that is not one of this relationship's"));
        }
        if !current.iter().any(|m| m.user_id == *user && m.party_id == *party && m.role != Role::Observer) {
            return Err(StoreError::invalid("signers", "names someone who is not a current member of that party (observers sign nothing)"));
        }
    }
    let Some(before) = before else {
        let summary = json!({
            "kind": put.kind.as_str(), "subject": put.subject_id, "title": put.title, "hash": hash,
            "parent": parent.map(|(id, _)| id), "signers": signers_json(&signers),
        });
        let draft = Draft::new(actor, EventKind::RecordCreated, "record", id, summary);
        let notice = awaiting(put.relationship_id, id, &put.title, &signers, parties, current, &[], actor);
        return Ok(PutPlan { hash, write: PutWrite::Create(id), signers_changed: true, draft: Some(draft), notice });
    };
    let stored = stored.unwrap_or_default();
    let (content_changed, signers_changed) = (hash != before.hash, signers != stored);
    if !content_changed && !signers_changed {
        return Ok(PutPlan { hash, write: PutWrite::Same, signers_changed, draft: None, notice: None });
    }
    let voided: Vec<&Signature> = if content_changed { before.signatures.iter().filter(|s| s.valid()).collect() } else { Vec::new() };
    let summary = json!({
        "title": put.title, "before": before.hash, "hash": hash, "signers": signers_json(&signers),
        "voided": voided.iter().map(|s| json!({"signature": s.id, "party": s.party_id, "user": s.user_id})).collect::<Vec<_>>(),
    });
    let draft = Draft::new(actor, EventKind::RecordChanged, "record", before.id, summary);
    // Everyone who must sign is told again when what they sign changed; otherwise only a newly
    // named signer, of a party that has not signed yet.
    let signed: Vec<Uuid> =
        if content_changed { Vec::new() } else { before.signatures.iter().filter(|s| s.valid()).map(|s| s.party_id).collect() };
    let newly_named: Vec<Uuid> = signers.iter().filter(|s| !stored.contains(s)).map(|&(_, u)| u).collect();
    let notice = awaiting(put.relationship_id, before.id, &put.title, &signers, parties, current, &signed, actor)
        .map(|mut n| {
            if !content_changed {
                n.recipients.retain(|u| newly_named.contains(u));
            }
            n
        })
        .filter(|n| !n.recipients.is_empty());
    let voided = voided.iter().map(|s| s.id).collect();
    Ok(PutPlan { hash, write: PutWrite::Change { voided }, signers_changed, draft: Some(draft), notice })
}

fn signers_json(signers: &[(Uuid, Uuid)]) -> Value {
    signers.iter().map(|(party, user)| json!({"party": party, "user": user})).collect()
}

/// Who is told that `record_id` waits on their signature: for each party not yet signed (not in
/// `signed`), its current SER and the signers named for it who are still members.
#[allow(clippy::too_many_arguments)]
fn awaiting(
    relationship_id: Uuid, record_id: Uuid, title: &str, signers: &[(Uuid, Uuid)], parties: &[Uuid], current: &[CurrentMember],
    signed: &[Uuid], actor: Option<Uuid>,
) -> Option<Notice> {
    let recipients: Vec<Uuid> = parties
        .iter()
        .filter(|p| !signed.contains(p))
        .flat_map(|&party| {
            current.iter().filter(move |m| m.party_id == party && (m.role == Role::Ser || signers.contains(&(party, m.user_id))))
        })
        .map(|m| m.user_id)
        .filter(|u| Some(*u) != actor)
        .collect();
    (!recipients.is_empty()).then(|| Notice {
        relationship_id,
        recipients,
        kind: NotificationKind::RecordAwaitingSignature,
        title: format!("Waiting on your signature: {title}"),
        body: format!(
            "“{title}” waits on your party's signature. Open it, read it, and if it says what was agreed, sign it on its page. Opening this link signs nothing."
        ),
        link: record_path(relationship_id, record_id),
    })
}

/// A signature's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct SignPlan {
    pub party_id: Uuid,
    pub draft: Draft,
    /// The last party signed: the record is sealed in the same transaction ([`seal`]).
    pub seals: bool,
}

/// May `actor` (among `current`) sign `record` for their party, having been shown `shown`?
pub fn sign(
    record: &Record, parties: &[Uuid], current: &[CurrentMember], actor: Uuid, shown: &str, signature_id: Uuid,
) -> StoreResult<SignPlan> {
    if record.seal.is_some() {
        return Err(StoreError::Conflict(SEALED.into()));
    }
    let me = current.iter().find(|m| m.user_id == actor).ok_or(StoreError::Forbidden("Only a current member signs for their party."))?;
    if !(me.role == Role::Ser || record.named_signer(me.party_id, actor)) {
        return Err(StoreError::Forbidden("Only your party's SER, or a signer this record names for your party, signs it."));
    }
    if shown.trim().to_ascii_lowercase() != record.hash {
        return Err(StoreError::Conflict(CHANGED.into()));
    }
    if let Some(given) = record.signature_of(me.party_id) {
        return Err(StoreError::Conflict(format!(
            "Your party has already signed this record ({} signed it); a party signs once, until a change voids its signature.",
            given.name
        )));
    }
    let summary = json!({"party": me.party_id, "hash": record.hash, "signature": signature_id, "title": record.title});
    let draft = Draft::new(Some(actor), EventKind::RecordSigned, "record", record.id, summary);
    let seals = parties.iter().all(|&p| p == me.party_id || record.signature_of(p).is_some());
    Ok(SignPlan { party_id: me.party_id, draft, seals })
}

/// The seal of `record`, every party's valid signature among `signatures` (as written, with the
/// one just given): recorded by the server, carrying the hash and where each signature stands
/// in the chain.
pub fn seal(record: &Record, signatures: &[Signature]) -> Draft {
    let signed: Vec<Value> = signatures
        .iter()
        .filter(|s| s.valid())
        .map(|s| json!({"party": s.party_id, "user": s.user_id, "signature": s.id, "position": s.position, "sha256": s.sha256}))
        .collect();
    let summary = json!({"hash": record.hash, "title": record.title, "signatures": signed});
    Draft::new(None, EventKind::RecordSealed, "record", record.id, summary)
}

/// The record an addendum to `parent` puts (its id `id`), if `actor` (among `current`) may add one.
pub fn addendum(parent: &Record, new: &NewAddendum, current: &[CurrentMember], actor: Uuid, id: Uuid) -> StoreResult<PutRecord> {
    if !current.iter().any(|m| m.user_id == actor && m.role.manages()) {
        return Err(StoreError::Forbidden("Only an SER or a JMT member adds an addendum."));
    }
    if parent.seal.is_none() {
        return Err(StoreError::Conflict(NOT_SEALED.into()));
    }
    if new.text.trim().is_empty() {
        return Err(StoreError::invalid("text", "must say what the addendum corrects or adds"));
    }
    Ok(PutRecord {
        relationship_id: parent.relationship_id,
        kind: SubjectKind::Addendum,
        subject_id: id,
        title: new.title.clone(),
        link: parent.path(),
        content: json!({"date": new.date.to_string(), "text": new.text}),
        // The parent's signers who may still sign (one who left signs no more; their party's SER does).
        signers: parent
            .signers
            .iter()
            .filter(|s| current.iter().any(|m| m.user_id == s.user_id && m.party_id == s.party_id && m.role != Role::Observer))
            .map(|s| (s.party_id, s.user_id))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const R: Uuid = Uuid::from_u128(100);
    const NORTH: Uuid = Uuid::from_u128(1);
    const SOUTH: Uuid = Uuid::from_u128(2);

    fn user(n: u128) -> Uuid {
        Uuid::from_u128(10 + n)
    }

    /// North: 0 SER, 1 JMT chair, 2 contributor; South: 3 SER, 4 JMT, 5 observer.
    fn current() -> Vec<CurrentMember> {
        [
            (0, NORTH, Role::Ser),
            (1, NORTH, Role::Jmt),
            (2, NORTH, Role::Contributor),
            (3, SOUTH, Role::Ser),
            (4, SOUTH, Role::Jmt),
            (5, SOUTH, Role::Observer),
        ]
        .into_iter()
        .map(|(n, party_id, role)| CurrentMember { user_id: user(n), party_id, role })
        .collect()
    }

    fn put(text: &str) -> PutRecord {
        PutRecord {
            relationship_id: R,
            kind: SubjectKind::Review,
            subject_id: Uuid::from_u128(7),
            title: "JMT, March".into(),
            link: "/meeting".into(),
            content: json!({"minutes": text}),
            signers: vec![(NORTH, user(1)), (SOUTH, user(4))],
        }
    }

    /// The record `put` makes, with `signed` (party, user) signatures valid.
    fn record(put: &PutRecord, signed: &[(Uuid, u128)]) -> Record {
        let hash = put_record(None, put, None, &[NORTH, SOUTH], &current(), Uuid::from_u128(50), None).unwrap().hash;
        Record {
            id: Uuid::from_u128(50),
            relationship_id: R,
            kind: put.kind,
            subject_id: put.subject_id,
            parent_id: None,
            title: put.title.clone(),
            link: put.link.clone(),
            content: put.content.clone(),
            hash: hash.clone(),
            parent_hash: None,
            version: 1,
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
            seal: None,
            signers: put.signers.iter().map(|&(party_id, user_id)| Signer { party_id, user_id, name: String::new() }).collect(),
            signatures: signed
                .iter()
                .enumerate()
                .map(|(i, &(party_id, n))| Signature {
                    id: Uuid::from_u128(60 + i as u128),
                    party_id,
                    user_id: user(n),
                    name: format!("user {n}"),
                    signed_at: Timestamp::UNIX_EPOCH,
                    sha256: hash.clone(),
                    voided_at: None,
                    position: 3,
                })
                .collect(),
            addenda: Vec::new(),
        }
    }

    fn conflict(e: StoreError) -> String {
        match e {
            StoreError::Conflict(m) => m,
            other => panic!("not a conflict: {other:?}"),
        }
    }

    #[test]
    fn a_new_record_tells_each_partys_signers_and_names_its_hash() {
        let plan = put_record(None, &put("a"), None, &[NORTH, SOUTH], &current(), Uuid::from_u128(50), Some(user(1))).unwrap();
        assert_eq!(plan.write, PutWrite::Create(Uuid::from_u128(50)));
        let draft = plan.draft.unwrap();
        assert_eq!((draft.kind, draft.summary["hash"].as_str()), (EventKind::RecordCreated, Some(plan.hash.as_str())));
        // The SERs and the named chairs, not the one who put it, no contributor, no observer.
        let notice = plan.notice.unwrap();
        assert_eq!(notice.recipients, [user(0), user(3), user(4)]);
        assert_eq!(notice.link, format!("/relationships/{R}/records/{}", Uuid::from_u128(50)));
        assert!(notice.body.contains("Opening this link signs nothing"));
    }

    #[test]
    fn signers_must_be_current_members_of_their_party() {
        let mut wrong = put("a");
        wrong.signers = vec![(NORTH, user(3))];
        let e = put_record(None, &wrong, None, &[NORTH, SOUTH], &current(), Uuid::nil(), None).unwrap_err();
        assert!(matches!(e, StoreError::Invalid(i) if i.0[0].field == "signers"));
        wrong.signers = vec![(SOUTH, user(5))];
        assert!(put_record(None, &wrong, None, &[NORTH, SOUTH], &current(), Uuid::nil(), None).is_err());
        wrong.signers = vec![(Uuid::from_u128(9), user(0))];
        assert!(put_record(None, &wrong, None, &[NORTH, SOUTH], &current(), Uuid::nil(), None).is_err());
    }

    #[test]
    fn who_signs_for_which_party() {
        let rec = record(&put("a"), &[]);
        let parties = [NORTH, SOUTH];
        let ok = |n: u128| sign(&rec, &parties, &current(), user(n), &rec.hash, Uuid::nil());
        assert_eq!(ok(0).unwrap().party_id, NORTH);
        assert_eq!(ok(1).unwrap().party_id, NORTH);
        assert_eq!(ok(4).unwrap().party_id, SOUTH);
        for n in [2, 5, 99] {
            assert!(matches!(ok(n), Err(StoreError::Forbidden(_))), "{n}");
        }
        assert_eq!(conflict(sign(&rec, &parties, &current(), user(0), "ab", Uuid::nil()).unwrap_err()), CHANGED);
        // The hash as shown, in capitals or with a space around it, is the same hash.
        assert!(sign(&rec, &parties, &current(), user(0), &format!(" {} ", rec.hash.to_uppercase()), Uuid::nil()).is_ok());
        let signed = record(&put("a"), &[(NORTH, 1)]);
        assert!(
            conflict(sign(&signed, &parties, &current(), user(0), &signed.hash, Uuid::nil()).unwrap_err()).contains("user 1 signed it")
        );
    }

    #[test]
    fn the_last_party_seals_and_a_sealed_record_refuses_everything_but_an_addendum() {
        let one = record(&put("a"), &[(NORTH, 0)]);
        let plan = sign(&one, &[NORTH, SOUTH], &current(), user(3), &one.hash, Uuid::nil()).unwrap();
        assert!(plan.seals);
        assert_eq!(plan.draft.summary["hash"], one.hash);
        let mut sealed = record(&put("a"), &[(NORTH, 0), (SOUTH, 3)]);
        let draft = seal(&sealed, &sealed.signatures);
        assert_eq!((draft.kind, draft.actor, &draft.summary["hash"]), (EventKind::RecordSealed, None, &json!(sealed.hash)));
        assert_eq!(draft.summary["signatures"].as_array().unwrap().len(), 2);
        sealed.seal = Some(Seal { sealed_at: Timestamp::UNIX_EPOCH, position: 9, event_hash: "e".into() });
        assert_eq!(conflict(sign(&sealed, &[NORTH, SOUTH], &current(), user(4), &sealed.hash, Uuid::nil()).unwrap_err()), SEALED);
        let e = put_record(Some(&sealed), &put("b"), None, &[NORTH, SOUTH], &current(), Uuid::nil(), None).unwrap_err();
        assert_eq!(conflict(e), SEALED);
        // The same again changes nothing, and is no error.
        let same = put_record(Some(&sealed), &put("a"), None, &[NORTH, SOUTH], &current(), Uuid::nil(), None).unwrap();
        assert_eq!(same.write, PutWrite::Same);

        let new = NewAddendum {
            relationship_id: R,
            parent_id: sealed.id,
            title: "Correction".into(),
            text: "Read 12, not 21".into(),
            date: Date::constant(2026, 4, 2),
        };
        let added = addendum(&sealed, &new, &current(), user(4), Uuid::from_u128(70)).unwrap();
        assert_eq!((added.kind, added.subject_id, added.signers.len()), (SubjectKind::Addendum, Uuid::from_u128(70), 2));
        assert_eq!(added.content, json!({"date": "2026-04-02", "text": "Read 12, not 21"}));
        assert!(matches!(addendum(&sealed, &new, &current(), user(2), Uuid::nil()), Err(StoreError::Forbidden(_))));
        assert_eq!(conflict(addendum(&one, &new, &current(), user(4), Uuid::nil()).unwrap_err()), NOT_SEALED);
    }

    proptest! {
        /// A put voids every valid signature exactly when the signed content changes, and tells
        /// then every party's signers again; a change of signers alone voids nothing.
        #[test]
        fn a_change_voids_exactly_when_the_hash_changes(
            before_text in "[a-c]{0,2}", after_text in "[a-c]{0,2}", north in any::<bool>(), south in any::<bool>(), drop_chair in any::<bool>(),
        ) {
            let signed: Vec<(Uuid, u128)> = [(north, (NORTH, 1)), (south, (SOUTH, 3))].into_iter().filter(|(s, _)| *s).map(|(_, p)| p).collect();
            let before = record(&put(&before_text), &signed);
            let mut next = put(&after_text);
            if drop_chair {
                next.signers.retain(|&(p, _)| p != SOUTH);
            }
            let plan = put_record(Some(&before), &next, None, &[NORTH, SOUTH], &current(), Uuid::nil(), None).unwrap();
            let content_changed = before_text != after_text;
            prop_assert_eq!(plan.hash != before.hash, content_changed);
            match &plan.write {
                PutWrite::Same => prop_assert!(!content_changed && !drop_chair && plan.draft.is_none()),
                PutWrite::Change { voided } => {
                    prop_assert!(content_changed || drop_chair);
                    prop_assert_eq!(voided.len(), if content_changed { signed.len() } else { 0 });
                    let draft = plan.draft.as_ref().unwrap();
                    prop_assert_eq!(draft.kind, EventKind::RecordChanged);
                    prop_assert_eq!(draft.summary["voided"].as_array().unwrap().len(), voided.len());
                    if content_changed {
                        let told = &plan.notice.as_ref().unwrap().recipients;
                        prop_assert!(told.contains(&user(0)) && told.contains(&user(3)));
                    }
                }
                PutWrite::Create(_) => prop_assert!(false),
            }
        }
    }
}
