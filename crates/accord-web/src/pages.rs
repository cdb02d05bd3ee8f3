//! Server-rendered pages: every module's routes, one line a module. Every page works without
//! JavaScript; authorization comes from the extractors in `auth`, never from templates.

use crate::AppState;
use crate::{actions, audit, issues, measures, notifications, oversight, people, records, relationships, reviews};
use axum::Router;

pub use crate::people::RESET_VALID;

pages! { ROUTES, shared_router;
    get "/static/style.css" => crate::layout::stylesheet;
}

/// Every module's page routes, in the order the router merges them.
const MODULES: &[&[(&str, &str)]] = &[
    ROUTES,
    people::pages::ROUTES,
    relationships::pages::ROUTES,
    measures::pages::ROUTES,
    measures::sheets::ROUTES,
    measures::sheets::UPLOAD_ROUTES,
    actions::pages::ROUTES,
    issues::pages::ROUTES,
    reviews::pages::ROUTES,
    notifications::pages::ROUTES,
    audit::pages::ROUTES,
    oversight::pages::ROUTES,
    records::pages::ROUTES,
];

/// Every page route as (method, path), for the authorization matrix.
pub fn routes() -> Vec<(&'static str, &'static str)> {
    MODULES.concat()
}

pub fn router() -> Router<AppState> {
    shared_router()
        .merge(people::pages::router())
        .merge(relationships::pages::router())
        .merge(measures::pages::router())
        .merge(measures::sheets::router())
        .merge(actions::pages::router())
        .merge(issues::pages::router())
        .merge(reviews::pages::router())
        .merge(notifications::pages::router())
        .merge(audit::pages::router())
        .merge(oversight::pages::router())
        .merge(records::pages::router())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_listed_once() {
        let mut routes = routes();
        let count = routes.len();
        routes.sort();
        routes.dedup();
        assert_eq!(routes.len(), count);
    }
}
