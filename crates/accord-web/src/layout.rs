//! The layout every page shares: the shell (who is signed in, the CSRF token, where we are), the
//! relationship's menu built from one list, rendering, and the stylesheet.

use crate::AppState;
use crate::error::{ApiError, ErrorPageText, PageError};
use crate::session::CsrfToken;
use accord_store::{Relationship, User};
use askama::Template;
use axum::extract::{Request, State};
use axum::http::{StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

const STYLESHEET: &str = include_str!("../static/style.css");

/// A fingerprint of the stylesheet for its URL, so browsers may cache it for long and still see
/// a new one at once.
pub fn style_version() -> &'static str {
    static VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| crate::secrets::token_hash(STYLESHEET)[..12].to_owned());
    &VERSION
}

pub async fn stylesheet() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css"), (header::CACHE_CONTROL, "public, max-age=31536000, immutable")], STYLESHEET)
}

pub struct ShellUser {
    pub name: String,
    pub is_admin: bool,
}

pub struct ShellRelationship {
    pub id: uuid::Uuid,
    pub name: String,
    /// A site administrator who is not a member opens only the relationship's frame (its
    /// overview and members), so the menu offers only those.
    pub member: bool,
}

/// A link of the relationship's menu.
pub struct MenuItem {
    pub label: &'static str,
    /// What follows `/relationships/{id}` in its address.
    pub path: &'static str,
    /// The `Shell::section` of its pages, which marks the link as the current one.
    pub section: &'static str,
    /// Open to a site administrator who is not a member (the frame, not the content).
    pub frame: bool,
}

impl MenuItem {
    /// Whether the link is offered in `relationship`'s menu: only pages the viewer may open.
    pub fn shown(&self, relationship: &ShellRelationship) -> bool {
        relationship.member || self.frame
    }
}

/// The relationship's menu, in order: a new module's pages add their line here.
pub const RELATIONSHIP_MENU: &[MenuItem] = &[
    MenuItem { label: "Overview", path: "", section: "overview", frame: true },
    MenuItem { label: "Scorecard", path: "/scorecard", section: "scorecard", frame: false },
    MenuItem { label: "Objectives", path: "/objectives", section: "objectives", frame: false },
    MenuItem { label: "Obligations", path: "/obligations", section: "obligations", frame: false },
    MenuItem { label: "Actions", path: "/actions", section: "actions", frame: false },
    MenuItem { label: "Issues", path: "/issues", section: "issues", frame: false },
    MenuItem { label: "Reviews", path: "/reviews", section: "reviews", frame: false },
    MenuItem { label: "Records", path: "/records", section: "records", frame: false },
    MenuItem { label: "Members", path: "/members", section: "members", frame: true },
    MenuItem { label: "Audit trail", path: "/audit", section: "audit", frame: false },
];

/// What the layout needs: who is signed in, the CSRF token for its forms, where we are.
pub struct Shell {
    pub user: Option<ShellUser>,
    pub csrf: String,
    pub relationship: Option<ShellRelationship>,
    pub section: &'static str,
    /// What the last form's save did, from the address it redirected to (`?saved=`).
    pub notice: Option<Saved>,
}

impl Shell {
    pub fn plain() -> Shell {
        Shell { user: None, csrf: String::new(), relationship: None, section: "", notice: None }
    }

    pub fn new(user: Option<&User>, csrf: &CsrfToken, section: &'static str) -> Shell {
        Shell {
            user: user.map(|u| ShellUser { name: u.name.clone(), is_admin: u.is_admin }),
            csrf: csrf.0.clone(),
            relationship: None,
            section,
            notice: csrf.1,
        }
    }

    /// A new single-use submission key for a form that creates (`parts::csrf_once`): each
    /// rendering of the form gets its own, and sending it again is answered as the first
    /// sending was (`idempotency`).
    pub fn submission_key(&self) -> String {
        crate::secrets::random_hex::<16>()
    }

    /// Within a relationship whose content the viewer may open (every page past its frame
    /// requires membership).
    pub fn within(mut self, relationship: &Relationship) -> Shell {
        self.relationship = Some(ShellRelationship { id: relationship.id, name: relationship.name.clone(), member: true });
        self
    }

