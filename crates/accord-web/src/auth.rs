//! Who is asking, and what they may see: resolved once per request, here and nowhere else.
//!
//! A request is authenticated by a personal API token (`Authorization: Bearer ...`) or by the
//! session cookie. Rejections answer in the request's language: JSON under `/api/`, and for pages
//! a redirect to the sign-in form (401) or an HTML error page.

use crate::AppState;
use crate::error::{ApiError, PageError};
use crate::secrets::token_hash;
use crate::session;
use accord_domain::id::parse_id;
use accord_domain::membership::{CurrentMember, check_party_write};
use accord_store::{Credential, Member, Relationship, StoreError, StoreResult, User, View, ViewRequest, Viewer, shown_views};
use axum::extract::{FromRequestParts, Path};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use std::collections::HashMap;

/// An extractor's refusal, answered as JSON or as a page depending on the path.
pub struct Rejected {
    error: ApiError,
    page: Option<String>,
}

impl Rejected {
    fn new(parts: &Parts, error: ApiError) -> Rejected {
        let path = parts.uri.path();
        let page = (!path.starts_with("/api/")).then(|| parts.uri.path_and_query().map_or(path, |p| p.as_str()).to_owned());
        Rejected { error, page }
    }
}

impl IntoResponse for Rejected {
    fn into_response(self) -> Response {
        match (self.page, self.error) {
            (Some(next), ApiError::Unauthorized) => Redirect::to(&format!("/login?next={}", urlencode(&next))).into_response(),
            (Some(_), error) => PageError(error).into_response(),
            (None, error) => error.into_response(),
        }
    }
}

pub fn urlencode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// How the request proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Token,
    Session,
}

/// The credential the request carries: a bearer token, or the session cookie.
fn credential(parts: &Parts, state: &AppState) -> Result<Option<(Credential, Via)>, ApiError> {
    match parts.headers.get(AUTHORIZATION) {
        Some(header) => {
            let token = header.to_str().ok().and_then(|h| h.strip_prefix("Bearer ")).ok_or(ApiError::Unauthorized)?;
            Ok(Some((Credential::Token(token_hash(token)), Via::Token)))
        }
        None => Ok(session::credential(state, &parts.headers).map(|credential| (credential, Via::Session))),
    }
}

/// Reads who is asking (and, for a relationship route, their standing there) in one round trip.
async fn authenticate(parts: &Parts, state: &AppState, relationship_id: Option<uuid::Uuid>) -> Result<Option<(Viewer, Via)>, ApiError> {
    let Some((credential, via)) = credential(parts, state)? else { return Ok(None) };
    let found = state.store.viewer(credential.clone(), relationship_id, state.now()).await;
    admit(parts, state, &credential, via, found).await
}

/// The live account a request is sent by (its token's or its session's, a session's API call
/// echoing the CSRF cookie), for what is kept per account (`idempotency`).
pub(crate) async fn account(parts: &Parts, state: &AppState) -> Option<uuid::Uuid> {
    authenticate(parts, state, None).await.ok().flatten().map(|(viewer, _)| viewer.user.id)
}

