//! Requests made once. A POST may carry a key: the API's `Idempotency-Key` header, or a create
//! form's single-use submission key (the hidden field `parts::csrf_once` writes, new at each
//! rendering). The first request with a key takes it for its account in the database before its
//! work and keeps its answer after; a repeat on any server (a retry after a timeout, Back and
//! submit again, a double click) does no work and is given that answer again: the API's status
//! and body, a form's redirect to what it made with its saved notice. A refused request (4xx,
//! 5xx) frees its key, so the same form, fixed, may be sent again. Keys are kept [`KEPT`].
//!
//! One layer for every route, so no handler does anything for it. A repeat that arrives while
//! the first request is still under way waits for its answer (up to [`WAIT`]), then is answered
//! 409 "still under way".

use crate::AppState;
use crate::error::{ApiError, PageError};
use crate::layout::Saved;
use crate::session::CsrfToken;
use accord_domain::Invalid;
use accord_store::KeptAnswer;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jiff::SignedDuration;
use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio::time::Instant;

/// The API's header.
pub const HEADER: &str = "Idempotency-Key";
/// A form's hidden field.
pub const FIELD: &str = "submission";
/// How long a key and its answer are kept.
pub const KEPT: SignedDuration = SignedDuration::from_hours(24);
/// How long a repeat waits for the answer of the request that took its key.
pub const WAIT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(50);
/// The largest body read to find or fingerprint a key: an import's form, which carries a whole
/// spreadsheet (a route that takes less refuses more, as without a key).
const BODY_BYTES: usize = accord_sheets::MAX_BYTES * 2;
/// The largest answer kept for repeats; a larger one frees its key (what a create answers is far
/// smaller: the thing it made).
const ANSWER_BYTES: usize = 1 << 20;

/// A key as sent: 1 to 255 visible ASCII characters.
pub fn parse_key(sent: &[u8]) -> Result<String, &'static str> {
    if sent.is_empty() || sent.len() > 255 || !sent.iter().all(u8::is_ascii_graphic) {
        return Err("must be 1 to 255 visible ASCII characters (letters, digits, punctuation; no spaces)");
    }
    Ok(String::from_utf8_lossy(sent).into_owned())
}

/// A request sent with a key, by an account.
struct Keyed {
    user_id: uuid::Uuid,
    key: String,
    /// SHA-256 of what identifies the request: the same key with another one is refused.
    fingerprint: String,
    /// Where a form's repeat is sent when the first answer was a page rather than a redirect
    /// (one showing a secret once, which is never kept): back to the form, saying it was sent.
    /// None for the API.
    form_back: Option<String>,
}

impl Keyed {
    fn refuse(&self, error: ApiError) -> Response {
        refuse(self.form_back.is_none(), error)
    }
}

fn refuse(api: bool, error: ApiError) -> Response {
    if api { error.into_response() } else { PageError(error).into_response() }
}

fn fingerprint(parts: &[&[u8]]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        // Each part's length first, so that no two lists of parts hash alike.
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    accord_domain::audit::hex(&hash.finalize())
}

/// The layer: a POST with a key is made once; anything else passes.
pub async fn once(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let keyed =
        if parts.uri.path().starts_with("/api/") { api_key(&state, &parts, body).await } else { form_key(&state, &parts, body).await };
    match keyed {
        Ok((Some(keyed), body)) => made_once(state, keyed, Request::from_parts(parts, body), next).await,
        Ok((None, body)) => next.run(Request::from_parts(parts, body)).await,
        Err(refused) => refused,
    }
}

/// The API's key, from its header, with the fingerprint of the method, address and body.
async fn api_key(state: &AppState, parts: &Parts, body: Body) -> Result<(Option<Keyed>, Body), Response> {
    let Some(sent) = parts.headers.get(HEADER) else { return Ok((None, body)) };
    let key = parse_key(sent.as_bytes()).map_err(|m| ApiError::Invalid(Invalid::one(HEADER, m)).into_response())?;
    // Keys are per account: a request no live account sent is its handler's to refuse.
    let Some(user_id) = crate::auth::account(parts, state).await else { return Ok((None, body)) };
    let bytes = read(body).await.map_err(|e| e.into_response())?;
    let uri = parts.uri.path_and_query().map_or("", |p| p.as_str());
    let fingerprint = fingerprint(&[parts.method.as_str().as_bytes(), uri.as_bytes(), &bytes]);
    Ok((Some(Keyed { user_id, key, fingerprint, form_back: None }), Body::from(bytes)))
}