    /// Within a relationship's frame, which a site administrator opens without being a member.
    pub fn within_frame(self, relationship: &Relationship, member: bool) -> Shell {
        let mut shell = self.within(relationship);
        if let Some(r) = shell.relationship.as_mut() {
            r.member = member;
        }
        shell
    }
}

/// Declares the save notices once: each a variant, its code in the address, its words.
macro_rules! saved_notices {
    ($($variant:ident $code:literal => $message:literal;)*) => {
        /// What a save did, said on the page it lands on. The redirect carries a code (`?saved=`),
        /// never the words: nothing a link could put there is echoed.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Saved { $($variant),* }

        impl Saved {
            const ALL: &[Saved] = &[$(Saved::$variant),*];

            pub fn code(self) -> &'static str {
                match self { $(Saved::$variant => $code),* }
            }

            pub fn message(self) -> &'static str {
                match self { $(Saved::$variant => $message),* }
            }
        }
    };
}

saved_notices! {
    Measurement "measurement" => "Saved: the measurement is recorded.";
    Retracted "retracted" => "Done: the value was retracted. It stays in the history, marked so; its period shows as missing until a value is recorded again.";
    Issue "issue" => "Saved: the issue is recorded.";
    Action "action" => "Saved: the action.";
    Series "series" => "Saved: the review series.";
    Meeting "meeting" => "Saved: the meeting.";
    Ladder "ladder" => "Saved: the escalation ladder.";
    Holidays "holidays" => "Saved: your party's holidays.";
    Role "role" => "Saved: the member's new role.";
    Removed "removed" => "Done: the member was removed from the relationship.";
    Left "left" => "Done: you left the relationship; it is no longer shared with you.";
    Succession "succession" => "Done: the SER role was handed over.";
    Withdrawn "withdrawn" => "Done: the invitation was withdrawn.";
    Organisation "organisation" => "Saved: the organisation was created.";
    Disabled "disabled" => "Done: the account was disabled and signed out everywhere.";
    Enabled "enabled" => "Done: the account was enabled.";
    Marked "marked" => "Done: every notification is marked as read.";
    Revoked "revoked" => "Done: the token was revoked; programs using it are refused from now on.";
    Kpi "kpi" => "Saved: the KPI.";
    Thresholds "thresholds" => "Saved: the KPI's new target and thresholds.";
    Objective "objective" => "Saved: the objective.";
    Review "review" => "Saved: the objective's review.";
    Obligation "obligation" => "Saved: the obligation.";
    Comment "comment" => "Saved: your comment.";
    Proposal "proposal" => "Saved: the proposed resolution.";
    Response "response" => "Saved: your response.";
    Escalated "escalated" => "Done: the issue was escalated.";
    IssueWithdrawn "issue-withdrawn" => "Done: the issue was withdrawn.";
    Joined "joined" => "Welcome: you are now a member of this relationship.";
    Resent "resent" => "Already done: this form was sent before, and nothing was made twice.";
    SetUp "set-up" => "Welcome: you are the site administrator. Next, create the first relationship.";
    Founded "founded" => "Saved: the relationship was created with its parties and their SERs.";
    Signed "signed" => "Signed: your party's signature is recorded with the record's hash.";
    Sealed "sealed" => "Signed and sealed: every party has signed, and the record no longer changes.";
    Addendum "addendum" => "Saved: the addendum, now waiting on every party's signature.";
}

impl Saved {
    /// The notice a request's query asks for, if it names one we know.
    pub fn from_query(query: Option<&str>) -> Option<Saved> {
        let code = query?.split('&').find_map(|pair| pair.strip_prefix("saved="))?;
        Saved::ALL.iter().copied().find(|s| s.code() == code)
    }
}

/// A see-other redirect to `path` (which may hold a query and a `#fragment`) whose page says
/// what was saved.
pub fn saved(path: &str, what: Saved) -> Response {
    let (path, fragment) = path.split_once('#').map_or((path, ""), |(p, f)| (p, f));
    let join = if path.contains('?') { '&' } else { '?' };
    let hash = if fragment.is_empty() { "" } else { "#" };
    axum::response::Redirect::to(&format!("{path}{join}saved={}{hash}{fragment}", what.code())).into_response()
}

