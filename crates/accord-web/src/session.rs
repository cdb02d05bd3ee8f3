//! Cookies: the session (stored hashed in the database, shared by every server) and the CSRF
//! token (double-submit: a cookie the page echoes in each form).

use crate::AppState;
use crate::secrets::{random_hex, token_hash};
use accord_store::{Session, StoreResult};
use axum::extract::Request;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};

/// A session ends after this long without a request...
pub const IDLE: SignedDuration = SignedDuration::from_hours(8);
/// ...and after this long in any case.
pub const ABSOLUTE: SignedDuration = SignedDuration::from_hours(24 * 7);
/// The idle expiry is pushed forward at most this often, so pages do not write on every request.
pub const REFRESH: SignedDuration = SignedDuration::from_secs(60);

/// How cookies are named and flagged: `__Host-` and `Secure` when the site is served over https.
#[derive(Debug, Clone)]
pub struct Cookies {
    pub secure: bool,
}

impl Cookies {
    pub fn session_name(&self) -> &'static str {
        if self.secure { "__Host-accord_session" } else { "accord_session" }
    }

    pub fn csrf_name(&self) -> &'static str {
        if self.secure { "__Host-accord_csrf" } else { "accord_csrf" }
    }

    fn attributes(&self, same_site: &str) -> String {
        format!("Path=/; HttpOnly; SameSite={same_site}{}", if self.secure { "; Secure" } else { "" })
    }

    pub fn set_session(&self, id: &str) -> HeaderValue {
        header(format!("{}={id}; {}; Max-Age={}", self.session_name(), self.attributes("Lax"), ABSOLUTE.as_secs()))
    }

    pub fn clear_session(&self) -> HeaderValue {
        header(format!("{}=; {}; Max-Age=0", self.session_name(), self.attributes("Lax")))
    }

    fn set_csrf(&self, token: &str) -> HeaderValue {
        header(format!("{}={token}; {}", self.csrf_name(), self.attributes("Strict")))
    }
}

fn header(value: String) -> HeaderValue {
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The value of cookie `name`, if the request carries it.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// What a page's frame takes from the request: the CSRF token, to put in every form it renders,
/// and the notice of a save its address names (`?saved=`, see `layout::saved`).
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String, pub Option<crate::layout::Saved>);

/// Gives every request a CSRF token (from its cookie, or a new one set on the response).
pub async fn csrf_cookie(axum::extract::State(state): axum::extract::State<AppState>, mut request: Request, next: Next) -> Response {
    let existing = cookie(request.headers(), state.cookies.csrf_name()).map(str::to_owned);
    let token = existing.clone().unwrap_or_else(random_hex::<16>);
    let saved = crate::layout::Saved::from_query(request.uri().query());
    request.extensions_mut().insert(CsrfToken(token.clone(), saved));
    let mut response = next.run(request).await;
    // An error sets no cookie: a session started before a later step failed must not be handed
    // out with the failure, and an error page has no form that needs the CSRF cookie.
    if response.status().is_client_error() || response.status().is_server_error() {
        response.headers_mut().remove(SET_COOKIE);
        // But an expired form shown again to be sent again needs the token it carries.
        let send_again = response.extensions().get::<crate::layout::SendAgain>().is_some();
        if send_again && existing.is_none() {
            response.headers_mut().append(SET_COOKIE, state.cookies.set_csrf(&token));
        }
        return response;
    }
    if existing.is_none() {
        response.headers_mut().append(SET_COOKIE, state.cookies.set_csrf(&token));
    }
    response
}

/// Starts a session for `user_id`; returns the id for the cookie (the database keeps its hash).
pub async fn start(state: &AppState, user_id: uuid::Uuid) -> StoreResult<String> {
    let id = random_hex::<32>();
    let now = state.now();
    state.store.create_session(&token_hash(&id), user_id, now, now + IDLE, now + ABSOLUTE).await?;
    Ok(id)
}

/// The credential the request's session cookie names, if it has one.
pub fn credential(state: &AppState, headers: &HeaderMap) -> Option<accord_store::Credential> {
    cookie(headers, state.cookies.session_name()).map(|id| accord_store::Credential::Session(token_hash(id)))
}

/// Pushes a session's idle expiry forward, at most once a minute so pages do not write on every request.
pub async fn refresh(state: &AppState, credential: &accord_store::Credential, session: &Session) -> StoreResult<()> {
    let now: Timestamp = state.now();
    match credential {
        accord_store::Credential::Session(hash) if session.idle_expires_at < now + IDLE - REFRESH => {
            state.store.touch_session(hash, now + IDLE).await
        }
        _ => Ok(()),
    }
}

pub async fn end(state: &AppState, headers: &HeaderMap) -> StoreResult<()> {
    match cookie(headers, state.cookies.session_name()) {
        Some(id) => state.store.end_session(&token_hash(id)).await,
        None => Ok(()),
    }
}