/// A form's key, from its field, when the form passes the CSRF check (one that does not is its
/// handler's to refuse); its fingerprint is the address it is sent to. Sending the form again
/// after changing a field shows what the first sending made: the key names the form as rendered.
async fn form_key(state: &AppState, parts: &Parts, body: Body) -> Result<(Option<Keyed>, Body), Response> {
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    // Keys are per account: only a signed-in browser's form is read here.
    if !is_form || crate::session::cookie(&parts.headers, state.cookies.session_name()).is_none() {
        return Ok((None, body));
    }
    let bytes = read(body).await.map_err(|e| PageError(e).into_response())?;
    let (mut sent, mut csrf) = (None, None);
    for (name, value) in form_urlencoded::parse(&bytes) {
        match &*name {
            FIELD => sent = Some(value.into_owned()),
            "csrf" => csrf = Some(value.into_owned()),
            _ => {}
        }
    }
    let expected = parts.extensions.get::<CsrfToken>().map(|t| t.0.as_str());
    let (Some(sent), true) = (sent, csrf.is_some() && csrf.as_deref() == expected && crate::forms::same_origin(&parts.headers)) else {
        return Ok((None, Body::from(bytes)));
    };
    let key = parse_key(sent.as_bytes()).map_err(|m| PageError(ApiError::invalid(FIELD, m)).into_response())?;
    let Some(user_id) = crate::auth::account(parts, state).await else { return Ok((None, Body::from(bytes))) };
    let fingerprint = fingerprint(&[b"form", parts.uri.path().as_bytes()]);
    let back = format!("{}?saved={}", sent_from(&parts.headers), Saved::Resent.code());
    Ok((Some(Keyed { user_id, key, fingerprint, form_back: Some(back) }), Body::from(bytes)))
}

async fn read(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, BODY_BYTES).await.map_err(|_| ApiError::PayloadTooLarge)
}

/// The page a form was sent from, as a path on this site (the Referer, which browsers send to
/// their own origin), without its query; home when there is none.
fn sent_from(headers: &HeaderMap) -> String {
    let referer = headers.get(header::REFERER).and_then(|v| v.to_str().ok()).unwrap_or("/");
    let path = referer.split_once("://").map_or(referer, |(_, rest)| rest.find('/').map_or("/", |at| &rest[at..]));
    crate::layout::local_path(path.split(['?', '#']).next().unwrap_or("/")).to_owned()
}

/// Takes the key and does the work, or gives the answer of the request that took it (waiting
/// for it while that request is under way).
async fn made_once(state: AppState, keyed: Keyed, request: Request, next: Next) -> Response {
    let deadline = Instant::now() + WAIT;
    let now = state.now();
    let mut held = match state.store.take_key(keyed.user_id, &keyed.key, &keyed.fingerprint, now, now - KEPT).await {
        Ok(held) => held,
        Err(e) => return keyed.refuse(e.into()),
    };
    loop {
        let Some(used) = held else { return first(state, keyed, request, next).await };
        if used.fingerprint != keyed.fingerprint {
            let why = match keyed.form_back {
                None => (HEADER, "was sent before with another request (another body or address); send a new key with a new request"),
                Some(_) => (FIELD, "belongs to another form; reload the page and send it again"),
            };
            return keyed.refuse(ApiError::Invalid(Invalid::one(why.0, why.1)));
        }
        if let Some(answer) = used.answer {
            return replay(answer);
        }
        if Instant::now() >= deadline {
            let why = match keyed.form_back {
                None => "A request with this Idempotency-Key is still under way; send it again in a moment for its answer.",
                Some(_) => "This form was sent a moment ago and is still being saved; reload the page in a moment.",
            };
            return keyed.refuse(ApiError::Conflict(why.to_owned()));
        }
        tokio::time::sleep(POLL).await;
        // Freed meanwhile (the first was refused): this one takes it and is answered itself.
        held = match state.store.key_use(keyed.user_id, &keyed.key).await {
            Ok(Some(used)) => Some(used),
            Ok(None) => match state.store.take_key(keyed.user_id, &keyed.key, &keyed.fingerprint, state.now(), state.now() - KEPT).await {
                Ok(held) => held,
                Err(e) => return keyed.refuse(e.into()),
            },
            Err(e) => return keyed.refuse(e.into()),
        };
    }
}

/// The first request with its key: the work, and keeping its answer, in a task of their own, so
/// that a browser giving up on it (a double click sends the form again and drops the first) does
/// not leave the work half done and its key held with no answer.
async fn first(state: AppState, keyed: Keyed, request: Request, next: Next) -> Response {
    let (api, user_id, key) = (keyed.form_back.is_none(), keyed.user_id, keyed.key.clone());
    let work = tokio::spawn({
        let state = state.clone();
        async move {
            let response = next.run(request).await;
            keep(&state, &keyed, response).await
        }
    });
    match work.await {
        Ok(response) => response,
        // The work panicked: nothing was answered, so the key is freed.
        Err(e) => {
            if let Err(e) = state.store.release_key(user_id, &key).await {
                tracing::warn!(error = %e, "could not free a request's key; repeats will be told it is under way");
            }
            refuse(api, ApiError::Internal(format!("a request with a key failed: {e}")))
        }
    }
}

