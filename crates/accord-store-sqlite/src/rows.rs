//! How rows read as our types, and what every module's writes share: the audit chain's append, and
//! reading the relationship, its members and the users who act.

use super::*;

pub(super) fn user_row(r: &Row) -> rusqlite::Result<User> {
    User::from_cells(&RowCells(r))
}

pub(super) fn relationship_row(r: &Row) -> rusqlite::Result<Relationship> {
    relationship_at(r, 0)
}

/// The relationship whose columns start at `at`.
pub(super) fn relationship_at(r: &Row, at: usize) -> rusqlite::Result<Relationship> {
    Relationship::from_cells(&RowCells(r), at)
}

pub(super) const MEMBER: &str =
    "SELECT m.membership_id, m.relationship_id, m.party_id, o.name, m.user_id, u.name, u.email, m.role, m.joined_at, m.left_at
    FROM membership m
    JOIN user_account u INDEXED BY user_account_names ON u.user_id = m.user_id
    JOIN party p ON p.relationship_id = m.relationship_id AND p.party_id = m.party_id
    JOIN organisation o ON o.organisation_id = p.organisation_id";

pub(super) fn member_row(r: &Row) -> rusqlite::Result<Member> {
    member_at(r, 0)
}

/// The membership whose columns start at `at`.
pub(super) fn member_at(r: &Row, at: usize) -> rusqlite::Result<Member> {
    Member::from_cells(&RowCells(r), at)
}

pub(super) fn event_row(r: &Row) -> rusqlite::Result<Event> {
    let summary: String = r.get(7)?;
    Ok(Event {
        position: r.get(0)?,
        v: r.get(1)?,
        time: ts(r.get(2)?),
        actor: r.get(3)?,
        party: r.get(4)?,
        kind: r.get(5)?,
        subject: r.get(6)?,
        summary: serde_json::from_str(&summary).map_err(|e| conversion(7, e))?,
        prev_hash: r.get(8)?,
        hash: r.get(9)?,
    })
}

/// Appends `draft` to `chain`. The caller's IMMEDIATE transaction already serialises writers.
///
/// The event's party is its actor's own (their current membership of the chain's relationship;
/// none for the site administrator, the CLI and the server), read here with the chain's head
/// rather than passed by the caller, so that no write can name another party as the one that
/// acted: the party acted on goes in the summary.
pub(super) fn append(tx: &Connection, chain: Uuid, mut draft: Draft, now: Timestamp) -> R<Event> {
    let (head, party) = tx
        .prepare_cached(
            "SELECT h.position, h.hash, (SELECT m.party_id FROM membership m
                 WHERE m.relationship_id = h.relationship_id AND m.user_id = ?2 AND m.left_at IS NULL)
             FROM audit_head h WHERE h.relationship_id = ?1",
        )?
        .query_row(params![chain, draft.actor], |r| Ok((ChainHead { position: r.get(0)?, hash: r.get(1)? }, r.get(2)?)))
        .optional()?
        .ok_or(not_found("audit chain"))?;
    draft.party = party;
    let event = audit::seal(draft, (head.position > 0).then_some(&head), now);
    tx.prepare_cached(
        "INSERT INTO audit_event (relationship_id, position, v, occurred_at, actor_id, party_id, kind, subject, summary, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        chain,
        event.position,
        event.v,
        micros(event.time),
        event.actor,
        event.party,
        event.kind,
        event.subject,
        event.summary.to_string(),
        event.prev_hash,
        event.hash
    ])?;
    tx.prepare_cached("UPDATE audit_head SET position = ?2, hash = ?3 WHERE relationship_id = ?1")?.execute(params![
        chain,
        event.position,
        event.hash
    ])?;
    Ok(event)
}

pub(super) fn by_name_or_id<T>(
    conn: &Connection, select: &str, id_column: &str, name_or_id: &str, map: fn(&Row) -> rusqlite::Result<T>, what: &'static str,
) -> R<T> {
    let found = match parse_id(name_or_id) {
        Some(id) => conn.prepare_cached(&format!("{select} WHERE {id_column} = ?1"))?.query_row([id], map).optional()?,
        None => conn.prepare_cached(&format!("{select} WHERE name = ?1"))?.query_row([name_or_id.trim()], map).optional()?,
    };
    found.ok_or(not_found(what))
}

pub(super) fn get_user(conn: &Connection, id: Uuid) -> R<User> {
    conn.prepare_cached(&format!("{USER} WHERE u.user_id = ?1"))?.query_row([id], user_row).optional()?.ok_or(not_found("user"))
}