/// Admits the viewer the store found for `credential`: a token that names nobody is refused, a
/// session that does not is no session; a session is kept alive, and a browser's state-changing
/// API call must echo the CSRF cookie.
async fn admit(
    parts: &Parts, state: &AppState, credential: &Credential, via: Via, found: StoreResult<Viewer>,
) -> Result<Option<(Viewer, Via)>, ApiError> {
    let viewer = match found {
        Ok(viewer) => viewer,
        Err(StoreError::NotFound(_)) if via == Via::Token => return Err(ApiError::Unauthorized),
        Err(StoreError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if let Some(session) = &viewer.session {
        session::refresh(state, credential, session).await?;
        // A browser's state-changing API call must echo the CSRF cookie in a header; forms carry
        // it in a field instead (see `forms::CsrfForm`).
        if parts.uri.path().starts_with("/api/") && !parts.method.is_safe() {
            let sent = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
            if sent.is_none() || sent != session::cookie(&parts.headers, state.cookies.csrf_name()) {
                return Err(ApiError::Forbidden("A signed-in browser must send the CSRF token in the X-CSRF-Token header."));
            }
        }
    }
    Ok(Some((viewer, via)))
}

/// The signed-in user.
pub struct CurrentUser(pub User);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = Rejected;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<CurrentUser, Rejected> {
        match authenticate(parts, state, None).await {
            Ok(Some((viewer, _))) => Ok(CurrentUser(viewer.user)),
            Ok(None) => Err(Rejected::new(parts, ApiError::Unauthorized)),
            Err(e) => Err(Rejected::new(parts, e)),
        }
    }
}

/// The signed-in user, if any (sign-in page, invitations).
pub struct MaybeUser(pub Option<User>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = Rejected;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<MaybeUser, Rejected> {
        match authenticate(parts, state, None).await {
            Ok(found) => Ok(MaybeUser(found.map(|(viewer, _)| viewer.user))),
            Err(ApiError::Unauthorized) => Ok(MaybeUser(None)),
            Err(e) => Err(Rejected::new(parts, e)),
        }
    }
}

impl CurrentUser {
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.0.is_admin { Ok(()) } else { Err(ApiError::Forbidden("Only a site administrator may do this.")) }
    }
}

/// A user's standing in the relationship named by the route's `relationship_id`.
///
/// A user who is neither a member nor a site admin gets 404, never a hint that the relationship
/// exists. A site admin who is not a member sees the relationship's frame (parties, members) to
/// administer it, but none of its content: handlers ask [`Access::member`] for that.
pub struct Access {
    pub user: User,
    pub relationship: Relationship,
    pub member: Option<Member>,
}

/// The route's path parameters (`relationship_id` and the like); none when it has none.
async fn path_params(parts: &mut Parts, state: &AppState) -> HashMap<String, String> {
    Path::<HashMap<String, String>>::from_request_parts(parts, state).await.map(|Path(params)| params).unwrap_or_default()
}

impl Access {
    /// The standing `viewer` has in the relationship `id` names: a member's, or a site admin's.
    fn of(parts: &Parts, viewer: Option<(Viewer, Via)>, id: Option<uuid::Uuid>) -> Result<Access, Rejected> {
        let Some((viewer, _)) = viewer else { return Err(Rejected::new(parts, ApiError::Unauthorized)) };
        let refused = || Rejected::new(parts, ApiError::NotFound);
        if id.is_none() || !shown_views(&viewer) {
            return Err(refused());
        }
        let Viewer { user, relationship: Some(relationship), member, .. } = viewer else { return Err(refused()) };
        Ok(Access { user, relationship, member })
    }
}

impl FromRequestParts<AppState> for Access {
    type Rejection = Rejected;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Access, Rejected> {
        let id = path_params(parts, state).await.get("relationship_id").and_then(|p| parse_id(p));
        let viewer = authenticate(parts, state, Some(id.unwrap_or_default())).await.map_err(|e| Rejected::new(parts, e))?;
        Access::of(parts, viewer, id)
    }
}

/// A relationship page's caller, admitted as [`Access`] admits, and what the page shows, read
/// with the caller in one store call ([`accord_store::Store::viewer_with_view`]) instead of one
/// after the other.
pub struct Viewed<V> {
    pub access: Access,
    pub view: V,
}

/// A view a page reads with its caller: what it asks the store for, from the route and the
/// query string (taken out of the answer by `TryFrom<View>`).
pub trait PageView: TryFrom<View> {
    fn request(params: &HashMap<String, String>, uri: &axum::http::Uri) -> Result<ViewRequest, ApiError>;
}

/// The view `request` reads, alone: for a page that re-renders after a refused form.
pub async fn read_view<V: TryFrom<View>>(state: &AppState, access: &Access, request: ViewRequest) -> Result<V, ApiError> {
    access.member()?;
    state.store.view(access.id(), request).await?.try_into().map_err(|_| other_view())
}

