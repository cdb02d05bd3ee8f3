//! The authorization matrix: every route (pages, API, probes) for every kind of caller, with the
//! expected status of each cell in one table. A route without a row fails the test, so a new
//! route cannot be added without deciding who may use it.
//!
//! Each cell runs against its own copy of one prepared SQLite database, so that a request that
//! changes something cannot disturb the next cell.

use accord_domain::Invalid;
use accord_domain::clock::ManualClock;
use accord_domain::measure::{Cadence, Direction, Thresholds};
use accord_domain::membership::Role;
use accord_domain::relationship::{NewRelationship, RelationshipInput};
use accord_domain::text::{Email, Name};
use accord_store::prelude::*;
use accord_store::{MeasurementInput, NewAction, NewInvitation, NewIssue, NewKpi, NewObjective, NewObligation, NewUser};
use accord_store_sqlite::SqliteStore;
use accord_web::{AppState, secrets};
use jiff::{SignedDuration, Timestamp};
use reqwest::Method;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use uuid::Uuid;

/// The callers, in the order of the table's columns.
const WHO: [&str; 8] = ["anonymous", "non-member", "other relationship", "observer", "contributor", "jmt", "ser", "site admin"];

/// (method, path, expected status for each caller in `WHO` order).
const MATRIX: &[(&str, &str, [u16; 8])] = &[
    // Probes and the API document: public.
    ("get", "/healthz", [200; 8]),
    ("get", "/readyz", [200; 8]),
    ("get", "/api/openapi.json", [200; 8]),
    ("get", "/static/style.css", [200; 8]),
    // API: site level.
    ("get", "/api/v1/organisations", [401, 200, 200, 200, 200, 200, 200, 200]),
    ("post", "/api/v1/organisations", [401, 403, 403, 403, 403, 403, 403, 201]),
    // Northshore: the caller's own organisation, or one they share a relationship with, or not.
    ("get", "/api/v1/organisations/{organisation_id}", [401, 200, 404, 200, 200, 200, 200, 200]),
    ("get", "/api/v1/relationships", [401, 200, 200, 200, 200, 200, 200, 200]),
    ("post", "/api/v1/relationships", [401, 403, 403, 403, 403, 403, 403, 201]),
    // API: relationship level. A site admin sees the frame (parties, members), not the content.
    ("get", "/api/v1/relationships/{relationship_id}", [401, 404, 404, 200, 200, 200, 200, 200]),
    ("patch", "/api/v1/relationships/{relationship_id}", [401, 404, 404, 403, 403, 200, 200, 404]),
    ("get", "/api/v1/relationships/{relationship_id}/parties", [401, 404, 404, 200, 200, 200, 200, 200]),
    ("get", "/api/v1/relationships/{relationship_id}/members", [401, 404, 404, 200, 200, 200, 200, 200]),
    ("post", "/api/v1/relationships/{relationship_id}/members", [401, 404, 404, 403, 403, 201, 201, 201]),
    ("put", "/api/v1/relationships/{relationship_id}/members/{user_id}", [401, 404, 404, 403, 403, 200, 200, 200]),
    ("delete", "/api/v1/relationships/{relationship_id}/members/{user_id}", [401, 404, 404, 403, 403, 204, 204, 204]),
    ("post", "/api/v1/relationships/{relationship_id}/members/{user_id}/succession", [401, 404, 404, 403, 403, 403, 200, 200]),
    ("get", "/api/v1/relationships/{relationship_id}/audit-events", [401, 404, 404, 200, 200, 200, 200, 404]),
    // A party's oversight: every member reads it (the joint picture), observers too.
    ("get", "/api/v1/relationships/{relationship_id}/parties/{party_id}/oversight", [401, 404, 404, 200, 200, 200, 200, 404]),
    // API: measures. Contributors record their own party's KPIs (this one is another party's).
    ("get", "/api/v1/relationships/{relationship_id}/objectives", [401, 404, 404, 200, 200, 200, 200, 404]),
    ("post", "/api/v1/relationships/{relationship_id}/objectives", [401, 404, 404, 403, 403, 201, 201, 404]),
    ("get", "/api/v1/relationships/{relationship_id}/objectives/{objective_id}", [401, 404, 404, 200, 200, 200, 200, 404]),
    ("post", "/api/v1/relationships/{relationship_id}/objectives/{objective_id}/reviews", [401, 404, 404, 403, 403, 200, 200, 404]),
    ("get", "/api/v1/relationships/{relationship_id}/kpis", [401, 404, 404, 200, 200, 200, 200, 404]),
    ("post", "/api/v1/relationships/{relationship_id}/kpis", [401, 404, 404, 403, 403, 201, 201, 404]),
    ("get", "/api/v1/relationships/{relationship_id}/kpis/{kpi_id}", [401, 404, 404, 200, 200, 200, 200, 404]),
    ("post", "/api/v1/relationships/{relationship_id}/kpis/{kpi_id}/versions", [401, 404, 404, 403, 403, 200, 200, 404]),
    ("get", "/api/v1/relationships/{relationship_id}/measurements", [401, 404, 404, 200, 200, 200, 200, 404]),
    ("post", "/api/v1/relationships/{relationship_id}/measurements", [401, 404, 404, 403, 403, 201, 201, 404]),
    ("post", "/api/v1/relationships/{relationship_id}/measurements/import", [401, 404, 404, 403, 403, 200, 200, 404]),
    (
        "post",
        "/api/v1/relationships/{relationship_id}/kpis/{kpi_id}/measurements/{measurement_id}/retract",
        [401, 404, 404, 403, 403, 200, 200, 404],
    ),
    ("get", "/api/v1/relationships/{relationship_id}/obligations", [401, 404, 404, 200, 200, 200, 200, 404]),
    ("post", "/api/v1/relationships/{relationship_id}/obligations", [401, 404, 404, 403, 403, 201, 201, 404]),
    ("patch", "/api/v1/relationships/{relationship_id}/obligations/{obligation_id}", [401, 404, 404, 403, 200, 200, 200, 404]),
    // API: reviews.
    ("get", "/api/v1/relationships/{relationship_id}/reviews", [401, 404, 404, 200, 200, 200, 200, 404]),
    ("post", "/api/v1/relationships/{relationship_id}/reviews", [401, 404, 404, 403, 403, 201, 201, 404]),
    ("get", "/api/v1/relationships/{relationship_id}/reviews/{series_id}", [401, 404, 404, 200, 200, 200, 200, 404]),
    ("put", "/api/v1/relationships/{relationship_id}/reviews/{series_id}", [401, 404, 404, 403, 403, 200, 200, 404]),
    ("get", "/api/v1/relationships/{relationship_id}/reviews/{series_id}/meetings", [401, 404, 404, 200, 200, 200, 200, 404]),
    ("post", "/api/v1/relationships/{relationship_id}/reviews/{series_id}/meetings", [401, 404, 404, 403, 403, 201, 201, 404]),
    ("get", "/api/v1/relationships/{relationship_id}/meetings/{meeting_id}", [401, 404, 404, 200, 200, 200, 200, 404]),
    ("post", "/api/v1/relationships/{relationship_id}/meetings/{meeting_id}/changes", [401, 404, 404, 403, 403, 200, 200, 404]),
    ("get", "/api/v1/relationships/{relationship_id}/meetings/{meeting_id}/record", [401, 404, 404, 200, 200, 200, 200, 404]),
    ("get", "/api/v1/relationships/{relationship_id}/parties/{party_id}/interventions", [401, 404, 404, 200, 200, 200, 200, 404]),
    ("get", "/api/v1/relationships/{relationship_id}/actions", [401, 404, 404, 200, 200, 200, 200, 404]),
    ("post", "/api/v1/relationships/{relationship_id}/actions", [401, 404, 404, 403, 201, 201, 201, 404]),
    ("get", "/api/v1/relationships/{relationship_id}/actions/{action_id}", [401, 404, 404, 200, 200, 200, 200, 404]),
    // API: issues. Level 0 is handled by contributors and JMT members; only the raiser withdraws.
    ("get", "/api/v1/relationships/{relationship_id}/issues", [401, 404, 404, 200, 200, 200, 200, 404]),
    ("post", "/api/v1/relationships/{relationship_id}/issues", [401, 404, 404, 403, 201, 201, 201, 404]),
    ("get", "/api/v1/relationships/{relationship_id}/issues/{issue_id}", [401, 404, 404, 200, 200, 200, 200, 404]),
    ("post", "/api/v1/relationships/{relationship_id}/issues/{issue_id}/comments", [401, 404, 404, 403, 201, 201, 201, 404]),
    ("post", "/api/v1/relationships/{relationship_id}/issues/{issue_id}/proposals", [401, 404, 404, 403, 200, 200, 200, 404]),
    ("post", "/api/v1/relationships/{relationship_id}/issues/{issue_id}/responses", [401, 404, 404, 403, 200, 200, 200, 404]),
    ("post", "/api/v1/relationships/{relationship_id}/issues/{issue_id}/escalations", [401, 404, 404, 403, 200, 200, 403, 404]),
    ("post", "/api/v1/relationships/{relationship_id}/issues/{issue_id}/withdrawals", [401, 404, 404, 403, 403, 403, 403, 404]),
    ("get", "/api/v1/relationships/{relationship_id}/ladder", [401, 404, 404, 200, 200, 200, 200, 404]),
    ("put", "/api/v1/relationships/{relationship_id}/ladder", [401, 404, 404, 403, 403, 200, 200, 404]),
    ("put", "/api/v1/relationships/{relationship_id}/holidays", [401, 404, 404, 403, 403, 204, 204, 404]),
    ("get", "/api/v1/notifications", [401, 200, 200, 200, 200, 200, 200, 200]),
    // API: signed records. Observers read; a party's SER or named signer signs (for their own
    // party); SERs and JMT members add an addendum to a sealed record.
    ("get", "/api/v1/relationships/{relationship_id}/records", [401, 404, 404, 200, 200, 200, 200, 404]),
    ("get", "/api/v1/relationships/{relationship_id}/records/{record_id}", [401, 404, 404, 200, 200, 200, 200, 404]),
    ("post", "/api/v1/relationships/{relationship_id}/records/{record_id}/signatures", [401, 404, 404, 403, 403, 201, 201, 404]),
    ("post", "/api/v1/relationships/{relationship_id}/records/{record_id}/addenda", [401, 404, 404, 403, 403, 201, 201, 404]),
    ("patch", "/api/v1/relationships/{relationship_id}/actions/{action_id}", [401, 404, 404, 403, 403, 200, 200, 404]),
    // Pages open to anyone (a signed-in person on /login goes home).
    ("get", "/login", [200, 303, 303, 303, 303, 303, 303, 303]),
    ("post", "/login", [401; 8]),
    ("post", "/logout", [303; 8]),
    ("get", "/reset/{token}", [200; 8]),
    ("post", "/reset/{token}", [303; 8]),
    ("get", "/invitations/{token}", [200; 8]),
    ("post", "/invitations/{token}", [303, 422, 422, 422, 422, 422, 422, 422]),
    // The setup link opens to anyone who has it while the site has no administrator; this site has
    // one, so its link is dead (the live link: `first_run`).
    ("get", "/setup/{secret}", [404; 8]),
    ("post", "/setup/{secret}", [404; 8]),
    // Pages for anyone signed in; anonymous callers are sent to sign in (303).
    ("get", "/", [303, 200, 200, 200, 200, 200, 200, 200]),
    ("get", "/account", [303, 200, 200, 200, 200, 200, 200, 200]),
    ("post", "/account/password", [303, 422, 422, 422, 422, 422, 422, 422]),
    ("post", "/account/tokens", [303, 200, 200, 200, 200, 200, 200, 200]),
    ("post", "/account/tokens/{token_id}/revoke", [303; 8]),
    // Administration.
    ("get", "/admin/organisations", [303, 403, 403, 403, 403, 403, 403, 200]),
    ("post", "/admin/organisations", [303, 403, 403, 403, 403, 403, 403, 303]),
    ("get", "/admin/users", [303, 403, 403, 403, 403, 403, 403, 200]),
    ("post", "/admin/users", [303, 403, 403, 403, 403, 403, 403, 200]),
    ("post", "/admin/users/{user_id}/disable", [303, 403, 403, 403, 403, 403, 403, 303]),
    ("post", "/admin/users/{user_id}/enable", [303, 403, 403, 403, 403, 403, 403, 303]),
    ("post", "/admin/users/{user_id}/reset-link", [303, 403, 403, 403, 403, 403, 403, 200]),
    // Founding a relationship: site administrators only.
    ("get", "/relationships/new", [303, 403, 403, 403, 403, 403, 403, 200]),
    ("post", "/relationships/new", [303, 403, 403, 403, 403, 403, 403, 200]),
    // Relationship pages.
    ("get", "/relationships/{relationship_id}", [303, 404, 404, 200, 200, 200, 200, 200]),
    ("get", "/relationships/{relationship_id}/parties/{party_id}/oversight", [303, 404, 404, 200, 200, 200, 200, 404]),
    ("get", "/relationships/{relationship_id}/members", [303, 404, 404, 200, 200, 200, 200, 200]),
    ("post", "/relationships/{relationship_id}/invitations", [303, 404, 404, 403, 403, 200, 200, 404]),
    ("post", "/relationships/{relationship_id}/invitations/{invitation_id}/revoke", [303, 404, 404, 403, 403, 303, 303, 404]),
    ("post", "/relationships/{relationship_id}/members/{user_id}/role", [303, 404, 404, 403, 403, 303, 303, 303]),
    ("post", "/relationships/{relationship_id}/members/{user_id}/remove", [303, 404, 404, 403, 403, 303, 303, 303]),
    ("post", "/relationships/{relationship_id}/members/{user_id}/succession", [303, 404, 404, 403, 403, 403, 303, 303]),
    // Measures pages.
    ("get", "/relationships/{relationship_id}/scorecard", [303, 404, 404, 200, 200, 200, 200, 404]),
    ("get", "/relationships/{relationship_id}/scorecard/print", [303, 404, 404, 200, 200, 200, 200, 404]),
    ("get", "/relationships/{relationship_id}/scorecard.pdf", [303, 404, 404, 200, 200, 200, 200, 404]),
    ("post", "/relationships/{relationship_id}/kpis", [303, 404, 404, 403, 403, 303, 303, 404]),
    ("get", "/relationships/{relationship_id}/kpis/new", [303, 404, 404, 403, 403, 200, 200, 404]),
    ("get", "/relationships/{relationship_id}/kpis/{kpi_id}", [303, 404, 404, 200, 200, 200, 200, 404]),
    ("post", "/relationships/{relationship_id}/kpis/{kpi_id}/measurements", [303, 404, 404, 403, 403, 303, 303, 404]),
    (
        "post",
        "/relationships/{relationship_id}/kpis/{kpi_id}/measurements/{measurement_id}/retract",
        [303, 404, 404, 403, 403, 303, 303, 404],
    ),
    ("post", "/relationships/{relationship_id}/kpis/{kpi_id}/versions", [303, 404, 404, 403, 403, 303, 303, 404]),
    ("get", "/relationships/{relationship_id}/objectives", [303, 404, 404, 200, 200, 200, 200, 404]),
    ("post", "/relationships/{relationship_id}/objectives", [303, 404, 404, 403, 403, 303, 303, 404]),
    ("get", "/relationships/{relationship_id}/objectives/{objective_id}", [303, 404, 404, 200, 200, 200, 200, 404]),
    ("post", "/relationships/{relationship_id}/objectives/{objective_id}/reviews", [303, 404, 404, 403, 403, 303, 303, 404]),
    ("get", "/relationships/{relationship_id}/obligations", [303, 404, 404, 200, 200, 200, 200, 404]),
    ("post", "/relationships/{relationship_id}/obligations", [303, 404, 404, 403, 403, 303, 303, 404]),
    ("post", "/relationships/{relationship_id}/obligations/{obligation_id}", [303, 404, 404, 403, 303, 303, 303, 404]),
    // Reviews: members read; SERs and JMT members of any party set up, schedule, prepare and minute.
    ("get", "/relationships/{relationship_id}/reviews", [303, 404, 404, 200, 200, 200, 200, 404]),
    ("post", "/relationships/{relationship_id}/reviews", [303, 404, 404, 403, 403, 303, 303, 404]),
    ("get", "/relationships/{relationship_id}/reviews/new", [303, 404, 404, 403, 403, 200, 200, 404]),
    ("get", "/relationships/{relationship_id}/reviews/{series_id}", [303, 404, 404, 200, 200, 200, 200, 404]),
    ("post", "/relationships/{relationship_id}/reviews/{series_id}", [303, 404, 404, 403, 403, 303, 303, 404]),
    ("get", "/relationships/{relationship_id}/reviews/{series_id}/edit", [303, 404, 404, 403, 403, 200, 200, 404]),
    ("post", "/relationships/{relationship_id}/reviews/{series_id}/meetings", [303, 404, 404, 403, 403, 303, 303, 404]),
    ("get", "/relationships/{relationship_id}/meetings/{meeting_id}", [303, 404, 404, 200, 200, 200, 200, 404]),
    ("post", "/relationships/{relationship_id}/meetings/{meeting_id}", [303, 404, 404, 403, 403, 303, 303, 404]),
    ("get", "/relationships/{relationship_id}/actions", [303, 404, 404, 200, 200, 200, 200, 404]),
    ("post", "/relationships/{relationship_id}/actions", [303, 404, 404, 403, 303, 303, 303, 404]),
    ("get", "/relationships/{relationship_id}/actions/new", [303, 404, 404, 403, 200, 200, 200, 404]),
    ("get", "/relationships/{relationship_id}/actions/{action_id}", [303, 404, 404, 200, 200, 200, 200, 404]),
    ("post", "/relationships/{relationship_id}/actions/{action_id}", [303, 404, 404, 403, 403, 303, 303, 404]),
    ("get", "/relationships/{relationship_id}/import", [303, 404, 404, 403, 403, 200, 200, 404]),
    // The audit trail: every member reads it and downloads the chain; a site admin does not.
    ("get", "/relationships/{relationship_id}/audit", [303, 404, 404, 200, 200, 200, 200, 404]),
    ("get", "/relationships/{relationship_id}/audit/export.jsonl", [303, 404, 404, 200, 200, 200, 200, 404]),
    // Issue pages.
    ("get", "/relationships/{relationship_id}/issues", [303, 404, 404, 200, 200, 200, 200, 404]),
    ("post", "/relationships/{relationship_id}/issues", [303, 404, 404, 403, 303, 303, 303, 404]),
    ("get", "/relationships/{relationship_id}/issues/new", [303, 404, 404, 403, 200, 200, 200, 404]),
    ("get", "/relationships/{relationship_id}/issues/{issue_id}", [303, 404, 404, 200, 200, 200, 200, 404]),
    ("post", "/relationships/{relationship_id}/issues/{issue_id}/comments", [303, 404, 404, 403, 303, 303, 303, 404]),
    ("post", "/relationships/{relationship_id}/issues/{issue_id}/proposals", [303, 404, 404, 403, 303, 303, 303, 404]),
    ("post", "/relationships/{relationship_id}/issues/{issue_id}/responses", [303, 404, 404, 403, 303, 303, 303, 404]),
    ("post", "/relationships/{relationship_id}/issues/{issue_id}/escalations", [303, 404, 404, 403, 303, 303, 403, 404]),
    ("post", "/relationships/{relationship_id}/issues/{issue_id}/withdrawals", [303, 404, 404, 403, 403, 403, 403, 404]),
    ("get", "/relationships/{relationship_id}/ladder", [303, 404, 404, 200, 200, 200, 200, 404]),
    ("post", "/relationships/{relationship_id}/ladder", [303, 404, 404, 403, 403, 303, 303, 404]),
    ("post", "/relationships/{relationship_id}/holidays", [303, 404, 404, 403, 403, 303, 303, 404]),
    // Signed records' pages.
    ("get", "/relationships/{relationship_id}/records", [303, 404, 404, 200, 200, 200, 200, 404]),
    ("get", "/relationships/{relationship_id}/records/{record_id}", [303, 404, 404, 200, 200, 200, 200, 404]),
    ("post", "/relationships/{relationship_id}/records/{record_id}/sign", [303, 404, 404, 403, 403, 303, 303, 404]),
    ("post", "/relationships/{relationship_id}/records/{record_id}/addenda", [303, 404, 404, 403, 403, 303, 303, 404]),
    ("get", "/inbox", [303, 200, 200, 200, 200, 200, 200, 200]),
    ("post", "/inbox/read", [303; 8]),
    ("get", "/inbox/{notification_id}", [303, 404, 404, 404, 404, 404, 404, 404]),
    ("post", "/relationships/{relationship_id}/import", [303, 404, 404, 403, 403, 200, 200, 404]),
    ("post", "/relationships/{relationship_id}/import/apply", [303, 404, 404, 403, 403, 303, 303, 404]),
    ("get", "/relationships/{relationship_id}/{file}", [303, 404, 404, 200, 200, 200, 200, 404]),
    ("get", "/relationships/{relationship_id}/kpis/{kpi_id}/{file}", [303, 404, 404, 200, 200, 200, 200, 404]),
];