/// Keeps the answer for repeats, or frees the key of a refused request.
async fn keep(state: &AppState, keyed: &Keyed, response: Response) -> Response {
    let status = response.status();
    let release = || async {
        if let Err(e) = state.store.release_key(keyed.user_id, &keyed.key).await {
            tracing::warn!(error = %e, "could not free a request's key; repeats will be told it is under way");
        }
    };
    if status.is_client_error() || status.is_server_error() {
        release().await;
        return response;
    }
    let location = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (answer, response) = match &keyed.form_back {
        Some(_) if status.is_redirection() => (KeptAnswer { status: status.as_u16(), location, ..KeptAnswer::default() }, response),
        // A page (a new token or link, shown once): never kept; a repeat goes back to the form.
        Some(back) => {
            (KeptAnswer { status: StatusCode::SEE_OTHER.as_u16(), location: Some(back.clone()), ..KeptAnswer::default() }, response)
        }
        None => {
            let (parts, body) = response.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
                release().await;
                return refuse(true, ApiError::Internal("an answer could not be read".into()));
            };
            let response = Response::from_parts(parts, Body::from(bytes.clone()));
            if bytes.len() > ANSWER_BYTES {
                release().await;
                return response;
            }
            let content_type = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
            (KeptAnswer { status: status.as_u16(), location, content_type, body: bytes.to_vec() }, response)
        }
    };
    if let Err(e) = state.store.keep_answer(keyed.user_id, &keyed.key, &answer).await {
        tracing::warn!(error = %e, "could not keep a request's answer; repeats will be told it is under way");
    }
    response
}

/// The kept answer, as first given, marked as a repeat's.
fn replay(answer: KeptAnswer) -> Response {
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let headers = response.headers_mut();
    for (name, value) in [(header::LOCATION, answer.location), (header::CONTENT_TYPE, answer.content_type)] {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, value);
        }
    }
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_1_to_255_visible_ascii_characters() {
        for good in ["a", "0190f3a2-0000-7000-8000-000000000000", "~!x", &"k".repeat(255)] {
            assert_eq!(parse_key(good.as_bytes()).as_deref(), Ok(good));
        }
        for bad in ["", " ", "a b", "tab\t", "caf\u{e9}", &"k".repeat(256), "line\n"] {
            assert!(parse_key(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }

    /// Every form posting to an address that makes something carries a submission key: a new
    /// form that creates cannot forget it.
    #[test]
    fn every_form_that_creates_carries_a_key() {
        const CREATES: &[&str] = &[
            "issues",
            "actions",
            "objectives",
            "kpis",
            "measurements",
            "obligations",
            "invitations",
            "comments",
            "proposals",
            "responses",
            "escalations",
            "withdrawals",
            "reviews",
            "versions",
            "ladder",
            "holidays",
            "organisations",
            "users",
            "tokens",
            "relationships",
            "apply",
        ];
        let mut folders = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates")];
        let mut checked = 0;
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).unwrap().map(Result::unwrap) {
                let path = entry.path();
                if path.is_dir() {
                    folders.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for form in text.split("<form").skip(1).map(|f| &f[..f.find("</form>").unwrap_or(f.len())]) {
                    let action = form.split("action=\"").nth(1).and_then(|a| a.split(['"', '?']).next()).unwrap_or("");
                    if form.contains("method=\"post\"") && CREATES.contains(&action.rsplit('/').next().unwrap_or("")) {
                        assert!(
                            form.contains("parts::csrf_once()"),
                            "{}: the form posting to {action} has no submission key",
                            path.display()
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked >= 20, "only {checked} forms that create were found");
    }

    #[test]
    fn fingerprints_tell_requests_apart() {
        assert_eq!(fingerprint(&[b"POST", b"/a", b"{}"]), fingerprint(&[b"POST", b"/a", b"{}"]));
        assert_ne!(fingerprint(&[b"POST", b"/a", b"{}"]), fingerprint(&[b"POST", b"/a", b"{ }"]));
        assert_ne!(fingerprint(&[b"POST", b"/ab", b"c"]), fingerprint(&[b"POST", b"/a", b"bc"]));
    }

    #[test]
    fn a_form_sent_again_goes_back_to_its_page_on_this_site() {
        let from = |referer: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::REFERER, referer.parse().unwrap());
            sent_from(&headers)
        };
        assert_eq!(from("http://127.0.0.1:8080/account?saved=revoked#tokens"), "/account");
        assert_eq!(from("https://accord.example/relationships/x/members"), "/relationships/x/members");
        assert_eq!(from("https://accord.example"), "/");
        assert_eq!(from("https://accord.example//evil.example/"), "/");
        assert_eq!(sent_from(&HeaderMap::new()), "/");
    }
}