/// A confirmation step for a change that is hard to take back: what will happen, in plain words,
/// and a button that posts the same form again with `confirm` (see `forms::Confirm`).
#[derive(Template)]
#[template(path = "layout/confirm.html")]
pub struct ConfirmPage {
    pub shell: Shell,
    pub title: String,
    /// What will happen, a sentence each.
    pub lines: Vec<String>,
    /// Where the confirming form posts (the address the first post went to).
    pub action: String,
    pub button: &'static str,
    /// Where Cancel leads: back, changing nothing.
    pub cancel: String,
    /// A reason the change needs, asked for on this page.
    pub reason: Option<ConfirmReason>,
}

/// The reason a confirmation page asks for: its label, what was typed, and why it was refused.
pub struct ConfirmReason {
    pub label: &'static str,
    pub value: String,
    pub error: Option<String>,
}

/// Renders an error page again inside the signed-in frame (name, Inbox, Sign out) when the
/// request carries a live session: errors are made where who is asking is not known, and reading
/// the session once more only on an error page costs the pages that succeed nothing.
pub async fn frame_errors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let session = crate::session::cookie(request.headers(), state.cookies.session_name()).map(str::to_owned);
    let csrf = request.extensions().get::<CsrfToken>().cloned();
    let response = next.run(request).await;
    let (Some(text), Some(session), Some(csrf)) = (response.extensions().get::<ErrorPageText>(), session, csrf) else {
        return response;
    };
    let credential = accord_store::Credential::Session(crate::secrets::token_hash(&session));
    match state.store.viewer(credential, None, state.now()).await {
        Ok(viewer) => {
            let mut shell = Shell::new(Some(&viewer.user), &csrf, "");
            shell.notice = None;
            text.render(shell)
        }
        // No live session: the plain page stands.
        Err(_) => response,
    }
}

/// Room for a page from the start: askama's own hint counts only the template's text, so a
/// page of tables grew its buffer (copying it) five or six times.
const PAGE_BYTES: usize = 32 * 1024;

/// Renders a template with a status.
pub fn render<T: Template>(status: StatusCode, template: &T) -> Response {
    let mut html = String::with_capacity(PAGE_BYTES.max(T::SIZE_HINT));
    match template.render_into(&mut html) {
        Ok(()) => (status, Html(html)).into_response(),
        Err(e) => PageError(ApiError::Internal(format!("template: {e}"))).into_response(),
    }
}

/// A form's page shown again after `error` refused it (see `ApiError::refuses_form`). An expired
/// form's page carries a fresh token whose cookie must reach the browser, though the answer is
/// an error: `session::csrf_cookie` sets that one cookie for a page marked [`SendAgain`].
pub fn refused<T: Template>(error: &ApiError, template: &T) -> Response {
    let mut response = render(error.status(), template);
    if matches!(error, ApiError::Expired) {
        response.extensions_mut().insert(SendAgain);
    }
    response
}

/// Marks the page of an expired form, shown again to be sent again.
#[derive(Clone, Copy)]
pub struct SendAgain;

pub fn ok(template: &impl Template) -> Result<Response, PageError> {
    Ok(render(StatusCode::OK, template))
}

pub async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") { ApiError::NotFound.into_response() } else { PageError(ApiError::NotFound).into_response() }
}

/// Local paths only, so that `?next=` cannot send anyone to another site. Browsers drop tabs and
/// newlines from a URL and read `\` as `/`, and some decode it once more: so `next` is judged
/// after one percent-decoding, and kept only if it then starts with `/`, its second character is
/// neither `/` nor `\`, and it holds no backslash and no control character. It must also be
/// a header value as it stands (visible ASCII): a path we sent people from always is.
pub fn local_path(next: &str) -> &str {
    let decoded = percent_decode(next);
    let decoded = String::from_utf8_lossy(&decoded);
    let local = decoded.starts_with('/')
        && !matches!(decoded.as_bytes().get(1), Some(b'/' | b'\\'))
        && !decoded.chars().any(|c| c == '\\' || c.is_control())
        && next.bytes().all(|b| b.is_ascii_graphic());
    if local { next } else { "/" }
}

