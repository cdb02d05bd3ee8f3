//! What each write to organisations, accounts, tokens and passwords does, decided once from what
//! the backend loaded: the rule it checks and the audit event it records (on the site chain).
//! Pure: each backend loads (and locks) what a decision reads, then writes what it returns, in
//! one transaction.

use crate::{NewUser, StoreError, StoreResult, User};
use accord_domain::EventKind;
use accord_domain::audit::Draft;
use accord_domain::text::Name;
use jiff::Timestamp;
use serde_json::json;
use uuid::Uuid;

/// A new organisation `id` named `name`, unless `lookalike` (the name of one with the same
/// skeleton) exists already.
pub fn create_organisation(name: &Name, lookalike: Option<&str>, id: Uuid, actor: Option<Uuid>) -> StoreResult<Draft> {
    if let Some(existing) = lookalike {
        return Err(StoreError::organisation_looks_like(existing));
    }
    Ok(Draft::new(actor, EventKind::OrganisationCreated, "organisation", id, json!({"name": name.as_str()})))
}

/// Refuses a reference to an organisation that was not found, naming `field`.
pub fn organisation_exists(found: bool, id: Uuid, field: &str) -> StoreResult<()> {
    if found { Ok(()) } else { Err(StoreError::invalid(field, format!("no organisation has the id {id}"))) }
}

/// A new account `id`, in an organisation that must exist; only a site administrator may
/// belong to none.
pub fn create_user(user: &NewUser, organisation_found: bool, id: Uuid, actor: Option<Uuid>) -> StoreResult<Draft> {
    match user.organisation_id {
        Some(organisation_id) => organisation_exists(organisation_found, organisation_id, "organisation")?,
        None if !user.is_admin => return Err(StoreError::invalid("organisation", "choose the person's organisation")),
        None => {}
    }
    let summary = json!({"organisation": user.organisation_id, "admin": user.is_admin});
    Ok(Draft::new(actor, EventKind::UserCreated, "user", id, summary))
}

/// A new API token `id` of `user_id`, who makes it.
pub fn create_token(user_id: Uuid, id: Uuid, name: &Name) -> Draft {
    Draft::new(Some(user_id), EventKind::TokenCreated, "token", id, json!({"name": name.as_str()}))
}

/// Revoking a token that was live (`revoked`: the backend's update found it) records it; one
/// that was not is not found.
pub fn revoke_token(revoked: bool, user_id: Uuid, token_id: Uuid) -> StoreResult<Draft> {
    if !revoked {
        return Err(StoreError::NotFound("token"));
    }
    Ok(Draft::new(Some(user_id), EventKind::TokenRevoked, "token", token_id, json!({})))
}

/// A disabled account gets no session: one made now would come back when it is enabled again.
pub fn create_session(user: &User) -> StoreResult<()> {
    if user.disabled { Err(StoreError::NotFound("user")) } else { Ok(()) }
}

/// A new password for an account: the event, and which of its sessions end.
#[derive(Debug, Clone, PartialEq)]
pub struct PasswordChange {
    pub user_id: Uuid,
    /// Every session of the user ends but this one (the hash of the session that changed it).
    pub keep_session: Option<String>,
    pub event: Draft,
}

/// Setting a password ends every other session of the user (API tokens stay); `keep_session`
/// is the session that set it, if one did. A reset link passes none: every session ends.
pub fn set_password(user_id: Uuid, keep_session: Option<String>, actor: Option<Uuid>) -> PasswordChange {
    PasswordChange { user_id, keep_session, event: Draft::new(actor, EventKind::UserPasswordSet, "user", user_id, json!({})) }
}

/// Disabling or enabling `before`: nothing to write when it is so already; otherwise the event,
/// and every session of the user ends.
pub fn set_user_disabled(before: &User, disabled: bool, actor: Option<Uuid>) -> Option<Draft> {
    (before.disabled != disabled).then(|| {
        let kind = if disabled { EventKind::UserDisabled } else { EventKind::UserEnabled };
        Draft::new(actor, kind, "user", before.id, json!({}))
    })
}

/// A reset link for `user_id`, live until `expires_at`; it replaces any earlier one not yet used.
pub fn create_password_reset(user_id: Uuid, expires_at: Timestamp, actor: Option<Uuid>) -> Draft {
    let summary = json!({"expires_at": expires_at.to_string()});
    Draft::new(actor, EventKind::UserPasswordResetIssued, "user", user_id, summary)
}

/// Using a reset link (`user_id`: the account of the live link found, if one was): the
/// account's owner sets the password, and every session of theirs ends.
pub fn use_password_reset(user_id: Option<Uuid>) -> StoreResult<PasswordChange> {
    let user_id = user_id.ok_or(StoreError::NotFound("password reset link"))?;
    Ok(set_password(user_id, None, Some(user_id)))
}

/// The setup link is live when it was found and no administrator exists yet: the first
/// administrator, however made (this link or the command line), kills it.
pub fn setup_link(found: bool, admin_exists: bool) -> StoreResult<()> {
    if found && !admin_exists { Ok(()) } else { Err(StoreError::NotFound("setup link")) }
}

