//! Relationships and who is in them: the home page and a relationship's overview, its parties,
//! members, invitations and SER succession. The operations the pages and the API both call.

pub mod api;
mod create;
mod members;
pub mod pages;

use crate::AppState;
use crate::auth::Access;
use crate::error::{ApiError, ApiResult};
use accord_domain::id::parse_id;
use accord_domain::membership::Role;
use accord_store::Member;

/// A current member of the relationship, named by user id in an address; anyone else is not found.
pub async fn member(state: &AppState, access: &Access, user_id: &str) -> ApiResult<Member> {
    let user_id = parse_id(user_id).ok_or(ApiError::NotFound)?;
    state.store.membership(access.id(), user_id).await?.ok_or(ApiError::NotFound)
}

/// Changes a member's role (their party's SER and JMT, or a site administrator). `role` is what
/// the caller sent, judged once the caller may change it. Becoming or ceasing to be SER goes
/// through succession instead.
pub async fn change_role(state: &AppState, access: &Access, member: &Member, role: Result<Role, ApiError>) -> ApiResult<Member> {
    access.may_manage_party(member.party_id)?;
    Ok(state.store.change_role(access.id(), member.user_id, role?, Some(access.user.id), state.now()).await?)
}

/// Ends a membership (the history keeps it): a manager removes someone of their party, or a
/// member leaves. An SER hands over first.
pub async fn remove_member(state: &AppState, access: &Access, member: &Member) -> ApiResult<()> {
    if member.user_id != access.user.id {
        access.may_manage_party(member.party_id)?;
    }
    Ok(state.store.remove_member(access.id(), member.user_id, Some(access.user.id), state.now()).await?)
}

/// Makes `member` their party's SER; the previous SER stays on as a JMT member.
pub async fn succeed_ser(state: &AppState, access: &Access, member: &Member) -> ApiResult<Member> {
    access.may_hand_over(member.party_id)?;
    Ok(state.store.succeed_ser(access.id(), member.user_id, Some(access.user.id), state.now()).await?)
}

/// A party as a request names it: an organisation that exists (by id or name) or, with `new`, a
/// new one's name; and its first SER's address (empty: none yet).
#[derive(Debug, Clone, Default)]
pub struct PartyRequest {
    pub organisation: String,
    pub new: bool,
    pub ser: String,
}

/// An SER invited because no account had their address: the link to pass on, shown once.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct InvitationLink {
    pub email: String,
    pub link: String,
}

/// Founds a relationship (site administrators only): its parties, new organisations made with
/// it, and each party's first SER (an account of that organisation joins at once; an address
/// without one is invited). All or nothing; every field at fault is named (`parties[i]` for a
/// party's organisation, `parties[i].ser` for its SER, counted from 0).
pub async fn found(
    state: &AppState, user: &accord_store::User, input: accord_domain::relationship::RelationshipInput<'_>, parties: &[PartyRequest],
) -> ApiResult<(accord_store::Founded, Vec<InvitationLink>)> {
    use accord_domain::text::{Email, Name};
    use accord_store::relationships::decide::party_field;
    use accord_store::{FirstSer, Founding, FoundingOrganisation, FoundingParty, StoreError};
    if !user.is_admin {
        return Err(ApiError::Forbidden("Only a site administrator creates relationships."));
    }
    let now = state.now();
    let mut invalid = accord_domain::Invalid::default();
    let (mut resolved, mut tokens) = (Vec::new(), Vec::new());
    for (i, party) in parties.iter().enumerate() {
        let organisation = if party.new {
            invalid.check(&party_field(i, ""), Name::parse(&party.organisation)).map(FoundingOrganisation::New)
        } else {
            match state.store.find_organisation(party.organisation.trim()).await {
                Ok(o) => Some(FoundingOrganisation::Existing(o.id)),
                Err(StoreError::NotFound(_)) => {
                    let message = format!("no organisation has the name or id {:?}", party.organisation);
                    invalid.check(&party_field(i, ""), Err(message))
                }
                Err(e) => return Err(e.into()),
            }
        };
        let ser = match party.ser.trim() {
            "" => Some(None),
            typed => {
                let email = invalid.check(&party_field(i, "ser"), Email::parse(typed));
                let twice = email.as_ref().is_some_and(|e| tokens.iter().any(|(named, _): &(Email, String)| named == e));
                match email {
                    Some(_) if twice => invalid.check(&party_field(i, "ser"), Err("is named the SER of another party too".into())),
                    Some(email) => {
                        let (token, token_hash) = crate::secrets::new_token();
                        tokens.push((email.clone(), token));
                        Some(Some(FirstSer { email, token_hash, expires_at: now + members::INVITATION_VALID }))
                    }
                    None => None,
                }
            }
        };
        if let (Some(organisation), Some(ser)) = (organisation, ser) {
            resolved.push(FoundingParty { organisation, ser });
        }
    }
    let resolved = (resolved.len() == parties.len()).then_some(resolved);
    let new = Founding::parse(input, resolved, invalid)?;
    let founded = state.store.found_relationship(new, Some(user.id), now).await?;
    let links = tokens
        .into_iter()
        .filter(|(email, _)| founded.invited.iter().any(|invited| invited == email.as_str()))
        .map(|(email, token)| InvitationLink {
            email: email.as_str().to_owned(),
            link: format!("{}/invitations/{token}", state.public_url),
        })
        .collect();
    Ok((founded, links))
}
