//! What each write of the action log decides, from what its backend loaded: whether the rules
//! allow it and its audit event (kind and summary). Pure, and written once: each backend loads
//! (with its locks), asks here, and applies what comes back in the same transaction.

use super::*;
use crate::measures::decide::{check_version, require_member, require_party};
use accord_domain::EventKind;
use accord_domain::audit::Draft;
use serde_json::json;

/// What a new action refers to, as its backend found it.
#[derive(Debug, Clone, Copy)]
pub struct ActionReferences {
    /// Its party is one of the relationship's.
    pub party: bool,
    /// Its owner (if it names one) is a current member.
    pub owner: bool,
    /// What its source's id names in the relationship (if it has a source).
    pub source: SourceFound,
}

pub fn create_action(new: &NewAction, found: ActionReferences, id: Uuid, actor: Uuid) -> StoreResult<Draft> {
    require_party(found.party, "party")?;
    require_member(found.owner, "owner")?;
    if let Some(source) = &new.source {
        source.check(found.source)?;
    }
    let summary = json!({"title": new.title, "party": new.party_id, "owner": new.owner_id, "due_date": new.due_date.to_string(), "source": new.source});
    Ok(Draft::new(Some(actor), EventKind::ActionCreated, "action", id, summary))
}

/// A change to `before`, whose new owner (if it names one) is a current member (`owner`).
pub fn update_action(before: &Action, change: &ActionChange, owner: bool, expected_version: i64, actor: Uuid) -> StoreResult<Draft> {
    check_version(before.version, expected_version)?;
    require_member(owner, "owner")?;
    let summary = json!({
        "party": before.party_id,
        "before": {"status": before.status.as_str(), "owner": before.owner_id, "due_date": before.due_date.to_string()},
        "after": {"status": change.status.as_str(), "owner": change.owner_id, "due_date": change.due_date.to_string()},
    });
    Ok(Draft::new(Some(actor), EventKind::ActionUpdated, "action", before.id, summary))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreError;
    use accord_domain::measure::Cadence;
    use proptest::prelude::*;

    fn new_action(source: Option<ActionSource>) -> NewAction {
        NewAction {
            relationship_id: Uuid::nil(),
            title: "Fix it".into(),
            description: String::new(),
            owner_id: None,
            party_id: Uuid::from_u128(2),
            due_date: Date::constant(2026, 4, 1),
            source,
        }
    }

    fn field(e: StoreError) -> String {
        match e {
            StoreError::Invalid(invalid) => invalid.0[0].field.clone(),
            other => panic!("not a field error: {other:?}"),
        }
    }

    #[test]
    fn an_action_is_refused_on_its_first_unknown_reference_and_hashes_its_source_as_given() {
        let source = ActionSource { kind: "kpi_period".into(), id: Uuid::from_u128(9), period: Some(Date::constant(2026, 3, 1)) };
        let new = new_action(Some(source));
        let all = ActionReferences { party: true, owner: true, source: SourceFound::Kpi(Cadence::Monthly) };
        let draft = create_action(&new, all, Uuid::from_u128(1), Uuid::nil()).unwrap();
        assert_eq!(draft.kind, EventKind::ActionCreated);
        assert_eq!(draft.subject, format!("action:{}", Uuid::from_u128(1)));
        assert_eq!(draft.summary["source"], json!({"kind": "kpi_period", "id": Uuid::from_u128(9), "period": "2026-03-01"}));
        assert_eq!(
            field(create_action(&new, ActionReferences { party: false, owner: false, ..all }, Uuid::nil(), Uuid::nil()).unwrap_err()),
            "party"
        );
        assert_eq!(field(create_action(&new, ActionReferences { owner: false, ..all }, Uuid::nil(), Uuid::nil()).unwrap_err()), "owner");
        let nothing = ActionReferences { source: SourceFound::Nothing, ..all };
        assert_eq!(field(create_action(&new, nothing, Uuid::nil(), Uuid::nil()).unwrap_err()), "source_id");
        // Without a source, what was found of none does not matter.
        assert!(create_action(&new_action(None), nothing, Uuid::nil(), Uuid::nil()).is_ok());
    }

    proptest! {
        /// A change goes ahead exactly when the version matches and the owner is a member; its
        /// summary holds the state before and after.
        #[test]
        fn a_change_goes_ahead_exactly_on_the_read_version_with_a_member_owner(
            current in 1i64..5, expected in 1i64..5, owner in any::<bool>(), status in prop::sample::select(ActionStatus::ALL.to_vec()),
        ) {
            let before = Action {
                id: Uuid::from_u128(1), relationship_id: Uuid::nil(), title: "t".into(), description: String::new(), owner_id: None,
                owner_name: String::new(), party_id: Uuid::from_u128(2), party_name: String::new(),
                due_date: Date::constant(2026, 4, 1), status: ActionStatus::Open, source: None, version: current,
                created_at: Timestamp::UNIX_EPOCH,
            };
            let change = ActionChange { status, owner_id: Some(Uuid::from_u128(3)), due_date: Date::constant(2026, 5, 1) };
            match update_action(&before, &change, owner, expected, Uuid::nil()) {
                Ok(draft) => {
                    prop_assert!(current == expected && owner);
                    prop_assert_eq!(&draft.summary["after"]["status"], status.as_str());
                    prop_assert_eq!(&draft.summary["before"]["status"], "open");
                }
                Err(StoreError::Stale { current: c }) => prop_assert!(c == current && current != expected),
                Err(e) => { prop_assert!(current == expected && !owner); prop_assert_eq!(field(e), "owner"); }
            }
        }
    }
}