fn other_view() -> ApiError {
    ApiError::Internal("the store answered with another view".into())
}

impl<V: PageView + Send> FromRequestParts<AppState> for Viewed<V> {
    type Rejection = Rejected;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Viewed<V>, Rejected> {
        let params = path_params(parts, state).await;
        let request = match V::request(&params, &parts.uri) {
            Ok(request) => request,
            // A request the page cannot read is refused only to someone who may see the page.
            Err(e) => {
                let access = Access::from_request_parts(parts, state).await?;
                return Err(Rejected::new(parts, access.member().err().unwrap_or(e)));
            }
        };
        let id = params.get("relationship_id").and_then(|p| parse_id(p));
        let Some((credential, via)) = credential(parts, state).map_err(|e| Rejected::new(parts, e))? else {
            return Err(Rejected::new(parts, ApiError::Unauthorized));
        };
        let (found, view) = match state.store.viewer_with_view(credential.clone(), id.unwrap_or_default(), state.now(), request).await {
            Ok((viewer, view)) => (Ok(viewer), view),
            Err(e) => (Err(e), Err(StoreError::NotFound("relationship"))),
        };
        let viewer = admit(parts, state, &credential, via, found).await.map_err(|e| Rejected::new(parts, e))?;
        let access = Access::of(parts, viewer, id)?;
        match view.map(V::try_from) {
            Ok(Ok(view)) => Ok(Viewed { access, view }),
            Ok(Err(_)) => Err(Rejected::new(parts, other_view())),
            Err(e) => Err(Rejected::new(parts, e.into())),
        }
    }
}

impl Access {
    /// Relationship content is for members only.
    pub fn member(&self) -> Result<&Member, ApiError> {
        self.member.as_ref().ok_or(ApiError::NotFound)
    }

    /// SERs and JMT members define and manage.
    pub fn manager(&self) -> Result<&Member, ApiError> {
        let member = self.member()?;
        if member.role.manages() { Ok(member) } else { Err(ApiError::Forbidden("Only an SER or a JMT member may do this.")) }
    }

    /// Everyone but observers records things.
    pub fn writer(&self) -> Result<&Member, ApiError> {
        let member = self.member()?;
        if member.role.writes() { Ok(member) } else { Err(ApiError::Forbidden("Observers read only.")) }
    }

    /// A party-scoped write for `party_id` (its holidays, its invitations): only that party's own
    /// SER and JMT members make it (`membership::check_party_write`).
    pub fn party_manager(&self, party_id: uuid::Uuid) -> Result<&Member, ApiError> {
        let me = self.member()?;
        let actor = CurrentMember { user_id: me.user_id, party_id: me.party_id, role: me.role };
        check_party_write(Some(&actor), party_id).map_err(|e| ApiError::Forbidden(e.message()))?;
        Ok(me)
    }

    /// May the caller manage the memberships of `party_id` (add, change a role, remove)? The
    /// party's own SER and JMT members may, and site admins, who administer every party's members.
    pub fn may_manage_party(&self, party_id: uuid::Uuid) -> Result<(), ApiError> {
        if self.user.is_admin {
            return Ok(());
        }
        self.party_manager(party_id).map(|_| ())
    }

    /// Only a party's SER (or a site admin) names the party's next SER.
    pub fn may_hand_over(&self, party_id: uuid::Uuid) -> Result<(), ApiError> {
        let is_party_ser = self.member.as_ref().is_some_and(|m| m.party_id == party_id && m.role == accord_domain::membership::Role::Ser);
        if self.user.is_admin || is_party_ser {
            Ok(())
        } else {
            Err(ApiError::Forbidden("Only the party's SER (or a site administrator) names a successor."))
        }
    }

    pub fn id(&self) -> uuid::Uuid {
        self.relationship.id
    }
}
