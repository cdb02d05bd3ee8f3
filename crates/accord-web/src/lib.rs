//! Accord's HTTP face: server-rendered pages for people and the JSON API under `/api/v1` for
//! programs, sharing one state, one error type and one authorization extractor.

/// Declares a module's page routes once: its router is built from this list, and the
/// authorization matrix test reads the same list (through `pages::routes`), so a new page cannot
/// go untested.
macro_rules! pages {
    ($routes:ident, $router:ident; $($method:ident $path:literal => $handler:path;)*) => {
        /// Page routes as (method, path).
        pub const $routes: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        pub fn $router() -> axum::Router<crate::AppState> {
            axum::Router::new()$(.route($path, axum::routing::$method($handler)))*
        }
    };
}

// Shared by every module: no module folder below imports another.
pub mod activity;
pub mod api;
pub mod auth;
pub mod charts;
pub mod dates;
pub mod error;
mod fields;
mod forms;
mod html;
mod idempotency;
mod input;
pub mod json;
pub mod layout;
mod limiter;
pub mod list;
pub mod pages;
pub mod print;
pub mod secrets;
pub mod session;
pub mod sheets;
pub mod signatures;

// The modules, a folder each: inputs and operations (mod.rs), pages, API.
pub mod actions;
pub mod audit;
pub mod issues;
pub mod measures;
pub mod notifications;
pub mod oversight;
pub mod people;
pub mod records;
pub mod relationships;
pub mod reviews;

use accord_domain::clock::Clock;
use accord_store::Store;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// What every handler can reach. Servers keep no other state: all of it lives in the database.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Set once migrations and demo seeding are done; `/healthz` answers 503 until then.
    pub ready: Arc<AtomicBool>,
    /// Where people reach the site, for links in invitations and e-mails (no trailing slash).
    pub public_url: Arc<str>,
    pub cookies: session::Cookies,
    /// Sign-in attempts per client address (this server's memory; sign-in only).
    pub sign_in_limiter: Arc<limiter::AddressLimiter>,
}

impl AppState {
    /// `public_url` is how people reach the site, e.g. `https://accord.example.org`.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, public_url: &str) -> AppState {
        let public_url = public_url.trim_end_matches('/');
        AppState {
            store,
            clock,
            ready: Arc::new(AtomicBool::new(false)),
            cookies: session::Cookies { secure: public_url.starts_with("https://") },
            public_url: public_url.into(),
            sign_in_limiter: Arc::new(limiter::AddressLimiter::new(SIGN_IN_PER_ADDRESS, jiff::SignedDuration::from_mins(5))),
        }
    }

    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }
}

/// Sign-in attempts one client address may make in five minutes.
pub const SIGN_IN_PER_ADDRESS: u32 = 30;

/// The largest request body accepted (imports will raise it for their own routes).
pub const BODY_LIMIT: usize = 1 << 20;

pub fn router(state: AppState) -> Router {
    let (api, mut openapi) = api::router().split_for_parts();
    utoipa::Modify::modify(&api::SharedResponses, &mut openapi);
    let openapi = Arc::new(openapi.to_json().unwrap_or_default());
    Router::new()
        .merge(api)
        .route("/api/openapi.json", get(move || async move { ([(header::CONTENT_TYPE, "application/json")], openapi.as_str().to_owned()) }))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(pages::router())
        .fallback(layout::not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(state.clone(), idempotency::once))
        .layer(middleware::from_fn_with_state(state.clone(), layout::frame_errors))
        .layer(middleware::from_fn_with_state(state.clone(), session::csrf_cookie))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    if state.ready.load(Ordering::Acquire) { (StatusCode::OK, "ok\n") } else { (StatusCode::SERVICE_UNAVAILABLE, "starting\n") }
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n"),
        Err(e) => {
            tracing::warn!(error = %e, "database not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database not reachable\n")
        }
    }
}

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in set {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Serves `router` on `listener` until ctrl-c or SIGTERM.
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    // SIGTERM's handler is in place before the first request is served: a stop sent as soon as
    // the server answers (a supervisor, a test) ends it cleanly, not by the signal's default.
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(async move {
            let ctrl_c = tokio::signal::ctrl_c();
            #[cfg(unix)]
            let term = async {
                match term.as_mut() {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            };
            #[cfg(not(unix))]
            let term = std::future::pending::<()>();
            tokio::select! { _ = ctrl_c => {}, _ = term => {} }
        })
        .await
}

#[cfg(test)]
mod tests {
    /// The module folders. Each imports the shared modules, `accord_store` and `accord_domain`,
    /// never another module: what two modules need is shared.
    const MODULES: &[&str] =
        &["actions", "audit", "issues", "measures", "notifications", "oversight", "people", "records", "relationships", "reviews"];

    #[test]
    fn no_module_folder_names_another() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        for module in MODULES {
            let folder = src.join(module);
            let files = std::fs::read_dir(&folder).unwrap_or_else(|e| panic!("{}: {e}", folder.display()));
            for file in files {
                let path = file.unwrap().path();
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(!text.contains("super::super"), "{} reaches out of its folder", path.display());
                // Paths (`crate::issues::…`) and groups (`use crate::{layout, issues};`) alike.
                let mut named: Vec<&str> = text
                    .split("crate::")
                    .skip(1)
                    .map(|rest| rest.split(|c: char| !c.is_alphanumeric() && c != '_').next().unwrap_or(""))
                    .collect();
                for group in text.split("crate::{").skip(1) {
                    named.extend(group.split('}').next().unwrap_or("").split(|c: char| !c.is_alphanumeric() && c != '_'));
                }
                if let Some(other) = named.iter().find(|n| **n != *module && MODULES.contains(n)) {
                    panic!("{} names the module {other}", path.display());
                }
            }
        }
        // Every folder is listed above, so a new module is checked too.
        let folders = std::fs::read_dir(&src).unwrap().filter_map(|e| e.ok()).filter(|e| e.path().is_dir()).count();
        assert_eq!(folders, MODULES.len(), "a module folder is missing from MODULES");
    }
}