/// The callers of the other party (Keystone, party B): every relationship write tried by them, on
/// party A's things where the route names a party (A's holidays, A's invitation, A's member).
const OTHER_PARTY_WHO: [&str; 2] = ["jmt b", "ser b"];

/// (method, path, expected status for each caller in `OTHER_PARTY_WHO` order). Party-scoped writes
/// (holidays, invitations, members' roles and removal) are refused to another party's SER and
/// JMT; joint writes stay open to them. A new relationship write without a row fails the test.
const OTHER_PARTY: &[(&str, &str, [u16; 2])] = &[
    // Party-scoped: only party A's own SER and JMT act for party A.
    ("put", "/api/v1/relationships/{relationship_id}/holidays", [403, 403]),
    ("post", "/relationships/{relationship_id}/holidays", [403, 403]),
    ("post", "/relationships/{relationship_id}/invitations/{invitation_id}/revoke", [403, 403]),
    ("post", "/api/v1/relationships/{relationship_id}/members", [403, 403]),
    ("put", "/api/v1/relationships/{relationship_id}/members/{user_id}", [403, 403]),
    ("delete", "/api/v1/relationships/{relationship_id}/members/{user_id}", [403, 403]),
    ("post", "/api/v1/relationships/{relationship_id}/members/{user_id}/succession", [403, 403]),
    ("post", "/relationships/{relationship_id}/members/{user_id}/role", [403, 403]),
    ("post", "/relationships/{relationship_id}/members/{user_id}/remove", [403, 403]),
    ("post", "/relationships/{relationship_id}/members/{user_id}/succession", [403, 403]),
    // An invitation is always for the inviter's own party (the form names no party): B invites for B.
    ("post", "/relationships/{relationship_id}/invitations", [200, 200]),
    // Joint writes: open to every party's SER and JMT.
    ("patch", "/api/v1/relationships/{relationship_id}", [200, 200]),
    ("post", "/api/v1/relationships/{relationship_id}/objectives", [201, 201]),
    ("post", "/api/v1/relationships/{relationship_id}/objectives/{objective_id}/reviews", [200, 200]),
    ("post", "/api/v1/relationships/{relationship_id}/kpis", [201, 201]),
    ("post", "/api/v1/relationships/{relationship_id}/kpis/{kpi_id}/versions", [200, 200]),
    ("post", "/api/v1/relationships/{relationship_id}/measurements", [201, 201]),
    ("post", "/api/v1/relationships/{relationship_id}/measurements/import", [200, 200]),
    ("post", "/api/v1/relationships/{relationship_id}/kpis/{kpi_id}/measurements/{measurement_id}/retract", [200, 200]),
    ("post", "/api/v1/relationships/{relationship_id}/obligations", [201, 201]),
    ("patch", "/api/v1/relationships/{relationship_id}/obligations/{obligation_id}", [200, 200]),
    ("post", "/api/v1/relationships/{relationship_id}/actions", [201, 201]),
    ("patch", "/api/v1/relationships/{relationship_id}/actions/{action_id}", [200, 200]),
    ("post", "/api/v1/relationships/{relationship_id}/issues", [201, 201]),
    ("post", "/api/v1/relationships/{relationship_id}/issues/{issue_id}/comments", [201, 201]),
    ("post", "/api/v1/relationships/{relationship_id}/issues/{issue_id}/proposals", [200, 200]),
    // The proposal waiting is party B's own: B's answer is refused by the rule (422), not by authorization.
    ("post", "/api/v1/relationships/{relationship_id}/issues/{issue_id}/responses", [422, 422]),
    ("post", "/api/v1/relationships/{relationship_id}/issues/{issue_id}/escalations", [200, 403]),
    ("post", "/api/v1/relationships/{relationship_id}/issues/{issue_id}/withdrawals", [403, 403]),
    ("put", "/api/v1/relationships/{relationship_id}/ladder", [200, 200]),
    ("post", "/relationships/{relationship_id}/kpis", [303, 303]),
    ("post", "/relationships/{relationship_id}/kpis/{kpi_id}/measurements", [303, 303]),
    ("post", "/relationships/{relationship_id}/kpis/{kpi_id}/measurements/{measurement_id}/retract", [303, 303]),
    ("post", "/relationships/{relationship_id}/kpis/{kpi_id}/versions", [303, 303]),
    ("post", "/relationships/{relationship_id}/objectives", [303, 303]),
    ("post", "/relationships/{relationship_id}/objectives/{objective_id}/reviews", [303, 303]),
    ("post", "/relationships/{relationship_id}/obligations", [303, 303]),
    ("post", "/relationships/{relationship_id}/obligations/{obligation_id}", [303, 303]),
    ("post", "/relationships/{relationship_id}/actions", [303, 303]),
    ("post", "/relationships/{relationship_id}/actions/{action_id}", [303, 303]),
    ("post", "/api/v1/relationships/{relationship_id}/reviews", [201, 201]),
    ("put", "/api/v1/relationships/{relationship_id}/reviews/{series_id}", [200, 200]),
    ("post", "/api/v1/relationships/{relationship_id}/reviews/{series_id}/meetings", [201, 201]),
    ("post", "/api/v1/relationships/{relationship_id}/meetings/{meeting_id}/changes", [200, 200]),
    ("post", "/relationships/{relationship_id}/reviews", [303, 303]),
    ("post", "/relationships/{relationship_id}/reviews/{series_id}", [303, 303]),
    ("post", "/relationships/{relationship_id}/reviews/{series_id}/meetings", [303, 303]),
    ("post", "/relationships/{relationship_id}/meetings/{meeting_id}", [303, 303]),
    ("post", "/relationships/{relationship_id}/import", [200, 200]),
    ("post", "/relationships/{relationship_id}/import/apply", [303, 303]),
    ("post", "/relationships/{relationship_id}/issues", [303, 303]),
    ("post", "/relationships/{relationship_id}/issues/{issue_id}/comments", [303, 303]),
    ("post", "/relationships/{relationship_id}/issues/{issue_id}/proposals", [303, 303]),
    ("post", "/relationships/{relationship_id}/issues/{issue_id}/responses", [422, 422]),
    ("post", "/relationships/{relationship_id}/issues/{issue_id}/escalations", [303, 403]),
    ("post", "/relationships/{relationship_id}/issues/{issue_id}/withdrawals", [403, 403]),
    ("post", "/relationships/{relationship_id}/ladder", [303, 303]),
    // A signature is always for the signer's own party: B's SER and B's named signer sign for B.
    ("post", "/api/v1/relationships/{relationship_id}/records/{record_id}/signatures", [201, 201]),
    ("post", "/relationships/{relationship_id}/records/{record_id}/sign", [303, 303]),
    ("post", "/api/v1/relationships/{relationship_id}/records/{record_id}/addenda", [201, 201]),
    ("post", "/relationships/{relationship_id}/records/{record_id}/addenda", [303, 303]),
];

