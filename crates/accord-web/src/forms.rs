//! Forms posted by pages: every one carries the CSRF token, and a cross-site post is refused.

use crate::AppState;
use crate::error::{ApiError, ApiResult, PageError};
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

/// Reads a posted form: refused if it comes from another site (nothing it sent is kept) or cannot
/// be read; `true` beside it when its CSRF token matches the cookie.
async fn read_form<T: DeserializeOwned>(request: Request, state: &AppState) -> Result<(T, bool), PageError> {
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
    let fields = serde::de::value::MapDeserializer::<_, serde::de::value::Error>::new(
        fields.into_iter().map(|(k, v)| (k, crate::fields::FormValue(v))),
    );
    let form = T::deserialize(fields).map_err(|e| ApiError::BadRequest(format!("The form could not be read: {e}")))?;
    // The cookie existed before this page was rendered; a missing or different token means
    // the form did not come from one of our pages (or the page is very old).
    Ok((form, !csrf.is_empty() && csrf == expected))
}

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &AppState) -> Result<CsrfForm<T>, PageError> {
        match read_form(request, state).await? {
            (form, true) => Ok(CsrfForm(form)),
            (_, false) => {
                Err(ApiError::Forbidden("This form has expired or did not come from this site. Reload the page and try again.").into())
            }
        }
    }
}

/// A form whose page is shown again when refused: like [`CsrfForm`], but a form from this site
/// whose token has expired (or whose cookie is gone) is read all the same, so that its page can
/// come back with what was typed and a fresh token, asking to send it again. [`Fresh::then`]
/// runs the change only for a form whose token matched.
pub struct SentForm<T>(pub T, pub Fresh);

/// Whether a [`SentForm`]'s token matched.
pub struct Fresh(bool);

impl Fresh {
    /// Whether the form's token matched (for a page that checks it before anything else).
    pub fn matched(&self) -> bool {
        self.0
    }

    /// Runs `change` for a form whose token matched; an expired one changes nothing.
    pub async fn then<T>(self, change: impl Future<Output = ApiResult<T>>) -> ApiResult<T> {
        if self.0 { change.await } else { Err(ApiError::Expired) }
    }
}

impl<T: DeserializeOwned> FromRequest<AppState> for SentForm<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &AppState) -> Result<SentForm<T>, PageError> {
        let (form, fresh) = read_form(request, state).await?;
        Ok(SentForm(form, Fresh(fresh)))
    }
}

/// How a form names its fields to people: the field as a refusal names it (an index taken out:
/// `levels[].limit`), the id of its input, and its label's words. In the id, `{i}` stands for the
/// index and `{s}` for the form's scope (the row or party it edits); in the words, `{n}` for the
/// index counted from 1.
pub type Labels = &'static [(&'static str, &'static str, &'static str)];

/// A refused field's message, for the page.
#[derive(Debug, Clone)]
pub struct FieldMessage {
    /// The field as the refusal named it.
    pub field: String,
    /// The id of its input (empty if the form has none: the summary then names it without a link).
    pub id: String,
    /// The label's words and the reason: "Level 5's time limit: must be between 1 and 10000".
    pub text: String,
}

/// A refused form's messages: each beside its field, all of them in a summary at the top.
#[derive(Debug, Default)]
pub struct FormErrors {
    pub fields: Vec<FieldMessage>,
    /// What is not about one field: a conflict, an expired form.
    pub general: Option<String>,
}

/// What an expired form's page says above what was typed.
pub const EXPIRED: &str = "This form had expired (the page was open a long time, or you signed in again meanwhile), so nothing was saved. What you typed is below: check it and send it again.";

impl FormErrors {
    pub fn new(error: &ApiError, labels: Labels) -> FormErrors {
        FormErrors::scoped(error, labels, "")
    }

    /// For a form of several on a page, each editing one thing (`scope`, in its inputs' ids).
    pub fn scoped(error: &ApiError, labels: Labels, scope: &str) -> FormErrors {
        let mut errors = FormErrors::default();
        match error {
            ApiError::Invalid(invalid) => {
                for e in &invalid.0 {
                    errors.add(labels, scope, &e.field, &e.message);
                }
            }
            ApiError::Expired => errors.general = Some(EXPIRED.to_owned()),
            other => errors.general = Some(other.body().message),
        }
        errors
    }

