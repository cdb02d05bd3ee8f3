//! How rows read as our types, and the writes every module shares: the audit chain's append, memberships, users, sessions and invitations.

use super::*;

pub(super) const ORGANISATION: &str = "SELECT organisation_id, name, created_at FROM organisation";

pub(super) fn organisation_row(r: &Row) -> rusqlite::Result<Organisation> {
    Ok(Organisation { id: r.get(0)?, name: r.get(1)?, created_at: ts(r.get(2)?) })
}

/// The organisations `Visibility` shows, the user in `?1` (NULL: all): the user's own and the
/// parties to the relationships the user is a current member of.
pub(super) const VISIBLE: &str = "(?1 IS NULL OR organisation_id = (SELECT organisation_id FROM user_account WHERE user_id = ?1)
    OR organisation_id IN (SELECT p.organisation_id FROM membership m JOIN party p ON p.relationship_id = m.relationship_id
        WHERE m.user_id = ?1 AND m.left_at IS NULL))";

/// Names stored before their skeletons were (V12) get one; of two old names that look alike, the
/// first keeps it, so a new name like either is still refused.
pub(super) fn fill_name_skeletons(tx: &Connection) -> R<()> {
    let missing: Vec<(Uuid, String)> = tx
        .prepare("SELECT organisation_id, name FROM organisation WHERE name_skeleton IS NULL ORDER BY organisation_id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (id, name) in missing {
        tx.execute(
            "UPDATE organisation SET name_skeleton = ?2 WHERE organisation_id = ?1 AND NOT EXISTS (SELECT 1 FROM organisation WHERE name_skeleton = ?2)",
            params![id, accord_domain::text::skeleton(&name)],
        )?;
    }
    Ok(())
}

/// A user's columns, as `user_row` reads them.
macro_rules! user_columns {
    () => {
        "u.user_id, u.email, u.name, u.organisation_id, o.name, u.is_admin, u.disabled_at, u.created_at"
    };
}

pub(super) const USER: &str =
    concat!("SELECT ", user_columns!(), " FROM user_account u JOIN organisation o ON o.organisation_id = u.organisation_id");

pub(super) fn user_row(r: &Row) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        organisation_id: r.get(3)?,
        organisation_name: r.get(4)?,
        is_admin: r.get(5)?,
        disabled: r.get::<_, Option<i64>>(6)?.is_some(),
        created_at: ts(r.get(7)?),
    })
}

pub(super) const RELATIONSHIP: &str = "SELECT r.relationship_id, r.name, r.purpose, r.start_date, r.status, r.time_zone, r.version, r.created_at, r.updated_at FROM relationship r";

pub(super) fn relationship_row(r: &Row) -> rusqlite::Result<Relationship> {
    relationship_at(r, 0)
}

/// The relationship whose columns start at `at`.
pub(super) fn relationship_at(r: &Row, at: usize) -> rusqlite::Result<Relationship> {
    Ok(Relationship {
        id: r.get(at)?,
        name: r.get(at + 1)?,
        purpose: r.get(at + 2)?,
        start_date: date(r, at + 3)?,
        status: text_as(r, at + 4, Status::parse)?,
        time_zone: r.get(at + 5)?,
        version: r.get(at + 6)?,
        created_at: ts(r.get(at + 7)?),
        updated_at: ts(r.get(at + 8)?),
    })
}

pub(super) const MEMBER: &str =
    "SELECT m.membership_id, m.relationship_id, m.party_id, o.name, m.user_id, u.name, u.email, m.role, m.joined_at, m.left_at
    FROM membership m
    JOIN user_account u INDEXED BY user_account_names ON u.user_id = m.user_id
    JOIN party p ON p.relationship_id = m.relationship_id AND p.party_id = m.party_id
    JOIN organisation o ON o.organisation_id = p.organisation_id";

pub(super) const MEMBER_ORDER: &str =
    "ORDER BY p.joined_at, p.party_id, CASE m.role WHEN 'ser' THEN 0 WHEN 'jmt' THEN 1 WHEN 'contributor' THEN 2 ELSE 3 END, u.name";

pub(super) fn member_row(r: &Row) -> rusqlite::Result<Member> {
    member_at(r, 0)
}

/// The membership whose columns start at `at`.
pub(super) fn member_at(r: &Row, at: usize) -> rusqlite::Result<Member> {
    Ok(Member {
        id: r.get(at)?,
        relationship_id: r.get(at + 1)?,
        party_id: r.get(at + 2)?,
        organisation_name: r.get(at + 3)?,
        user_id: r.get(at + 4)?,
        name: r.get(at + 5)?,
        email: r.get(at + 6)?,
        role: text_as(r, at + 7, Role::parse)?,
        joined_at: ts(r.get(at + 8)?),
        left_at: r.get::<_, Option<i64>>(at + 9)?.map(ts),
    })
}