/// A measurements file for the import routes.
const IMPORT_CSV: &str = "KPI,period,value,comment\nBerth availability,2026-02,97.5,from the berth log\n";

/// What a request needs to be well-formed, so that only authorization decides its answer.
fn body(method: &str, path: &str) -> Option<(&'static str, String)> {
    let json = |v: serde_json::Value| Some(("application/json", v.to_string()));
    let form = |f: &str| Some(("application/x-www-form-urlencoded", format!("csrf={CSRF}&{f}")));
    match (method, path) {
        ("post", "/api/v1/organisations") => json(serde_json::json!({"name": "Brand New Ltd"})),
        ("post", "/api/v1/relationships") => json(serde_json::json!({
            "name": "Brand new", "start_date": "2026-01-01", "time_zone": "UTC", "parties": ["Northshore", "Keystone"]})),
        ("patch", "/api/v1/relationships/{relationship_id}") => json(serde_json::json!({"version": 1, "purpose": "Changed"})),
        ("post", "/api/v1/relationships/{relationship_id}/members") => {
            json(serde_json::json!({"email": "spare@northshore.example", "role": "contributor"}))
        }
        ("put", "/api/v1/relationships/{relationship_id}/members/{user_id}") => json(serde_json::json!({"role": "observer"})),
        (_, "/login") if method == "post" => form("email=ser%40northshore.example&password=wrong"),
        (_, "/reset/{token}") if method == "post" => form("password=a+new+long+password&confirm=a+new+long+password"),
        (_, "/invitations/{token}") if method == "post" => form("name=New+Person&password=a+new+long+password&confirm=a+new+long+password"),
        (_, "/account/password") => form("current=wrong&password=a+new+long+password&confirm=a+new+long+password"),
        (_, "/account/tokens") => form("name=script"),
        (_, "/admin/organisations") if method == "post" => form("name=Brand+New+Ltd"),
        (_, "/admin/users") if method == "post" => {
            form("email=brand.new%40northshore.example&name=Brand+New&organisation={organisation_id}")
        }
        (_, "/setup/{secret}") if method == "post" => {
            form("name=Root&email=root%40site.example&password=a+long+password&confirm=a+long+password")
        }
        (_, "/relationships/new") if method == "post" => form(
            "rows=2&name=Brand+new&start_date=2026-01-01&time_zone=UTC&organisation_0={organisation_id}&new_1=Brand+New+Ltd&ser_1=boss%40brand.example",
        ),
        (_, "/relationships/{relationship_id}/invitations") => form("email=another%40northshore.example&role=contributor"),
        (_, "/relationships/{relationship_id}/members/{user_id}/role") => form("role=observer"),
        // Confirmed, so that the cell exercises the change itself, not only its confirmation step.
        (
            _,
            "/relationships/{relationship_id}/members/{user_id}/remove" | "/relationships/{relationship_id}/members/{user_id}/succession",
        )
        | (_, "/admin/users/{user_id}/disable") => form("confirm=yes"),
        ("post", "/api/v1/relationships/{relationship_id}/objectives") => {
            json(serde_json::json!({"title": "Grow", "parties": ["{party_id}"]}))
        }
        ("post", "/api/v1/relationships/{relationship_id}/objectives/{objective_id}/reviews") => {
            json(serde_json::json!({"version": 1, "verdict": "relevant", "reason": "Still right"}))
        }
        ("post", "/api/v1/relationships/{relationship_id}/kpis") => {
            json(serde_json::json!({"name": "New KPI", "direction": "higher", "cadence": "monthly", "target": 10, "amber": 8, "red": 5}))
        }
        ("post", "/api/v1/relationships/{relationship_id}/kpis/{kpi_id}/versions") => {
            json(serde_json::json!({"version": 1, "effective_from": "2027-01", "target": 12, "amber": 9, "red": 6}))
        }
        ("post", "/api/v1/relationships/{relationship_id}/measurements") => {
            json(serde_json::json!({"kpi_id": "{kpi_id}", "period": "2026-02", "value": 7}))
        }
        ("post", "/api/v1/relationships/{relationship_id}/measurements/import") => Some(("text/csv", IMPORT_CSV.to_owned())),
        ("post", "/api/v1/relationships/{relationship_id}/issues") => {
            json(serde_json::json!({"title": "Gate 3 closed", "severity": "high"}))
        }
        ("post", "/api/v1/relationships/{relationship_id}/issues/{issue_id}/responses") => json(serde_json::json!({"answer": "accept"})),
        ("post", p) if p.starts_with("/api/v1/relationships/{relationship_id}/issues/{issue_id}/") => {
            json(serde_json::json!({"body": "Because"}))
        }
        ("put", "/api/v1/relationships/{relationship_id}/ladder") => {
            json(serde_json::json!({"version": 1, "levels": [{"name": "Working level", "roles": ["jmt"], "limit": "5 working days"}]}))
        }
        ("put", "/api/v1/relationships/{relationship_id}/holidays") => {
            json(serde_json::json!({"party": "{party_id}", "lines": "2026-12-25 Christmas Day"}))
        }
        (_, "/relationships/{relationship_id}/issues") if method == "post" => form("title=Gate+3+closed&severity=high"),
        (_, "/relationships/{relationship_id}/issues/{issue_id}/responses") => form("answer=accept"),
        (_, p) if p.starts_with("/relationships/{relationship_id}/issues/{issue_id}/") => form("body=Because"),
        (_, "/relationships/{relationship_id}/ladder") if method == "post" => form(
            "version=1&levels%5B0%5D.name=Working+level&levels%5B0%5D.roles=jmt&levels%5B0%5D.amount=5&levels%5B0%5D.unit=working+days",
        ),
        (_, "/relationships/{relationship_id}/holidays") => form("party={party_id}&days%5B0%5D.date=2026-12-25&days%5B0%5D.name=Christmas"),
        ("post", "/api/v1/relationships/{relationship_id}/records/{record_id}/signatures") => {
            json(serde_json::json!({"hash": "{record_hash}"}))
        }
        ("post", "/api/v1/relationships/{relationship_id}/records/{record_id}/addenda") => {
            json(serde_json::json!({"title": "Correction", "text": "The berth is 4, not 3"}))
        }
        (_, "/relationships/{relationship_id}/records/{record_id}/sign") => form("hash={record_hash}"),
        (_, "/relationships/{relationship_id}/records/{record_id}/addenda") => form("title=Correction&text=The+berth+is+4%2C+not+3"),
        ("post", "/api/v1/relationships/{relationship_id}/obligations") => {
            json(serde_json::json!({"party": "{party_id}", "title": "Deliver", "due_date": "2026-06-01"}))
        }
        ("patch", "/api/v1/relationships/{relationship_id}/obligations/{obligation_id}") => {
            json(serde_json::json!({"version": 1, "status": "on_track", "evidence": "x"}))
        }
        ("post", "/api/v1/relationships/{relationship_id}/actions") => {
            json(serde_json::json!({"title": "Do it", "due_date": "2026-04-01"}))
        }
        ("patch", "/api/v1/relationships/{relationship_id}/actions/{action_id}") => {
            json(serde_json::json!({"version": 1, "status": "done"}))
        }
        (_, "/relationships/{relationship_id}/kpis") => form("name=New+KPI&direction=higher&cadence=monthly&target=10&amber=8&red=5"),
        (_, "/relationships/{relationship_id}/kpis/{kpi_id}/measurements") => form("period=2026-02&value=7"),
        ("post", "/api/v1/relationships/{relationship_id}/kpis/{kpi_id}/measurements/{measurement_id}/retract") => {
            json(serde_json::json!({"reason": "Typed into the wrong KPI"}))
        }
        (_, "/relationships/{relationship_id}/kpis/{kpi_id}/measurements/{measurement_id}/retract") => {
            form("confirm=yes&reason=Typed+into+the+wrong+KPI")
        }
        (_, "/relationships/{relationship_id}/kpis/{kpi_id}/versions") => form("version=1&effective_from=2027-01&target=12&amber=9&red=6"),
        (_, "/relationships/{relationship_id}/objectives") if method == "post" => form("title=Grow&parties={party_id}"),
        (_, "/relationships/{relationship_id}/objectives/{objective_id}/reviews") => form("version=1&verdict=relevant&reason=Still+right"),
        (_, "/relationships/{relationship_id}/obligations") if method == "post" => {
            form("party={party_id}&title=Deliver&due_date=2026-06-01")
        }
        (_, "/relationships/{relationship_id}/obligations/{obligation_id}") => form("version=1&status=on_track&evidence=x"),
        (_, "/relationships/{relationship_id}/actions") if method == "post" => form("title=Do+it&due_date=2026-04-01"),
        (_, "/relationships/{relationship_id}/actions/{action_id}") => form("version=1&status=done"),
        (_, "/relationships/{relationship_id}/import") if method == "post" => Some((
            "multipart/form-data; boundary=XyZ",
            format!(
                "--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{CSRF}\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"m.csv\"\r\nContent-Type: text/csv\r\n\r\n{IMPORT_CSV}\r\n--XyZ--\r\n"
            ),
        )),
        (_, "/relationships/{relationship_id}/import/apply") => {
            use base64::Engine;
            let content = base64::engine::general_purpose::STANDARD.encode(IMPORT_CSV);
            let query = [("file_name", "m.csv"), ("content", content.as_str()), ("sha256", &accord_sheets::sha256(IMPORT_CSV.as_bytes()))];
            form(reqwest::Url::parse_with_params("http://x/", query).unwrap().query().unwrap_or_default())
        }
        ("post", "/api/v1/relationships/{relationship_id}/reviews") => json(
            serde_json::json!({"name": "Commercial review", "kind": "ser", "cadence": "quarterly", "chairs": ["{chair_a}", "{chair_b}"]}),
        ),
        ("put", "/api/v1/relationships/{relationship_id}/reviews/{series_id}") => json(serde_json::json!({
            "version": 1, "name": "JMT", "kind": "jmt", "cadence": "2 weeks", "chairs": ["{chair_a}", "{chair_b}"], "invited_roles": ["jmt"]})),
        ("post", "/api/v1/relationships/{relationship_id}/reviews/{series_id}/meetings") => {
            json(serde_json::json!({"date": "2026-05-01", "time": "10:00"}))
        }
        ("post", "/api/v1/relationships/{relationship_id}/meetings/{meeting_id}/changes") => {
            json(serde_json::json!({"change": "add_item", "version": 1, "title": "Winter timetable"}))
        }
        (_, "/relationships/{relationship_id}/reviews") if method == "post" => {
            form("name=Commercial+review&kind=ser&cadence=quarterly&chairs={chair_a}&chairs={chair_b}")
        }
        (_, "/relationships/{relationship_id}/reviews/{series_id}") => {
            form("version=1&name=JMT&kind=jmt&cadence=monthly&chairs={chair_a}&chairs={chair_b}&invited_roles=jmt")
        }
        (_, "/relationships/{relationship_id}/reviews/{series_id}/meetings") => form("date=2026-05-01&time=10%3A00"),
        (_, "/relationships/{relationship_id}/meetings/{meeting_id}") => form("change=add_item&version=1&title=Winter+timetable"),
        ("post", _) if !path.starts_with("/api/") => form(""),
        _ => None,
    }
}

