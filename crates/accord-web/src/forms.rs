//! Forms posted by pages: every one carries the CSRF token, and a cross-site post is refused.

use crate::AppState;
use crate::error::{ApiError, PageError};
use crate::session::CsrfToken;
use axum::extract::{FromRequest, Request};
use axum::http::HeaderMap;
use axum::http::header::{HOST, ORIGIN};
use serde::de::DeserializeOwned;

/// An urlencoded form whose `csrf` field matches the CSRF cookie, from this site's own pages.
pub struct CsrfForm<T>(pub T);

/// A form with nothing but its CSRF token: a button.
#[derive(serde::Deserialize)]
pub struct Empty {}

/// A button for a change that is hard to take back: the first post shows what will happen, and
/// only the post from that page's Confirm button (`confirm` set) makes the change.
#[derive(serde::Deserialize)]
pub struct Confirm {
    #[serde(default)]
    confirm: String,
    /// Why, when the confirmation page asks (a retraction's reason).
    #[serde(default)]
    reason: String,
}

impl Confirm {
    pub fn confirmed(&self) -> bool {
        !self.confirm.is_empty()
    }

    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// Browsers say where a request comes from; a form posted from another site is refused.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && site != "same-origin"
        && site != "none"
    {
        return false;
    }
    match (headers.get(ORIGIN).and_then(|v| v.to_str().ok()), headers.get(HOST).and_then(|v| v.to_str().ok())) {
        (Some(origin), Some(host)) => origin.split_once("://").is_some_and(|(_, rest)| rest == host),
        _ => true,
    }
}

/// The CSRF and origin checks, for a form read some other way (a file upload).
pub fn check_form_origin(headers: &HeaderMap, expected: &CsrfToken, sent: &str) -> Result<(), PageError> {
    if !same_origin(headers) {
        return Err(ApiError::Forbidden("This form was sent from another site.").into());
    }
    if sent.is_empty() || sent != expected.0 {
        return Err(ApiError::Forbidden("This form has expired or did not come from this site. Reload the page and try again.").into());
    }
    Ok(())
}

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &AppState) -> Result<CsrfForm<T>, PageError> {
        if !same_origin(request.headers()) {
            return Err(ApiError::Forbidden("This form was sent from another site.").into());
        }
        let expected = request.extensions().get::<CsrfToken>().map(|t| t.0.clone()).unwrap_or_default();
        let axum::Form(pairs) = axum::Form::<Vec<(String, String)>>::from_request(request, state)
            .await
            .map_err(|e| ApiError::BadRequest(format!("The form could not be read: {}", e.body_text())))?;
        // Fields named more than once (check boxes) arrive joined by commas.
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut csrf = String::new();
        for (key, value) in pairs {
            if key == "csrf" {
                csrf = value;
                continue;
            }
            match fields.iter_mut().find(|(k, _)| *k == key) {
                Some((_, existing)) => {
                    existing.push(',');
                    existing.push_str(&value);
                }
                None => fields.push((key, value)),
            }
        }
        // The cookie existed before this page was rendered; a missing or different token means
        // the form did not come from one of our pages (or the page is very old).
        if csrf.is_empty() || csrf != expected {
            return Err(ApiError::Forbidden("This form has expired or did not come from this site. Reload the page and try again.").into());
        }
        let fields = serde::de::value::MapDeserializer::<_, serde::de::value::Error>::new(
            fields.into_iter().map(|(k, v)| (k, crate::fields::FormValue(v))),
        );
        let form = T::deserialize(fields).map_err(|e| ApiError::BadRequest(format!("The form could not be read: {e}")))?;
        Ok(CsrfForm(form))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_site_posts_are_refused() {
        let mut h = HeaderMap::new();
        h.insert(HOST, "accord.example:8080".parse().unwrap());
        assert!(same_origin(&h));
        h.insert(ORIGIN, "http://accord.example:8080".parse().unwrap());
        assert!(same_origin(&h));
        h.insert(ORIGIN, "https://evil.example".parse().unwrap());
        assert!(!same_origin(&h));
        h.remove(ORIGIN);
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(!same_origin(&h));
    }
}