pub(super) const EVENT: &str =
    "SELECT position, v, occurred_at, actor_id, party_id, kind, subject, summary, prev_hash, hash FROM audit_event";

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
    conn: &Connection,
    select: &str,
    id_column: &str,
    name_or_id: &str,
    map: fn(&Row) -> rusqlite::Result<T>,
    what: &'static str,
) -> R<T> {
    let found = match parse_id(name_or_id) {
        Some(id) => conn.prepare_cached(&format!("{select} WHERE {id_column} = ?1"))?.query_row([id], map).optional()?,
        None => conn.prepare_cached(&format!("{select} WHERE name = ?1"))?.query_row([name_or_id.trim()], map).optional()?,
    };
    found.ok_or(not_found(what))
}

/// Refuses a reference to an organisation that does not exist, naming `field`.
pub(super) fn require_organisation(conn: &Connection, id: Uuid, field: &str) -> R<()> {
    match conn.prepare_cached("SELECT 1 FROM organisation WHERE organisation_id = ?1")?.query_row([id], |_| Ok(())).optional()? {
        Some(()) => Ok(()),
        None => Err(invalid(field, format!("no organisation has the id {id}"))),
    }
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

pub(super) fn membership_refused(e: MembershipError) -> Fail {
    let field = match e {
        MembershipError::SecondSer | MembershipError::SerMustHandOver | MembershipError::AlreadySer => "role",
        _ => "user",
    };
    invalid(field, e.to_string())
}

/// Refuses a party-scoped write for `party_id` unless `actor` is one of that party's SER and JMT
/// members among `current` (`membership::check_party_write`) or, when `admin_may` (memberships,
/// which the site administrator administers), the site administrator: decided on what this
/// transaction reads, so that a role lost since the request was admitted no longer acts.
pub(super) fn require_party_writer(tx: &Connection, current: &[CurrentMember], actor: Uuid, party_id: Uuid, admin_may: bool) -> R<()> {
    let Err(refused) = membership::check_party_write(current.iter().find(|m| m.user_id == actor), party_id) else { return Ok(()) };
    if admin_may && get_user(tx, actor)?.is_admin {
        return Ok(());
    }
    Err(Fail(StoreError::Forbidden(refused.message())))
}

pub(super) fn insert_membership(
    tx: &Connection,
    relationship_id: Uuid,
    party_id: Uuid,
    user_id: Uuid,
    role: Role,
    now: Timestamp,
) -> R<Uuid> {
    let id = new_id(now);
    tx.prepare_cached(
        "INSERT INTO membership (relationship_id, membership_id, party_id, user_id, role, joined_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![relationship_id, id, party_id, user_id, role.as_str(), micros(now)])?;
    Ok(id)
}

/// Ends the user's current membership period; with `role`, starts the next one with that role.
pub(super) fn end_period(tx: &Connection, relationship_id: Uuid, member: &CurrentMember, next_role: Option<Role>, now: Timestamp) -> R<()> {
    tx.prepare_cached("UPDATE membership SET left_at = ?3 WHERE relationship_id = ?1 AND user_id = ?2 AND left_at IS NULL")?
        .execute(params![relationship_id, member.user_id, micros(now)])?;
    if let Some(role) = next_role {
        insert_membership(tx, relationship_id, member.party_id, member.user_id, role, now)?;
    }
    Ok(())
}

pub(super) fn find_current(current: &[CurrentMember], user_id: Uuid) -> R<CurrentMember> {
    current.iter().find(|m| m.user_id == user_id).copied().ok_or(not_found("member"))
}

pub(super) fn insert_user(tx: &Connection, user: &NewUser, actor: Option<Uuid>, now: Timestamp) -> R<Uuid> {
    require_organisation(tx, user.organisation_id, "organisation")?;
    let id = new_id(now);
    tx.prepare_cached(
        "INSERT INTO user_account (user_id, email, name, organisation_id, is_admin, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![id, user.email.as_str(), user.name.as_str(), user.organisation_id, user.is_admin, micros(now)])
    .map_err(unique_as("email", "is already registered"))?;
    if let Some(secret) = &user.password_hash {
        tx.prepare_cached("INSERT INTO credential (user_id, kind, secret, updated_at) VALUES (?1, 'password', ?2, ?3)")?
            .execute(params![id, secret, micros(now)])?;
    }
    let summary = json!({"organisation": user.organisation_id, "admin": user.is_admin});
    append(tx, SITE_CHAIN, Draft::new(actor, EventKind::UserCreated, "user", id, summary), now)?;
    Ok(id)
}

pub(super) fn add_member(
    tx: &Connection,
    relationship_id: Uuid,
    user_id: Uuid,
    role: Role,
    actor: Option<Uuid>,
    now: Timestamp,
) -> R<Member> {
    get_relationship(tx, relationship_id)?;
    let user = get_user(tx, user_id)?;
    let party_id: Uuid = tx
        .prepare_cached("SELECT party_id FROM party WHERE relationship_id = ?1 AND organisation_id = ?2")?
        .query_row([relationship_id, user.organisation_id], |r| r.get(0))
        .optional()?
        .ok_or_else(|| invalid("user", format!("belongs to {}, which is not a party to this relationship", user.organisation_name)))?;
    let current = current_members(tx, relationship_id)?;
    membership::check_join(&current, user_id, party_id, role).map_err(membership_refused)?;
    insert_membership(tx, relationship_id, party_id, user_id, role, now)?;
    let summary = json!({"user": user_id, "party": party_id, "role": role});
    append(tx, relationship_id, Draft::new(actor, EventKind::MemberAdded, "user", user_id, summary), now)?;
    current_membership(tx, relationship_id, user_id)?.ok_or(not_found("member"))
}

pub(super) fn end_sessions(tx: &Connection, user_id: Uuid) -> R<()> {
    tx.prepare_cached("DELETE FROM session WHERE user_id = ?1")?.execute([user_id])?;
    Ok(())
}

pub(super) fn end_other_sessions(tx: &Connection, user_id: Uuid, keep_session: Option<&str>) -> R<()> {
    tx.prepare_cached("DELETE FROM session WHERE user_id = ?1 AND session_hash IS NOT ?2")?.execute(params![user_id, keep_session])?;
    Ok(())
}

pub(super) fn write_password(tx: &Connection, user_id: Uuid, password_hash: &str, actor: Option<Uuid>, now: Timestamp) -> R<()> {
    tx.prepare_cached(
        "INSERT INTO credential (user_id, kind, secret, updated_at) VALUES (?1, 'password', ?2, ?3)
         ON CONFLICT (user_id, kind) DO UPDATE SET secret = excluded.secret, updated_at = excluded.updated_at",
    )?
    .execute(params![user_id, password_hash, micros(now)])?;
    append(tx, SITE_CHAIN, Draft::new(actor, EventKind::UserPasswordSet, "user", user_id, json!({})), now)?;
    Ok(())
}

pub(super) const INVITATION: &str = "SELECT i.invitation_id, i.relationship_id, r.name, i.party_id, p.organisation_id, o.name, i.email, i.role, i.invited_by, u.name, i.created_at, i.expires_at
    FROM invitation i
    JOIN relationship r ON r.relationship_id = i.relationship_id
    JOIN party p ON p.relationship_id = i.relationship_id AND p.party_id = i.party_id
    JOIN organisation o ON o.organisation_id = p.organisation_id
    JOIN user_account u INDEXED BY user_account_names ON u.user_id = i.invited_by";

pub(super) fn invitation_row(r: &Row) -> rusqlite::Result<Invitation> {
    Ok(Invitation {
        id: r.get(0)?,
        relationship_id: r.get(1)?,
        relationship_name: r.get(2)?,
        party_id: r.get(3)?,
        organisation_id: r.get(4)?,
        organisation_name: r.get(5)?,
        email: r.get(6)?,
        role: text_as(r, 7, Role::parse)?,
        invited_by: r.get(8)?,
        invited_by_name: r.get(9)?,
        created_at: ts(r.get(10)?),
        expires_at: ts(r.get(11)?),
    })
}

pub(super) fn pending_invitation(tx: &Connection, token_hash: &str, now: Timestamp) -> R<Invitation> {
    tx.prepare_cached(&format!(
        "{INVITATION} WHERE i.token_hash = ?1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > ?2"
    ))?
    .query_row(params![token_hash, micros(now)], invitation_row)
    .optional()?
    .ok_or(not_found("invitation"))
}

pub(crate) fn parties(c: &Connection, relationship_id: Uuid) -> R<Vec<Party>> {
    let mut stmt = c.prepare_cached(
        "SELECT p.party_id, p.relationship_id, p.organisation_id, o.name, p.joined_at FROM party p
         JOIN organisation o ON o.organisation_id = p.organisation_id WHERE p.relationship_id = ?1 ORDER BY p.joined_at, p.party_id",
    )?;
    let rows = stmt.query_map([relationship_id], |r| {
        Ok(Party {
            id: r.get(0)?,
            relationship_id: r.get(1)?,
            organisation_id: r.get(2)?,
            organisation_name: r.get(3)?,
            joined_at: ts(r.get(4)?),
        })
    })?;
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

pub(crate) fn membership_history(c: &Connection, relationship_id: Uuid) -> R<Vec<Member>> {
    let mut stmt = c.prepare_cached(&format!("{MEMBER} WHERE m.relationship_id = ?1 ORDER BY m.membership_id"))?;
    Ok(stmt.query_map([relationship_id], member_row)?.collect::<Result<_, _>>()?)
}

pub(crate) fn recent_audit_events(c: &Connection, chain: Uuid, before_position: Option<i64>, limit: u32) -> R<Vec<Event>> {
    recent(c, EVENT, chain, before_position, limit, event_row)
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