const CSRF: &str = "0123456789abcdef0123456789abcdef";

/// One caller's credentials in the prepared database.
struct Caller {
    token: String,
    token_id: Uuid,
    session: String,
}

/// The prepared database and the ids its routes need.
struct World {
    file: PathBuf,
    callers: Vec<Option<Caller>>,
    params: HashMap<&'static str, String>,
}

fn at(minutes: i64) -> Timestamp {
    "2026-03-02T09:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_mins(minutes)
}

async fn prepare(dir: &Path) -> World {
    let file = dir.join("template.db");
    let store = SqliteStore::open(&file).unwrap();
    store.migrate().await.unwrap();
    let now = at(0);
    let org = |name: &str| store.create_organisation(Name::parse(name).unwrap(), None, now);
    let (a, b, d) = (org("Northshore").await.unwrap(), org("Keystone").await.unwrap(), org("Distant").await.unwrap());
    // A setup link made before the first administrator, dead once they exist.
    let setup_secret = secrets::random_hex::<32>();
    assert!(store.open_setup(&secrets::token_hash(&setup_secret), now).await.unwrap());
    let hash = secrets::hash_password("a long password").unwrap();
    let mut users = HashMap::new();
    for (key, email, org_id, admin) in [
        ("non-member", "outsider@northshore.example", a.id, false),
        ("other relationship", "other@distant.example", d.id, false),
        ("observer", "observer@northshore.example", a.id, false),
        ("contributor", "contributor@northshore.example", a.id, false),
        ("jmt", "jmt@northshore.example", a.id, false),
        ("ser", "ser@northshore.example", a.id, false),
        ("site admin", "admin@site.example", a.id, true),
        ("target", "target@northshore.example", a.id, false),
        ("spare", "spare@northshore.example", a.id, false),
        ("ser b", "ser@keystone.example", b.id, false),
        ("jmt b", "jmt@keystone.example", b.id, false),
    ] {
        let new = NewUser {
            email: Email::parse(email).unwrap(),
            name: Name::parse(key).unwrap(),
            organisation_id: Some(org_id),
            is_admin: admin,
            password_hash: Some(hash.clone()),
        };
        users.insert(key, store.create_user(new, None, now).await.unwrap());
    }
    let relationship = |name: &'static str, parties: Vec<Uuid>| {
        let input = RelationshipInput { name, purpose: "", start_date: "2026-01-01", time_zone: "Europe/London" };
        NewRelationship::parse(input, Some(parties), Invalid::default()).unwrap()
    };
    let harbour = store.create_relationship(relationship("Harbour", vec![a.id, b.id]), None, now).await.unwrap();
    let other = store.create_relationship(relationship("Other", vec![b.id, d.id]), None, now).await.unwrap();
    for (key, role) in [
        ("observer", Role::Observer),
        ("contributor", Role::Contributor),
        ("jmt", Role::Jmt),
        ("ser", Role::Ser),
        ("target", Role::Contributor),
        ("ser b", Role::Ser),
        ("jmt b", Role::Jmt),
    ] {
        store.add_member(harbour.id, users[key].id, role, None, now).await.unwrap();
    }
    store.add_member(other.id, users["other relationship"].id, Role::Ser, None, now).await.unwrap();

    let mut callers = vec![None];
    // The callers of `WHO` (but anonymous), then those of `OTHER_PARTY_WHO`.
    for who in WHO[1..].iter().chain(&OTHER_PARTY_WHO) {
        let user = &users[who];
        let (token, token_hash) = secrets::new_token();
        let token_id = store.create_token(user.id, Name::parse("t").unwrap(), &token_hash, now).await.unwrap().id;
        let session = secrets::random_hex::<32>();
        store.create_session(&secrets::token_hash(&session), user.id, now, at(600), at(6000)).await.unwrap();
        callers.push(Some(Caller { token, token_id, session }));
    }
    let (invitation_token, invitation_hash) = secrets::new_token();
    let invitation = NewInvitation {
        relationship_id: harbour.id,
        party_id: store.parties(harbour.id).await.unwrap()[0].id,
        email: Email::parse("invitee@northshore.example").unwrap(),
        role: Role::Contributor,
        token_hash: invitation_hash,
        expires_at: at(60 * 24),
    };
    let invitation = store.create_invitation(invitation, users["jmt"].id, now).await.unwrap();
    let (reset_token, reset_hash) = secrets::new_token();
    store.create_password_reset(users["spare"].id, &reset_hash, at(600), None, now).await.unwrap();
    let party_a = store.parties(harbour.id).await.unwrap()[0].id;
    let party_b = store.parties(harbour.id).await.unwrap()[1].id;
    let jmt = users["jmt"].id;
    let objective = store
        .create_objective(
            NewObjective {
                relationship_id: harbour.id,
                title: "Keep the port open".into(),
                description: String::new(),
                parties: vec![party_a],
                review_months: 6,
                next_review: "2026-09-01".parse().unwrap(),
            },
            jmt,
            now,
        )
        .await
        .unwrap();
    let thresholds = Thresholds::new(Direction::Higher, 98.0, 95.0, 90.0).unwrap();
    let kpi = NewKpi {
        relationship_id: harbour.id,
        name: "Berth availability".into(),
        definition: String::new(),
        unit: "%".into(),
        cadence: Cadence::Monthly,
        party_id: Some(party_b),
        reporter_id: Some(users["ser b"].id),
        objectives: vec![objective.id],
        thresholds,
        effective_from: "2026-01-01".parse().unwrap(),
    };
    let kpi = store.create_kpi(kpi, jmt, now).await.unwrap();
    let value = MeasurementInput { kpi_id: kpi.id, period_start: "2026-01-01".parse().unwrap(), value: 97.0, comment: String::new() };
    let measurement = store.record_measurement(harbour.id, value, jmt, now).await.unwrap();
    let obligation = NewObligation {
        relationship_id: harbour.id,
        party_id: party_a,
        title: "Berth plan".into(),
        description: String::new(),
        recurrence: "monthly".into(),
        due_date: "2026-04-01".parse().unwrap(),
    };
    let obligation = store.create_obligation(obligation, jmt, now).await.unwrap();
    let action = NewAction {
        relationship_id: harbour.id,
        title: "Fix it".into(),
        description: String::new(),
        owner_id: Some(users["target"].id),
        party_id: party_a,
        due_date: "2026-04-01".parse().unwrap(),
        source: None,
    };
    let action = store.create_action(action, jmt, now).await.unwrap();
    let issue = |title: &str| NewIssue {
        relationship_id: harbour.id,
        title: title.into(),
        description: String::new(),
        category: "delivery".into(),
        severity: "medium".into(),
        links: vec![],
    };
    let open_issue = store.create_issue(issue("Berth 4 fenders damaged"), users["target"].id, now).await.unwrap();
    let proposed = store.create_issue(issue("Crane double-booked"), users["target"].id, now).await.unwrap();
    store.propose_resolution(harbour.id, proposed.id, "Book through the port".into(), users["ser b"].id, now).await.unwrap();
    // A record waiting on both parties (A's JMT and B's JMT named to sign), and a sealed one.
    let statement = |title: &str, subject: u128| accord_store::PutRecord {
        relationship_id: harbour.id,
        kind: accord_domain::records::SubjectKind::Statement,
        subject_id: Uuid::from_u128(subject),
        title: title.into(),
        link: format!("/relationships/{}", harbour.id),
        content: serde_json::json!({"intent": title}),
        signers: vec![(party_a, jmt), (party_b, users["jmt b"].id)],
    };
    let record = store.put_record(statement("Statement of intent", 1), Some(jmt), now).await.unwrap();
    let sealed = store.put_record(statement("Joint charter", 2), Some(jmt), now).await.unwrap();
    for signer in [users["ser"].id, users["ser b"].id] {
        store.sign_record(harbour.id, sealed.id, sealed.hash.clone(), signer, now).await.unwrap();
    }
    let series = accord_store::SeriesInput {
        relationship_id: harbour.id,
        name: "JMT".into(),
        kind: accord_domain::review::ReviewKind::Jmt,
        cadence: accord_domain::review::Cadence::MONTHLY,
        chairs: vec![(party_a, users["ser"].id), (party_b, users["ser b"].id)],
        invited_roles: vec![Role::Jmt],
        invitees: vec![],
    };
    let series = store.create_series(series, jmt, now).await.unwrap();
    let time = accord_domain::review::MeetingTime::parse("2026-04-02", "10:00", "", "60", "Europe/London").unwrap();
    let meeting = accord_store::NewMeeting { relationship_id: harbour.id, series_id: series.id, time, place: Default::default() };
    let meeting = store.schedule_meeting(meeting, jmt, now).await.unwrap();
    drop(store);
    // Fold the write-ahead log into the file, so that a copy of the file alone is complete.
    rusqlite::Connection::open(&file).unwrap().execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;").unwrap();

    let params = HashMap::from([
        ("{relationship_id}", harbour.id.to_string()),
        ("{organisation_id}", a.id.to_string()),
        ("{user_id}", users["target"].id.to_string()),
        ("{invitation_id}", invitation.id.to_string()),
        ("{party_id}", party_a.to_string()),
        ("{objective_id}", objective.id.to_string()),
        ("{kpi_id}", kpi.id.to_string()),
        ("{measurement_id}", measurement.id.to_string()),
        ("{obligation_id}", obligation.id.to_string()),
        ("{action_id}", action.id.to_string()),
        ("{issue_id}", open_issue.id.to_string()),
        ("{proposed_issue_id}", proposed.id.to_string()),
        ("{notification_id}", Uuid::now_v7().to_string()),
        ("{record_id}", record.id.to_string()),
        ("{record_hash}", record.hash.clone()),
        ("{sealed_record_id}", sealed.id.to_string()),
        ("{series_id}", series.id.to_string()),
        ("{meeting_id}", meeting.line.id.to_string()),
        ("{chair_a}", users["ser"].id.to_string()),
        ("{chair_b}", users["ser b"].id.to_string()),
    ]);
    let mut world = World { file, callers, params };
    world.params.insert("{invitation_token}", invitation_token);
    world.params.insert("{reset_token}", reset_token);
    world.params.insert("{secret}", setup_secret);
    world
}

