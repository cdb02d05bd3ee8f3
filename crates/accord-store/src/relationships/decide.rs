//! What each write to relationships, their members and invitations does, decided once from
//! what the backend loaded (and, on PostgreSQL, locked: the chain's head): who may, the
//! membership rules of `accord_domain::membership`, the rows that change and the audit event.
//! Pure: each backend loads, then applies what these return, in one transaction.

use crate::{Invitation, InvitationAccount, NewInvitation, NewUser, Relationship, RelationshipChange, StoreError, StoreResult, User};
use accord_domain::EventKind;
use accord_domain::audit::Draft;
use accord_domain::membership::{self, CurrentMember, MembershipError, Role};
use accord_domain::relationship::{NewRelationship, Status};
use accord_domain::text::{Email, Name};
use serde_json::json;
use uuid::Uuid;

/// A membership rule's refusal, as a field error: `role` for the SER rules, `user` for the rest.
pub fn membership_refused(e: MembershipError) -> StoreError {
    let field = match e {
        MembershipError::SecondSer | MembershipError::SerMustHandOver | MembershipError::AlreadySer => "role",
        _ => "user",
    };
    StoreError::invalid(field, e.to_string())
}

/// May `actor` make a party-scoped write for `party_id`: one of that party's own SER and JMT
/// members among `current` (`membership::check_party_write`), or the site administrator
/// (`admin`) where the site administrator may (memberships, which they administer).
pub fn party_write(current: &[CurrentMember], actor: Uuid, party_id: Uuid, admin: bool) -> StoreResult<()> {
    match membership::check_party_write(current.iter().find(|m| m.user_id == actor), party_id) {
        Err(_) if admin => Ok(()),
        Err(refused) => Err(StoreError::Forbidden(refused.message())),
        Ok(()) => Ok(()),
    }
}

/// A new relationship `id` between organisations that must all exist (`missing`: the first
/// that was not found), each becoming a party.
pub fn create_relationship<P>(
    new: &NewRelationship<P>, organisations: &[Uuid], missing: Option<Uuid>, id: Uuid, actor: Option<Uuid>,
) -> StoreResult<Draft> {
    if let Some(organisation_id) = missing {
        crate::people::decide::organisation_exists(false, organisation_id, "parties")?;
    }
    let summary = json!({
        "name": new.name.as_str(), "purpose": new.purpose, "start_date": new.start_date.to_string(),
        "time_zone": new.time_zone, "parties": organisations,
    });
    Ok(Draft::new(actor, EventKind::RelationshipCreated, "relationship", id, summary))
}

/// The field of party `i` (counted from 0, as the request lists them) that an error names:
/// `parties[i]` for its organisation (`field` empty), else `parties[i].field`.
pub fn party_field(i: usize, field: &str) -> String {
    if field.is_empty() { format!("parties[{i}]") } else { format!("parties[{i}].{field}") }
}

/// Names `field` of party `i` in place of the field a refusal named.
pub fn for_party(e: StoreError, i: usize, field: &str) -> StoreError {
    match e {
        StoreError::Invalid(invalid) => StoreError::Invalid(accord_domain::Invalid(
            invalid.0.into_iter().map(|f| accord_domain::FieldError { field: party_field(i, field), ..f }).collect(),
        )),
        e => e,
    }
}