/// `%XX` to the byte it stands for; anything else as it is.
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{RELATIONSHIP_MENU, Shell, ShellRelationship, ShellUser, local_path};
    use askama::Template;

    /// The layout alone, and a page of the layout's parts.
    #[derive(Template)]
    #[template(source = r#"{% extends "layout/base.html" %}"#, ext = "html")]
    struct Layout {
        shell: Shell,
    }

    #[derive(Template)]
    #[template(
        source = r#"{% import "layout/parts.html" as parts %}{% call parts::csrf() %}{% endcall %}|{% call parts::error_alert(error) %}{% endcall %}|{% call parts::error_alert(error, "e") %}{% endcall %}|{% call parts::next_page(next) %}?after={% endcall %}|{% call parts::empty_row(3) %}Nothing yet.{% endcall %}"#,
        ext = "html"
    )]
    struct Parts {
        shell: Shell,
        error: Option<String>,
        next: Option<String>,
    }

    fn shell(section: &'static str) -> Shell {
        let relationship = ShellRelationship { id: uuid::Uuid::nil(), name: "Harbour".into(), member: true };
        Shell {
            user: Some(ShellUser { name: "Ann".into(), is_admin: false }),
            csrf: "tok\"en".into(),
            relationship: Some(relationship),
            section,
            notice: None,
        }
    }

    #[test]
    fn the_relationship_menu_is_its_list_in_order_with_the_current_section_marked() {
        let html = Layout { shell: shell("issues") }.render().unwrap();
        let menu = &html[html.find(r#"<nav class="subnav""#).unwrap()..];
        let menu = &menu[..menu.find("</nav>").unwrap()];
        let mut rest = menu;
        for item in RELATIONSHIP_MENU {
            let current = if item.section == "issues" { r#"aria-current="page""# } else { "" };
            let link = format!(r#"<a href="/relationships/{}{}" {current}>{}</a>"#, uuid::Uuid::nil(), item.path, item.label);
            let at = rest.find(&link).unwrap_or_else(|| panic!("{link} missing or out of order in {menu}"));
            rest = &rest[at + link.len()..];
        }
        assert_eq!(menu.matches("<a ").count(), RELATIONSHIP_MENU.len() + 1, "the name and the list only: {menu}");
        assert_eq!(menu.matches("aria-current").count(), 1);
    }

    #[test]
    fn the_parts_write_the_field_the_alert_the_link_and_the_empty_row() {
        let page = |error: Option<&str>, next: Option<&str>| {
            Parts { shell: shell(""), error: error.map(Into::into), next: next.map(Into::into) }.render().unwrap()
        };
        assert_eq!(
            page(Some("title: <required>"), Some("a&b")),
            r#"<input type="hidden" name="csrf" value="tok&#34;en">|<p class="error" role="alert">title: &#60;required&#62;</p>|<p class="error" role="alert" id="e">title: &#60;required&#62;</p>|<p><a href="?after=a&#38;b">Next page →</a></p>|<tr><td colspan="3" class="muted">Nothing yet.</td></tr>"#
        );
        assert_eq!(
            page(None, None),
            r#"<input type="hidden" name="csrf" value="tok&#34;en">||||<tr><td colspan="3" class="muted">Nothing yet.</td></tr>"#
        );
    }

    #[test]
    fn a_saved_code_reads_back_as_itself_and_nothing_else_is_shown() {
        for saved in super::Saved::ALL {
            assert_eq!(super::Saved::from_query(Some(&format!("after=3&saved={}", saved.code()))), Some(*saved));
        }
        for query in [None, Some(""), Some("saved="), Some("saved=%3Cb%3E"), Some("xsaved=kpi"), Some("saved=kpi2")] {
            assert_eq!(super::Saved::from_query(query), None, "{query:?}");
        }
        let redirect = super::saved("/relationships/x/actions?from=kpi#action-1", super::Saved::Action);
        assert_eq!(redirect.headers()["location"], "/relationships/x/actions?from=kpi&saved=action#action-1");
    }

    #[test]
    fn next_is_a_local_path_or_home() {
        for hostile in [
            "/%09/evil.example",
            "/\t/evil.example",
            "/%0d%0a",
            "/\r\nSet-Cookie: a=b",
            "//evil",
            "/\\evil",
            "/%5cevil",
            "/%5Cevil",
            "/%2F/evil",
            "/a\\b",
            "https://evil",
            "evil.example",
            "",
            "/caf\u{e9}",
            "/%c2%85",
        ] {
            assert_eq!(local_path(hostile), "/", "{hostile:?} must not be kept");
        }
        for good in ["/", "/relationships/0190f3a2-0000-7000-8000-000000000000", "/inbox?after=12&x=%20y", "/a/b%2Fc?q=1"] {
            assert_eq!(local_path(good), good);
        }
    }
}