/// The status one caller gets for one route, on a fresh copy of the prepared database.
async fn status(world: &World, dir: &Path, cell: usize, who: usize, method: &str, path: &str) -> u16 {
    let file = dir.join(format!("cell-{cell}.db"));
    std::fs::copy(&world.file, &file).unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&file).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(store, Arc::new(ManualClock::new(at(1))), &base);
    state.ready.store(true, Ordering::Release);
    let server = tokio::spawn(accord_web::serve(listener, accord_web::router(state)));

    let file = if path.contains("/kpis/") { "history.xlsx" } else { "scorecard.csv" };
    let mut url = path.replace("{file}", file);
    // Answering needs an issue with a proposal waiting.
    if path.ends_with("/responses") {
        url = url.replace("{issue_id}", "{proposed_issue_id}");
    }
    // An addendum is added to a sealed record.
    if path.ends_with("/addenda") {
        url = url.replace("{record_id}", "{sealed_record_id}");
    }
    for (key, value) in &world.params {
        url = url.replace(key, value);
    }
    let token = if path.starts_with("/reset/") { &world.params["{reset_token}"] } else { &world.params["{invitation_token}"] };
    url = url.replace("{token}", token);

    if let Some(caller) = &world.callers[who] {
        url = url.replace("{token_id}", &caller.token_id.to_string());
    }
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut request = client.request(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(), format!("{base}{url}"));
    let mut cookies = format!("accord_csrf={CSRF}");
    if let Some(caller) = &world.callers[who] {
        if path.starts_with("/api/") {
            request = request.bearer_auth(&caller.token);
        } else {
            cookies.push_str(&format!("; accord_session={}", caller.session));
        }
    }
    request = request.header("cookie", cookies);
    if method == "get" && path.ends_with("/measurements") {
        request = request.query(&[("kpi_id", &world.params["{kpi_id}"])]);
    }
    if let Some((content_type, mut body)) = body(method, path) {
        for (key, value) in &world.params {
            body = body.replace(key, value);
        }
        request = request.header("content-type", content_type).body(body);
    }
    let status = request.send().await.unwrap().status().as_u16();
    server.abort();
    let _ = std::fs::remove_file(file);
    status
}