/// Keeps going past a refusal to find every field that is wrong: an `Invalid` is added to
/// `invalid` (and `None` returned); any other error stops.
pub fn gather<T>(invalid: &mut accord_domain::Invalid, result: StoreResult<T>) -> StoreResult<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(StoreError::Invalid(refused)) => {
            invalid.0.extend(refused.0);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// How a party's first SER comes in.
#[derive(Debug, Clone, PartialEq)]
pub enum FirstSerJoin {
    /// The account with their address joins as SER now.
    Member { member: CurrentMember, event: Draft },
    /// No account has the address: it is invited as SER to `party_id` (the invitation `id`).
    Invited { id: Uuid, party_id: Uuid, event: Draft },
}

/// Every party's first SER, in party order, so that each sees who joined before it: `sers` holds
/// each party that names one (its index, its SER, the account with their address if any). A
/// refusal is gathered into `invalid` and the rest still decided.
pub fn first_sers<'a, S>(
    sers: Vec<(usize, &'a S, Option<User>)>, organisations: &[Uuid], party_ids: &[Uuid], mut new_id: impl FnMut() -> Uuid,
    actor: Option<Uuid>, invalid: &mut accord_domain::Invalid,
) -> StoreResult<Vec<(&'a S, FirstSerJoin)>> {
    let (mut current, mut joins) = (Vec::new(), Vec::new());
    for (i, ser, existing) in sers {
        let join = first_ser(i, existing.as_ref(), organisations[i], party_ids[i], &current, new_id(), actor);
        if let Some(join) = gather(invalid, join)? {
            if let FirstSerJoin::Member { member, .. } = &join {
                current.push(*member);
            }
            joins.push((ser, join));
        }
    }
    Ok(joins)
}

/// The first SER of party `i` (`party_id`, of `organisation`): the account with their address
/// (`existing`) joins at once if it is of that organisation and enabled; an address without an
/// account is invited by `actor` (someone must invite). `current`: who joined before.
pub fn first_ser(
    i: usize, existing: Option<&User>, organisation: Uuid, party_id: Uuid, current: &[CurrentMember], invitation_id: Uuid,
    actor: Option<Uuid>,
) -> StoreResult<FirstSerJoin> {
    let refused = |message: String| StoreError::invalid(&party_field(i, "ser"), message);
    match existing {
        Some(user) if user.organisation_id != Some(organisation) => Err(for_party(other_organisation(user), i, "ser")),
        Some(user) if user.disabled => Err(refused("this person's account is disabled".into())),
        Some(user) => {
            membership::check_join(current, user.id, party_id, Role::Ser).map_err(|e| refused(e.to_string()))?;
            let summary = json!({"user": user.id, "party": party_id, "role": Role::Ser});
            Ok(FirstSerJoin::Member {
                member: CurrentMember { user_id: user.id, party_id, role: Role::Ser },
                event: Draft::new(actor, EventKind::MemberAdded, "user", user.id, summary),
            })
        }
        None => {
            let actor =
                actor.ok_or_else(|| refused("an invitation needs someone who invites: create it on the web or with the API".into()))?;
            let summary = json!({"invitation": invitation_id, "party": party_id, "role": Role::Ser});
            let event = Draft::new(Some(actor), EventKind::InvitationCreated, "invitation", invitation_id, summary);
            Ok(FirstSerJoin::Invited { id: invitation_id, party_id, event })
        }
    }
}

/// What a relationship's row becomes.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationshipUpdate {
    pub name: String,
    pub purpose: String,
    pub status: Status,
}

/// Applies `change` to `before` if it is still at `expected_version` (else `Stale`); the event
/// names every field before and after.
pub fn update_relationship(
    before: &Relationship, expected_version: i64, change: &RelationshipChange, actor: Option<Uuid>,
) -> StoreResult<(RelationshipUpdate, Draft)> {
    if before.version != expected_version {
        return Err(StoreError::Stale { current: before.version });
    }
    let after = RelationshipUpdate {
        name: change.name.as_ref().map_or(before.name.as_str(), Name::as_str).to_owned(),
        purpose: change.purpose.clone().unwrap_or_else(|| before.purpose.clone()),
        status: change.status.unwrap_or(before.status),
    };
    let summary = json!({
        "before": {"name": before.name, "purpose": before.purpose, "status": before.status},
        "after": {"name": after.name, "purpose": after.purpose, "status": after.status},
    });
    Ok((after, Draft::new(actor, EventKind::RelationshipUpdated, "relationship", before.id, summary)))
}

/// The membership rows a write changes, and its event.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberChanges {
    /// Current periods that end; with a role, the member's next period starts with it at once.
    pub ends: Vec<(CurrentMember, Option<Role>)>,
    /// New members.
    pub joins: Vec<CurrentMember>,
    pub event: Option<Draft>,
    /// The event is recorded before the rows change (a member who leaves acts for their party
    /// still); otherwise after (one who joins acts for the party they joined).
    pub event_first: bool,
    /// The member whose membership the write answers with.
    pub member: Uuid,
}

fn find_current(current: &[CurrentMember], user_id: Uuid) -> StoreResult<CurrentMember> {
    current.iter().find(|m| m.user_id == user_id).copied().ok_or(StoreError::NotFound("member"))
}

