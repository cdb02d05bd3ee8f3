//! A relationship's members: who holds which role for which party, invitations, hand-overs.

use crate::AppState;
use crate::auth::Access;
use crate::error::{ApiError, PageResult};
use crate::forms::{Confirm, CsrfForm, Empty, FormErrors, Labels, SentForm};
use crate::layout::{ConfirmPage, Saved, Shell, refused, render, saved};
use crate::secrets::new_token;
use crate::session::CsrfToken;
use accord_domain::id::parse_id;
use accord_domain::membership::Role;
use accord_domain::text::Email;
use accord_store::{Invitation, Member, NewInvitation};
use askama::Template;
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::SignedDuration;
use serde::Deserialize;

/// How long an invitation link stays valid.
pub const INVITATION_VALID: SignedDuration = SignedDuration::from_hours(24 * 14);

pub struct Row {
    pub member: Member,
    pub is_me: bool,
    pub can_manage: bool,
    pub can_hand_over: bool,
}

#[derive(Template)]
#[template(path = "relationships/members.html")]
struct MembersPage {
    shell: Shell,
    relationship_id: uuid::Uuid,
    rows: Vec<Row>,
    /// Pending invitations, and whether the caller may withdraw each (its party's SER and JMT only).
    invitations: Vec<(Invitation, bool)>,
    history: Vec<Member>,
    can_invite: bool,
    invite_email: String,
    invite_role: String,
    invited_link: Option<String>,
    errors: FormErrors,
    /// A member sees each party's name as a link to its oversight page (a site administrator
    /// who is not one sees the relationship's frame only).
    is_member: bool,
}

/// The invitation form's fields, as its labels name them.
const INVITE_LABELS: Labels = &[("email", "invite-email", "E-mail address"), ("role", "invite-role", "Role")];

async fn page(state: &AppState, access: &Access, csrf: &CsrfToken) -> Result<MembersPage, ApiError> {
    let id = access.id();
    let now = state.now();
    let rows = state
        .store
        .members(id)
        .await?
        .into_iter()
        .map(|member| Row {
            is_me: member.user_id == access.user.id,
            can_manage: member.role != Role::Ser && access.may_manage_party(member.party_id).is_ok(),
            can_hand_over: member.role != Role::Ser && access.may_hand_over(member.party_id).is_ok(),
            member,
        })
        .collect();
    let history = state.store.membership_history(id).await?.into_iter().filter(|m| m.left_at.is_some()).collect();
    Ok(MembersPage {
        is_member: access.member.is_some(),
        shell: Shell::new(Some(&access.user), csrf, "members").within_frame(&access.relationship, access.member.is_some()),
        relationship_id: id,
        rows,
        invitations: state
            .store
            .pending_invitations(id, now)
            .await?
            .into_iter()
            .map(|i| {
                let can_revoke = access.party_manager(i.party_id).is_ok();
                (i, can_revoke)
            })
            .collect(),
        history,
        can_invite: access.manager().is_ok(),
        invite_email: String::new(),
        invite_role: "contributor".into(),
        invited_link: None,
        errors: FormErrors::default(),
    })
}