/// Every route the server has: the page list, the OpenAPI document's paths, and the probes.
fn all_routes() -> Vec<(String, String)> {
    let mut routes: Vec<(String, String)> = accord_web::pages::routes().iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    let (_, openapi) = accord_web::api::router().split_for_parts();
    for (path, item) in openapi.paths.paths {
        for (method, op) in [("get", &item.get), ("post", &item.post), ("put", &item.put), ("patch", &item.patch), ("delete", &item.delete)]
        {
            if op.is_some() {
                routes.push((method.to_owned(), path.clone()));
            }
        }
    }
    routes.extend([("get", "/healthz"), ("get", "/readyz"), ("get", "/api/openapi.json")].map(|(m, p)| (m.to_owned(), p.to_owned())));
    routes
}

#[tokio::test]
async fn every_route_has_a_row_and_every_row_a_route() {
    let routes = all_routes();
    let missing: Vec<_> = routes.iter().filter(|(m, p)| !MATRIX.iter().any(|(mm, pp, _)| mm == m && pp == p)).collect();
    assert!(missing.is_empty(), "routes without a row in the authorization matrix: {missing:?}");
    let stale: Vec<_> =
        MATRIX.iter().filter(|(m, p, _)| !routes.iter().any(|(mm, pp)| mm == m && pp == p)).map(|(m, p, _)| (m, p)).collect();
    assert!(stale.is_empty(), "rows for routes that no longer exist: {stale:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_every_caller_as_the_matrix_says() {
    let dir = std::env::temp_dir().join(format!("accord-authz-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let world = prepare(&dir).await;
    let mut wrong = Vec::new();
    let mut cell = 0;
    for (method, path, expected) in MATRIX {
        for (who, want) in expected.iter().enumerate() {
            cell += 1;
            let got = status(&world, &dir, cell, who, method, path).await;
            if got != *want {
                wrong.push(format!("{} {path} as {}: expected {want}, got {got}", method.to_uppercase(), WHO[who]));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(wrong.is_empty(), "{} of {cell} cells differ:\n{}", wrong.len(), wrong.join("\n"));
}

/// The relationship's write routes: what the other party's SER and JMT must each have a row for.
fn relationship_writes() -> Vec<(String, String)> {
    all_routes().into_iter().filter(|(m, p)| m != "get" && p.contains("{relationship_id}")).collect()
}

#[tokio::test]
async fn every_relationship_write_has_a_row_for_the_other_party() {
    let writes = relationship_writes();
    let missing: Vec<_> = writes.iter().filter(|(m, p)| !OTHER_PARTY.iter().any(|(mm, pp, _)| mm == m && pp == p)).collect();
    assert!(missing.is_empty(), "relationship writes without a row in OTHER_PARTY: {missing:?}");
    let stale: Vec<_> =
        OTHER_PARTY.iter().filter(|(m, p, _)| !writes.iter().any(|(mm, pp)| mm == m && pp == p)).map(|(m, p, _)| (m, p)).collect();
    assert!(stale.is_empty(), "OTHER_PARTY rows for routes that are not relationship writes: {stale:?}");
}

/// A member of party B tries every relationship write, on party A's things where it names a party.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_partys_managers_are_refused_party_scoped_writes() {
    let dir = std::env::temp_dir().join(format!("accord-authz-party-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let world = prepare(&dir).await;
    let mut wrong = Vec::new();
    let mut cell = 0;
    for (method, path, expected) in OTHER_PARTY {
        for (i, want) in expected.iter().enumerate() {
            cell += 1;
            let got = status(&world, &dir, cell, WHO.len() + i, method, path).await;
            if got != *want {
                wrong.push(format!("{} {path} as {}: expected {want}, got {got}", method.to_uppercase(), OTHER_PARTY_WHO[i]));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(wrong.is_empty(), "{} of {cell} cells differ:\n{}", wrong.len(), wrong.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_form_refuses_a_post_without_the_csrf_token() {
    let dir = std::env::temp_dir().join(format!("accord-csrf-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let world = prepare(&dir).await;
    let ser = world.callers[6].as_ref().unwrap();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&world.file).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(store, Arc::new(ManualClock::new(at(1))), &base);
    tokio::spawn(accord_web::serve(listener, accord_web::router(state)));
    let mut checked = 0;
    for (method, path) in accord_web::pages::routes().iter().filter(|(m, _)| *m == "post") {
        let mut url = path.to_string();
        for (key, value) in &world.params {
            url = url.replace(key, value);
        }
        url = url.replace("{token}", &world.params["{invitation_token}"]).replace("{token_id}", &ser.token_id.to_string());
        for (cookie, sent) in [
            (format!("accord_session={}", ser.session), "csrf=forged"),
            (format!("accord_session={}; accord_csrf={CSRF}", ser.session), "csrf=forged"),
            (format!("accord_session={}; accord_csrf={CSRF}", ser.session), ""),
        ] {
            let response = client
                .post(format!("{base}{url}"))
                .header("cookie", cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(sent.to_owned())
                .send()
                .await
                .unwrap();
            // A dead setup link (this site has its administrator) is not found whatever is sent;
            // `first_run` checks a live one refuses a forged token.
            let want = if *path == "/setup/{secret}" { 404 } else { 403 };
            assert_eq!(response.status().as_u16(), want, "{method} {path} with cookie/field mismatch ({sent:?})");
        }
        // A form posted from another site is refused even with the right token.
        let response = client
            .post(format!("{base}{url}"))
            .header("cookie", format!("accord_session={}; accord_csrf={CSRF}", ser.session))
            .header("origin", "https://evil.example")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf={CSRF}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 403, "{method} {path} from another origin");
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} forms checked");
    // A browser session's state-changing API call needs the CSRF header too.
    let api = format!("{base}/api/v1/relationships/{}", world.params["{relationship_id}"]);
    let response = client
        .patch(&api)
        .header("cookie", format!("accord_session={}; accord_csrf={CSRF}", ser.session))
        .json(&serde_json::json!({"version": 1, "purpose": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let response = client
        .patch(&api)
        .header("cookie", format!("accord_session={}; accord_csrf={CSRF}", ser.session))
        .header("x-csrf-token", CSRF)
        .json(&serde_json::json!({"version": 1, "purpose": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let _ = std::fs::remove_dir_all(&dir);
}