/// `user` joins with `role` the party of their organisation (`party_id`: its party in the
/// relationship, if it is one).
pub fn add_member(
    current: &[CurrentMember], user: &User, party_id: Option<Uuid>, role: Role, actor: Option<Uuid>,
) -> StoreResult<MemberChanges> {
    let party_id = party_id.ok_or_else(|| {
        StoreError::invalid("user", format!("belongs to {}, which is not a party to this relationship", organisation_of(user)))
    })?;
    membership::check_join(current, user.id, party_id, role).map_err(membership_refused)?;
    let summary = json!({"user": user.id, "party": party_id, "role": role});
    Ok(MemberChanges {
        ends: vec![],
        joins: vec![CurrentMember { user_id: user.id, party_id, role }],
        event: Some(Draft::new(actor, EventKind::MemberAdded, "user", user.id, summary)),
        event_first: false,
        member: user.id,
    })
}

/// `user_id` changes to `role`, by one of their party's writers or the site administrator
/// (`actor_admin`); becoming or ceasing to be SER goes through succession. Nothing changes when
/// the role is the same.
pub fn change_role(
    current: &[CurrentMember], user_id: Uuid, role: Role, actor: Option<Uuid>, actor_admin: bool,
) -> StoreResult<MemberChanges> {
    let member = find_current(current, user_id)?;
    if let Some(actor) = actor {
        party_write(current, actor, member.party_id, actor_admin)?;
    }
    membership::check_role_change(current, user_id, role).map_err(membership_refused)?;
    let mut changes = MemberChanges { ends: vec![], joins: vec![], event: None, event_first: false, member: user_id };
    if member.role != role {
        changes.ends.push((member, Some(role)));
        let summary = json!({"user": user_id, "party": member.party_id, "before": member.role, "after": role});
        changes.event = Some(Draft::new(actor, EventKind::MemberRoleChanged, "user", user_id, summary));
    }
    Ok(changes)
}

/// `user_id` leaves: anyone may leave, removing someone else is a write for their party; an SER
/// leaves only after handing over.
pub fn remove_member(current: &[CurrentMember], user_id: Uuid, actor: Option<Uuid>, actor_admin: bool) -> StoreResult<MemberChanges> {
    let member = find_current(current, user_id)?;
    if let Some(actor) = actor.filter(|a| *a != user_id) {
        party_write(current, actor, member.party_id, actor_admin)?;
    }
    membership::check_leave(current, user_id).map_err(membership_refused)?;
    let summary = json!({"user": user_id, "party": member.party_id, "role": member.role});
    Ok(MemberChanges {
        ends: vec![(member, None)],
        joins: vec![],
        event: Some(Draft::new(actor, EventKind::MemberLeft, "user", user_id, summary)),
        event_first: true,
        member: user_id,
    })
}

/// `successor` becomes their party's SER; the previous SER stays on as a JMT member.
pub fn succeed_ser(current: &[CurrentMember], successor: Uuid, actor: Option<Uuid>) -> StoreResult<MemberChanges> {
    let succession = membership::check_succession(current, successor).map_err(membership_refused)?;
    let mut ends = Vec::new();
    if let Some(predecessor) = succession.predecessor {
        ends.push((find_current(current, predecessor)?, Some(Role::Jmt)));
    }
    ends.push((find_current(current, successor)?, Some(Role::Ser)));
    let summary = json!({"party": succession.party_id, "predecessor": succession.predecessor, "successor": successor});
    Ok(MemberChanges {
        ends,
        joins: vec![],
        event: Some(Draft::new(actor, EventKind::SerSucceeded, "user", successor, summary)),
        event_first: false,
        member: successor,
    })
}

