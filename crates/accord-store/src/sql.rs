//! Statements, and parts of statements, that are the same on both databases, written once.
//! Where a statement binds parameters the two number them differently (`?1` on SQLite, `$1` on
//! PostgreSQL): a backend passes those parts in (`viewer_sql!`). Statements tuned for one
//! database (SQLite's `INDEXED BY`, PostgreSQL's row locks) stay in that backend.

/// A user's columns, as [`crate::User::from_cells`] reads them.
#[macro_export]
macro_rules! user_columns {
    () => {
        "u.user_id, u.email, u.name, u.organisation_id, o.name, u.is_admin, u.disabled_at, u.created_at"
    };
}

/// Users with their organisation's name (NULL for none), as [`crate::User::from_cells`] reads them.
pub const USER: &str =
    concat!("SELECT ", user_columns!(), " FROM user_account u LEFT JOIN organisation o ON o.organisation_id = u.organisation_id");

/// Relationships, as [`crate::Relationship::from_cells`] reads them.
pub const RELATIONSHIP: &str = "SELECT r.relationship_id, r.name, r.purpose, r.start_date, r.status, r.time_zone, r.version, r.created_at, r.updated_at FROM relationship r";

/// Members by party (in the order the parties joined), then role (SER first), then name.
pub const MEMBER_ORDER: &str =
    "ORDER BY p.joined_at, p.party_id, CASE m.role WHEN 'ser' THEN 0 WHEN 'jmt' THEN 1 WHEN 'contributor' THEN 2 ELSE 3 END, u.name";

/// Audit events, as each backend's `event_row` reads them.
pub const EVENT: &str = "SELECT position, v, occurred_at, actor_id, party_id, kind, subject, summary, prev_hash, hash FROM audit_event";

/// Who is asking, the relationship and their membership in it, in one statement, as
/// [`crate::Viewer::from_cells`] reads it: `$relationship` is the relationship's parameter
/// (NULL for none), whose columns and the membership's follow the caller's and `$expiry` (a
/// session's idle and absolute expiries, NULL for a token); `c` is the credential's row (a
/// `$credential`: `session` or `api_token`), chosen by `$valid`.
#[macro_export]
macro_rules! viewer_sql {
    ($expiry:literal, $credential:literal, $valid:literal, $relationship:literal) => {
        concat!(
            "SELECT ",
            $crate::user_columns!(),
            ", ",
            $expiry,
            ",
            r.relationship_id, r.name, r.purpose, r.start_date, r.status, r.time_zone, r.version, r.created_at, r.updated_at,
            m.membership_id, m.relationship_id, m.party_id, mo.name, m.user_id, u.name, u.email, m.role, m.joined_at, m.left_at
            FROM ",
            $credential,
            " c JOIN user_account u ON u.user_id = c.user_id LEFT JOIN organisation o ON o.organisation_id = u.organisation_id
            LEFT JOIN relationship r ON r.relationship_id = ",
            $relationship,
            "
            LEFT JOIN membership m ON m.relationship_id = r.relationship_id AND m.user_id = u.user_id AND m.left_at IS NULL
            LEFT JOIN party p ON p.relationship_id = m.relationship_id AND p.party_id = m.party_id
            LEFT JOIN organisation mo ON mo.organisation_id = p.organisation_id
            WHERE u.disabled_at IS NULL AND ",
            $valid
        )
    };
}