    /// One field's message, as a form's own check words it.
    pub fn one(labels: Labels, field: &str, message: &str) -> FormErrors {
        let mut errors = FormErrors::default();
        errors.add(labels, "", field, message);
        errors
    }

    /// A message about the whole form.
    pub fn general(message: impl Into<String>) -> FormErrors {
        FormErrors { fields: Vec::new(), general: Some(message.into()) }
    }

    fn add(&mut self, labels: Labels, scope: &str, field: &str, message: &str) {
        // `levels[4].limit` is `levels[].limit` at index 4.
        let (key, index) = match (field.find('['), field.find(']')) {
            (Some(open), Some(close)) if open < close => {
                (format!("{}[]{}", &field[..open], &field[close + 1..]), field[open + 1..close].parse::<usize>().ok())
            }
            _ => (field.to_owned(), None),
        };
        let i = index.unwrap_or(0);
        let (id, words) = match labels.iter().find(|(k, _, _)| *k == key) {
            Some((_, id, words)) => (id.replace("{i}", &i.to_string()).replace("{s}", scope), words.replace("{n}", &(i + 1).to_string())),
            None => (String::new(), field.replace('_', " ")),
        };
        match self.fields.iter_mut().find(|m| m.field == field) {
            // Several messages for one field (two bad roles of a level) read as one.
            Some(existing) => {
                existing.text.push_str("; ");
                existing.text.push_str(message);
            }
            None => self.fields.push(FieldMessage { field: field.to_owned(), id, text: format!("{words}: {message}") }),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_none()
    }

    /// The message for `field` (as the refusal names it: `levels[4].limit`).
    pub fn get(&self, field: impl AsRef<str>) -> Option<&FieldMessage> {
        self.fields.iter().find(|m| m.field == field.as_ref())
    }

    /// How a refusal names a row's field: `levels[4].limit`.
    pub fn key(&self, list: &str, index: impl std::fmt::Display, field: &str) -> String {
        format!("{list}[{index}].{field}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_each_field_in_its_labels_words_and_each_row_as_the_page_counts() {
        const LABELS: Labels =
            &[("title", "i-title", "What is the issue"), ("levels[].limit", "level-{i}-amount", "Level {n}'s time limit")];
        let mut invalid = accord_domain::Invalid::default();
        invalid.check::<()>("levels[4].limit", Err("must be between 1 and 10000".into()));
        invalid.check::<()>("title", Err("must not be empty".into()));
        invalid.check::<()>("levels[4].limit", Err("too long".into()));
        invalid.check::<()>("source_id", Err("is not a KPI".into()));
        let errors = FormErrors::new(&ApiError::Invalid(invalid), LABELS);
        let limit = errors.get(errors.key("levels", 4, "limit")).unwrap();
        assert_eq!(
            (limit.id.as_str(), limit.text.as_str()),
            ("level-4-amount", "Level 5's time limit: must be between 1 and 10000; too long")
        );
        assert_eq!(errors.get("title").unwrap().text, "What is the issue: must not be empty");
        let unknown = errors.get("source_id").unwrap();
        assert_eq!((unknown.id.as_str(), unknown.text.as_str()), ("", "source id: is not a KPI"), "no link, but still said");
        assert_eq!(errors.fields.len(), 3, "one message a field, in the order refused");
        assert!(errors.general.is_none() && errors.get("levels[3].limit").is_none());

        let scoped = FormErrors::scoped(&ApiError::invalid("date", "bad"), &[("date", "h-{s}-date", "Date")], "p1");
        assert_eq!(scoped.get("date").unwrap().id, "h-p1-date");
        let conflict = FormErrors::new(&ApiError::Conflict("changed".into()), LABELS);
        assert_eq!((conflict.general.as_deref(), conflict.fields.len()), (Some("changed"), 0));
        assert_eq!(FormErrors::new(&ApiError::Expired, LABELS).general.as_deref(), Some(EXPIRED));
    }

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