/// An invitation `id` to `new.party_id` (of organisation `party_organisation`), made by one of
/// that party's writers: not for an account of another organisation, nor a current member, nor
/// a second SER. `existing`: the account the address has already, if any.
pub fn create_invitation(
    current: &[CurrentMember], new: &NewInvitation, party_organisation: Uuid, existing: Option<&User>, id: Uuid, actor: Uuid,
) -> StoreResult<Draft> {
    party_write(current, actor, new.party_id, false)?;
    if let Some(user) = existing {
        if user.organisation_id != Some(party_organisation) {
            return Err(other_organisation(user));
        }
        if current.iter().any(|m| m.user_id == user.id) {
            return Err(StoreError::invalid("email", "is already a member of this relationship"));
        }
    }
    if new.role == Role::Ser && current.iter().any(|m| m.party_id == new.party_id && m.role == Role::Ser) {
        return Err(membership_refused(MembershipError::SecondSer));
    }
    let summary = json!({"invitation": id, "party": new.party_id, "role": new.role});
    Ok(Draft::new(Some(actor), EventKind::InvitationCreated, "invitation", id, summary))
}

/// The organisation an account belongs to, in words.
fn organisation_of(user: &User) -> &str {
    user.organisation_name.as_deref().unwrap_or("no organisation")
}

fn other_organisation(user: &User) -> StoreError {
    StoreError::invalid("email", format!("belongs to an account of {}, not of this party", organisation_of(user)))
}

/// Who accepts `invitation`: an account of its address and its party's organisation, or a new one.
#[derive(Debug, Clone)]
pub enum Accepting {
    Existing(Uuid),
    New(NewUser),
}

/// Checks the account accepting `invitation` (`existing`: the account `account` names, when it
/// names one), or makes the new account from the invitation.
pub fn accepting(invitation: &Invitation, account: InvitationAccount, existing: Option<&User>) -> StoreResult<Accepting> {
    match (account, existing) {
        (InvitationAccount::Existing(_), Some(user)) => {
            if user.email != invitation.email {
                let message = format!("this invitation is for {}; sign in with that address", invitation.email);
                return Err(StoreError::invalid("email", message));
            }
            // An account made for the address since, in another organisation, would join its own party.
            if user.organisation_id != Some(invitation.organisation_id) {
                return Err(other_organisation(user));
            }
            Ok(Accepting::Existing(user.id))
        }
        (InvitationAccount::Existing(_), None) => Err(StoreError::NotFound("user")),
        (InvitationAccount::New { name, password_hash }, _) => {
            let email = Email::parse(&invitation.email).map_err(|m| StoreError::invalid("email", m))?;
            let organisation_id = Some(invitation.organisation_id);
            Ok(Accepting::New(NewUser { email, name, organisation_id, is_admin: false, password_hash: Some(password_hash) }))
        }
    }
}

/// A new account for an invitation whose address is taken says how to accept instead.
pub fn new_account_refused(e: StoreError) -> StoreError {
    match e {
        StoreError::Invalid(_) => StoreError::invalid("email", "an account with this address exists already: sign in to accept"),
        e => e,
    }
}

/// `user_id` accepted `invitation`: recorded after they joined, for the party they joined.
pub fn invitation_accepted(invitation: &Invitation, user_id: Uuid) -> Draft {
    Draft::new(Some(user_id), EventKind::InvitationAccepted, "invitation", invitation.id, json!({"user": user_id}))
}