pub async fn show(State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>) -> PageResult {
    Ok(render(StatusCode::OK, &page(&state, &access, &csrf).await?))
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

/// Invites a person of the inviter's own party; the link is shown once, to pass on.
pub async fn invite(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, SentForm(form, fresh): SentForm<InviteForm>,
) -> PageResult {
    let me = access.manager()?.clone();
    let attempt = async {
        let mut invalid = accord_domain::Invalid::default();
        let email = invalid.check("email", Email::parse(&form.email));
        let role = invalid.check("role", Role::parse(&form.role));
        invalid.finish()?;
        let (Some(email), Some(role)) = (email, role) else { return Err(ApiError::BadRequest("form".into())) };
        let (token, token_hash) = new_token();
        let now = state.now();
        let new = NewInvitation {
            relationship_id: access.id(),
            party_id: me.party_id,
            email,
            role,
            token_hash,
            expires_at: now + INVITATION_VALID,
        };
        state.store.create_invitation(new, access.user.id, now).await?;
        Ok::<_, ApiError>(format!("{}/invitations/{token}", state.public_url))
    };
    let result = fresh.then(attempt).await;
    let mut page = page(&state, &access, &csrf).await?;
    match result {
        Ok(link) => {
            page.invited_link = Some(link);
            Ok(render(StatusCode::OK, &page))
        }
        Err(e @ (ApiError::Invalid(_) | ApiError::Forbidden(_) | ApiError::Conflict(_) | ApiError::Expired)) => {
            page.errors = FormErrors::new(&e, INVITE_LABELS);
            page.invite_email = form.email;
            page.invite_role = form.role;
            Ok(refused(&e, &page))
        }
        Err(e) => Err(e.into()),
    }
}

fn members_path(access: &Access) -> String {
    format!("/relationships/{}/members", access.id())
}

fn back(access: &Access, what: Saved) -> axum::response::Response {
    saved(&members_path(access), what)
}

/// The confirmation step of a change to `member` posted to `/members/{user_id}/{step}`.
fn confirm_page(
    access: &Access, csrf: &CsrfToken, member: &Member, step: &str, title: String, lines: Vec<String>, button: &'static str,
) -> PageResult {
    let page = ConfirmPage {
        shell: Shell::new(Some(&access.user), csrf, "members").within_frame(&access.relationship, access.member.is_some()),
        title,
        lines,
        action: format!("{}/{}/{step}", members_path(access), member.user_id),
        button,
        cancel: members_path(access),
        reason: None,
    };
    Ok(render(StatusCode::OK, &page))
}

pub async fn revoke_invitation(
    State(state): State<AppState>, access: Access, Path((_, invitation_id)): Path<(String, String)>, CsrfForm(_): CsrfForm<Empty>,
) -> PageResult {
    access.manager()?;
    let invitation_id = parse_id(&invitation_id).ok_or(ApiError::NotFound)?;
    // Only the invitation's own party withdraws it: the store refuses anyone else (403).
    state.store.revoke_invitation(access.id(), invitation_id, access.user.id, state.now()).await?;
    Ok(back(&access, Saved::Withdrawn))
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

pub async fn change_role(
    State(state): State<AppState>, access: Access, Path((_, user_id)): Path<(String, String)>, CsrfForm(form): CsrfForm<RoleForm>,
) -> PageResult {
    let member = super::member(&state, &access, &user_id).await?;
    super::change_role(&state, &access, &member, Role::parse(&form.role).map_err(|m| ApiError::invalid("role", m))).await?;
    Ok(back(&access, Saved::Role))
}

/// Ends a membership: a manager removes someone of their party, or a member leaves; after a
/// confirmation step that says so.
pub async fn remove(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, user_id)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<Confirm>,
) -> PageResult {
    let member = super::member(&state, &access, &user_id).await?;
    let leaving = member.user_id == access.user.id;
    if !form.confirmed() {
        if !leaving {
            access.may_manage_party(member.party_id)?;
        }
        let relationship = &access.relationship.name;
        let (title, lines, button) = if leaving {
            let lines = vec![format!(
                "You leave {relationship}: you will no longer see it or be told about it. Your past records stay in its history."
            )];
            (format!("Leave {relationship}?"), lines, "Leave")
        } else {
            let name = &member.name;
            let lines = vec![
                format!(
                    "{name} ({}, {}) leaves {relationship}: they will no longer see it or be told about it.",
                    member.organisation_name,
                    member.role.label()
                ),
                "Their past records stay in its history; to bring them back, invite them again.".to_owned(),
            ];
            (format!("Remove {name}?"), lines, "Remove")
        };
        return confirm_page(&access, &csrf, &member, "remove", title, lines, button);
    }
    super::remove_member(&state, &access, &member).await?;
    Ok(if leaving { saved("/", Saved::Left) } else { back(&access, Saved::Removed) })
}

/// Hands a party's SER role to `user_id`, after a confirmation step naming who gains and who
/// gives up the role.
pub async fn succession(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, user_id)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<Confirm>,
) -> PageResult {
    let member = super::member(&state, &access, &user_id).await?;
    if !form.confirmed() {
        access.may_hand_over(member.party_id)?;
        let members = state.store.members(access.id()).await?;
        let current = members.iter().find(|m| m.party_id == member.party_id && m.role == Role::Ser);
        let party = &member.organisation_name;
        let mut lines = vec![format!("{} becomes {party}'s SER in {}.", member.name, access.relationship.name)];
        if let Some(current) = current {
            lines.push(format!("{} stays on as a JMT member.", current.name));
        }
        let title = format!("Make {} the SER?", member.name);
        return confirm_page(&access, &csrf, &member, "succession", title, lines, "Hand over the SER role");
    }
    super::succeed_ser(&state, &access, &member).await?;
    Ok(back(&access, Saved::Succession))
}