pub(super) fn get_relationship(conn: &Connection, id: Uuid) -> R<Relationship> {
    conn.prepare_cached(&format!("{RELATIONSHIP} WHERE r.relationship_id = ?1"))?
        .query_row([id], relationship_row)
        .optional()?
        .ok_or(not_found("relationship"))
}

pub(super) fn current_membership(conn: &Connection, relationship_id: Uuid, user_id: Uuid) -> R<Option<Member>> {
    Ok(conn
        .prepare_cached(&format!("{MEMBER} WHERE m.relationship_id = ?1 AND m.user_id = ?2 AND m.left_at IS NULL"))?
        .query_row([relationship_id, user_id], member_row)
        .optional()?)
}

pub(super) fn current_members(conn: &Connection, relationship_id: Uuid) -> R<Vec<CurrentMember>> {
    let mut stmt = conn.prepare_cached("SELECT user_id, party_id, role FROM membership WHERE relationship_id = ?1 AND left_at IS NULL")?;
    let rows = stmt.query_map([relationship_id], |r| {
        Ok(CurrentMember { user_id: r.get(0)?, party_id: r.get(1)?, role: text_as(r, 2, Role::parse)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Refuses a party-scoped write for `party_id` unless `actor` is one of that party's SER and JMT
/// members among `current` (`membership::check_party_write`) or, when `admin_may` (memberships,
/// which the site administrator administers), the site administrator: decided on what this
/// transaction reads, so that a role lost since the request was admitted no longer acts.
pub(super) fn require_party_writer(tx: &Connection, current: &[CurrentMember], actor: Uuid, party_id: Uuid, admin_may: bool) -> R<()> {
    use accord_store::relationships::decide::party_write;
    // The administrator is read only when the rule refuses the actor as a member.
    if party_write(current, actor, party_id, false).is_ok() {
        return Ok(());
    }
    Ok(party_write(current, actor, party_id, admin_may && get_user(tx, actor)?.is_admin)?)
}

pub(crate) fn parties(c: &Connection, relationship_id: Uuid) -> R<Vec<Party>> {
    let mut stmt = c.prepare_cached(
        "SELECT p.party_id, p.relationship_id, p.organisation_id, o.name, p.joined_at FROM party p
         JOIN organisation o ON o.organisation_id = p.organisation_id WHERE p.relationship_id = ?1 ORDER BY p.joined_at, p.party_id",
    )?;
    let rows = stmt.query_map([relationship_id], |r| Party::from_cells(&RowCells(r)))?;

    Ok(rows.collect::<Result<_, _>>()?)
}

/// The current members in `MEMBER_ORDER`. A relationship has a few parties and many members:
/// the parties' names are read once and the order made here, instead of two more lookups and a
/// sort per member in SQLite (most of the cost of every page that lists the members).
pub(crate) fn members_now(c: &Connection, relationship_id: Uuid) -> R<Vec<Member>> {
    let parties = parties(c, relationship_id)?;
    let mut stmt = c.prepare_cached(
        "SELECT m.membership_id, m.relationship_id, m.party_id, '', m.user_id, u.name, u.email, m.role, m.joined_at, m.left_at
         FROM membership m JOIN user_account u INDEXED BY user_account_names ON u.user_id = m.user_id WHERE m.relationship_id = ?1 AND m.left_at IS NULL",
    )?;
    let mut members: Vec<Member> = stmt.query_map([relationship_id], member_row)?.collect::<Result<_, _>>()?;
    let party_at = |id: Uuid| parties.iter().position(|p| p.id == id).unwrap_or(usize::MAX);
    for m in &mut members {
        m.organisation_name = parties.iter().find(|p| p.id == m.party_id).map(|p| p.organisation_name.clone()).unwrap_or_default();
    }
    // `Role` orders as MEMBER_ORDER does: SER, JMT, contributor, observer.
    members.sort_by(|a, b| (party_at(a.party_id), a.role, &a.name).cmp(&(party_at(b.party_id), b.role, &b.name)));
    Ok(members)
}

/// The latest events as pages list them, their summaries as stored.
pub(crate) fn recent_event_lines(c: &Connection, chain: Uuid, before_position: Option<i64>, limit: u32) -> R<Vec<EventLine>> {
    let select = "SELECT position, occurred_at, actor_id, party_id, kind, subject, summary, hash FROM audit_event";
    recent(c, select, chain, before_position, limit, |r| {
        Ok(EventLine {
            position: r.get(0)?,
            time: ts(r.get(1)?),
            actor: r.get(2)?,
            party: r.get(3)?,
            kind: r.get(4)?,
            subject: r.get(5)?,
            summary: r.get(6)?,
            hash: r.get(7)?,
        })
    })
}