/// Withdrawing a pending invitation to `party_id` is a write for that party.
pub fn revoke_invitation(current: &[CurrentMember], invitation_id: Uuid, party_id: Uuid, actor: Uuid) -> StoreResult<Draft> {
    party_write(current, actor, party_id, false)?;
    Ok(Draft::new(Some(actor), EventKind::InvitationRevoked, "invitation", invitation_id, json!({"party": party_id})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;
    use proptest::prelude::*;

    const A: Uuid = Uuid::from_u128(0xa);
    const B: Uuid = Uuid::from_u128(0xb);

    fn member(user: u128, party: Uuid, role: Role) -> CurrentMember {
        CurrentMember { user_id: Uuid::from_u128(user), party_id: party, role }
    }

    fn role() -> impl Strategy<Value = Role> {
        prop_oneof![Just(Role::Ser), Just(Role::Jmt), Just(Role::Contributor), Just(Role::Observer)]
    }

    fn user(id: u128, organisation: u128) -> User {
        User {
            id: Uuid::from_u128(id),
            email: format!("u{id}@example.org"),
            name: format!("U{id}"),
            organisation_id: Some(Uuid::from_u128(organisation)),
            organisation_name: Some(format!("Org {organisation}")),
            is_admin: false,
            disabled: false,
            created_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn invitation(email: &str, organisation: u128) -> Invitation {
        Invitation {
            id: Uuid::from_u128(99),
            relationship_id: Uuid::from_u128(98),
            relationship_name: "R".into(),
            party_id: A,
            organisation_id: Uuid::from_u128(organisation),
            organisation_name: format!("Org {organisation}"),
            email: email.into(),
            role: Role::Contributor,
            invited_by: Uuid::from_u128(1),
            invited_by_name: "One".into(),
            created_at: Timestamp::UNIX_EPOCH,
            expires_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_stale_version_changes_nothing() {
        let before = Relationship {
            id: A,
            name: "R".into(),
            purpose: "P".into(),
            start_date: jiff::civil::date(2026, 1, 1),
            status: Status::Active,
            time_zone: "UTC".into(),
            version: 3,
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
        };
        let change = RelationshipChange { status: Some(Status::Suspended), ..RelationshipChange::default() };
        assert!(matches!(update_relationship(&before, 2, &change, None), Err(StoreError::Stale { current: 3 })));
        let (after, draft) = update_relationship(&before, 3, &change, None).unwrap();
        assert_eq!(after, RelationshipUpdate { name: "R".into(), purpose: "P".into(), status: Status::Suspended });
        assert_eq!(draft.summary["before"]["status"], "active");
        assert_eq!(draft.summary["after"]["status"], "suspended");
    }

    #[test]
    fn a_leaver_is_recorded_before_their_period_ends() {
        let current = [member(1, A, Role::Ser), member(2, A, Role::Jmt), member(3, B, Role::Ser)];
        let leave = remove_member(&current, Uuid::from_u128(2), Some(Uuid::from_u128(2)), false).unwrap();
        assert!(leave.event_first);
        assert_eq!(leave.ends, vec![(current[1], None)]);
        // Another party's SER may not remove them; the site administrator may.
        assert!(matches!(remove_member(&current, Uuid::from_u128(2), Some(Uuid::from_u128(3)), false), Err(StoreError::Forbidden(_))));
        assert!(remove_member(&current, Uuid::from_u128(2), Some(Uuid::from_u128(3)), true).is_ok());
        // An SER hands over first.
        let Err(StoreError::Invalid(e)) = remove_member(&current, Uuid::from_u128(1), None, false) else { panic!() };
        assert_eq!(e.0[0].field, "role");
    }

    #[test]
    fn succession_hands_the_predecessor_down_to_jmt() {
        let current = [member(1, A, Role::Ser), member(2, A, Role::Contributor)];
        let changes = succeed_ser(&current, Uuid::from_u128(2), None).unwrap();
        assert_eq!(changes.ends, vec![(current[0], Some(Role::Jmt)), (current[1], Some(Role::Ser))]);
        assert_eq!(changes.event.unwrap().summary["predecessor"], json!(Uuid::from_u128(1)));
    }

    #[test]
    fn an_invitation_is_for_an_account_of_the_party_that_is_not_a_member() {
        let current = [member(1, A, Role::Ser), member(2, A, Role::Contributor)];
        let new = NewInvitation {
            relationship_id: Uuid::from_u128(98),
            party_id: A,
            email: Email::parse("u2@example.org").unwrap(),
            role: Role::Ser,
            token_hash: "t".into(),
            expires_at: Timestamp::UNIX_EPOCH,
        };
        let id = Uuid::from_u128(50);
        let make = |existing: Option<&User>, actor: u128| {
            create_invitation(&current, &new, Uuid::from_u128(7), existing, id, Uuid::from_u128(actor))
        };
        assert!(matches!(make(None, 2), Err(StoreError::Forbidden(_))));
        let message = |r: StoreResult<Draft>| match r {
            Err(StoreError::Invalid(e)) => e.0[0].message.clone(),
            other => panic!("{other:?}"),
        };
        assert!(message(make(Some(&user(2, 8)), 1)).starts_with("belongs to an account of Org 8"));
        assert_eq!(message(make(Some(&user(2, 7)), 1)), "is already a member of this relationship");
        assert_eq!(message(make(None, 1)), MembershipError::SecondSer.to_string());
    }

    #[test]
    fn only_the_invited_address_of_the_invited_organisation_accepts() {
        let account = || InvitationAccount::Existing(Uuid::from_u128(2));
        let refused = |r: StoreResult<Accepting>| match r {
            Err(StoreError::Invalid(e)) => e.0[0].message.clone(),
            other => panic!("{other:?}"),
        };
        assert!(refused(accepting(&invitation("x@example.org", 7), account(), Some(&user(2, 7)))).starts_with("this invitation is for x@"));
        assert!(refused(accepting(&invitation("u2@example.org", 8), account(), Some(&user(2, 7)))).starts_with("belongs to an account"));
        assert!(matches!(accepting(&invitation("u2@example.org", 7), account(), Some(&user(2, 7))), Ok(Accepting::Existing(_))));
        let new = InvitationAccount::New { name: Name::parse("New").unwrap(), password_hash: "h".into() };
        let Ok(Accepting::New(made)) = accepting(&invitation("n@example.org", 7), new, None) else { panic!() };
        assert_eq!((made.organisation_id, made.is_admin), (Some(Uuid::from_u128(7)), false));
    }

    #[test]
    fn a_first_ser_joins_if_of_the_party_else_is_invited_and_errors_name_the_party() {
        let (org, party, inv, admin) = (Uuid::from_u128(7), A, Uuid::from_u128(50), Some(Uuid::from_u128(1)));
        let Ok(FirstSerJoin::Member { member: joined, event }) = first_ser(1, Some(&user(2, 7)), org, party, &[], inv, admin) else {
            panic!()
        };
        assert_eq!((joined.role, joined.party_id, event.kind), (Role::Ser, party, EventKind::MemberAdded));
        let Ok(FirstSerJoin::Invited { id, party_id, event }) = first_ser(1, None, org, party, &[], inv, admin) else { panic!() };
        assert_eq!((id, party_id, event.kind, event.actor), (inv, party, EventKind::InvitationCreated, admin));
        let field = |r: StoreResult<FirstSerJoin>| match r {
            Err(StoreError::Invalid(e)) => (e.0[0].field.clone(), e.0[0].message.clone()),
            other => panic!("{other:?}"),
        };
        let (name, message) = field(first_ser(1, Some(&user(2, 8)), org, party, &[], inv, admin));
        assert_eq!(name, "parties[1].ser");
        assert!(message.contains("Org 8"), "{message}");
        let disabled = User { disabled: true, ..user(2, 7) };
        assert_eq!(field(first_ser(0, Some(&disabled), org, party, &[], inv, admin)).0, "parties[0].ser");
        assert_eq!(field(first_ser(0, None, org, party, &[], inv, None)).0, "parties[0].ser");
        let taken = [member(3, party, Role::Ser)];
        assert_eq!(field(first_ser(0, Some(&user(2, 7)), org, party, &taken, inv, admin)).0, "parties[0].ser");
    }

    proptest! {
        /// A role change ends one period and starts the next exactly when the rule allows a
        /// different role, and records it; the same role changes nothing.
        #[test]
        fn a_role_change_follows_the_membership_rule(roles in proptest::collection::vec(role(), 1..5), who in 0usize..5, to in role()) {
            let current: Vec<CurrentMember> = roles.iter().enumerate().map(|(i, r)| member(i as u128 + 1, A, *r)).collect();
            let user_id = Uuid::from_u128(who as u128 + 1);
            let rule = membership::check_role_change(&current, user_id, to);
            match change_role(&current, user_id, to, None, false) {
                Ok(changes) => {
                    prop_assert!(rule.is_ok());
                    let was = current.iter().find(|m| m.user_id == user_id).unwrap().role;
                    prop_assert_eq!(changes.event.is_some(), was != to);
                    prop_assert_eq!(changes.ends.len(), usize::from(was != to));
                }
                Err(StoreError::NotFound(_)) => prop_assert!(who >= roles.len()),
                Err(_) => prop_assert!(rule.is_err()),
            }
        }

        /// Only the party's own SER and JMT members, or the administrator where allowed, write for it.
        #[test]
        fn party_writes_are_the_partys_own(actor_role in role(), same_party in any::<bool>(), admin in any::<bool>()) {
            let current = [member(1, if same_party { A } else { B }, actor_role)];
            let allowed = party_write(&current, Uuid::from_u128(1), A, admin).is_ok();
            prop_assert_eq!(allowed, admin || (same_party && actor_role.manages()));
        }
    }
}