/// Using the live setup link: the first site administrator `id`, who makes their own account.
pub fn complete_setup(user: NewUser, found: bool, admin_exists: bool, id: Uuid) -> StoreResult<(NewUser, Draft)> {
    setup_link(found, admin_exists)?;
    let user = NewUser { is_admin: true, ..user };
    let event = create_user(&user, true, id, Some(id))?;
    Ok((user, event))
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_domain::text::Email;
    use proptest::prelude::*;

    fn user(disabled: bool) -> User {
        User {
            id: Uuid::from_u128(7),
            email: "a@example.org".into(),
            name: "A".into(),
            organisation_id: Some(Uuid::from_u128(1)),
            organisation_name: Some("Org".into()),
            is_admin: false,
            disabled,
            created_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn an_organisation_like_another_is_refused_naming_it() {
        let name = Name::parse("Keystone").unwrap();
        let Err(StoreError::Invalid(e)) = create_organisation(&name, Some("KEYSTONE"), Uuid::from_u128(2), None) else { panic!() };
        assert!(e.to_string().contains("“KEYSTONE”"), "{e}");
        let draft = create_organisation(&name, None, Uuid::from_u128(2), None).unwrap();
        assert_eq!((draft.kind, draft.summary), (EventKind::OrganisationCreated, json!({"name": "Keystone"})));
    }

    #[test]
    fn a_user_needs_an_organisation_that_exists() {
        let new = NewUser {
            email: Email::parse("b@example.org").unwrap(),
            name: Name::parse("B").unwrap(),
            organisation_id: Some(Uuid::from_u128(9)),
            is_admin: true,
            password_hash: None,
        };
        let Err(StoreError::Invalid(e)) = create_user(&new, false, Uuid::from_u128(3), None) else { panic!() };
        assert_eq!(e.0[0].field, "organisation");
        let draft = create_user(&new, true, Uuid::from_u128(3), None).unwrap();
        assert_eq!(draft.summary, json!({"organisation": Uuid::from_u128(9), "admin": true}));
        // Only a site administrator may belong to no organisation.
        let none = NewUser { organisation_id: None, ..new };
        assert_eq!(create_user(&none, false, Uuid::from_u128(3), None).unwrap().summary, json!({"organisation": null, "admin": true}));
        let Err(StoreError::Invalid(e)) = create_user(&NewUser { is_admin: false, ..none }, false, Uuid::from_u128(3), None) else {
            panic!()
        };
        assert_eq!(e.0[0].field, "organisation");
    }

    #[test]
    fn the_setup_link_makes_an_administrator_once_and_dies_when_one_exists() {
        let new = NewUser {
            email: Email::parse("root@example.org").unwrap(),
            name: Name::parse("Root").unwrap(),
            organisation_id: None,
            is_admin: false,
            password_hash: Some("phc".into()),
        };
        let id = Uuid::from_u128(8);
        let (made, event) = complete_setup(new.clone(), true, false, id).unwrap();
        assert!(made.is_admin, "the setup link makes an administrator whatever the form said");
        assert_eq!((event.kind, event.actor), (EventKind::UserCreated, Some(id)));
        for (found, admin_exists) in [(false, false), (true, true), (false, true)] {
            assert!(matches!(complete_setup(new.clone(), found, admin_exists, id), Err(StoreError::NotFound("setup link"))));
        }
    }

    #[test]
    fn a_token_not_live_is_not_found() {
        assert!(matches!(revoke_token(false, Uuid::from_u128(1), Uuid::from_u128(2)), Err(StoreError::NotFound("token"))));
        assert_eq!(revoke_token(true, Uuid::from_u128(1), Uuid::from_u128(2)).unwrap().kind, EventKind::TokenRevoked);
    }

    #[test]
    fn a_reset_ends_every_session_and_is_its_owners_act() {
        let change = use_password_reset(Some(Uuid::from_u128(5))).unwrap();
        assert_eq!((change.keep_session, change.event.actor), (None, Some(Uuid::from_u128(5))));
        assert!(matches!(use_password_reset(None), Err(StoreError::NotFound("password reset link"))));
    }

    proptest! {
        /// An account changes (and is recorded) only when its state does; a disabled one gets no session.
        #[test]
        fn disabling_records_only_a_change(was in any::<bool>(), wanted in any::<bool>()) {
            let before = user(was);
            let draft = set_user_disabled(&before, wanted, None);
            prop_assert_eq!(draft.is_some(), was != wanted);
            if let Some(draft) = draft {
                prop_assert_eq!(draft.kind, if wanted { EventKind::UserDisabled } else { EventKind::UserEnabled });
            }
            prop_assert_eq!(create_session(&before).is_ok(), !was);
        }

        /// A password set from a session keeps that session alone.
        #[test]
        fn a_password_keeps_the_session_that_set_it(keep in proptest::option::of("[a-f0-9]{8}")) {
            let change = set_password(Uuid::from_u128(4), keep.clone(), None);
            prop_assert_eq!(change.keep_session, keep);
            prop_assert_eq!(change.event.kind, EventKind::UserPasswordSet);
        }
    }
}
