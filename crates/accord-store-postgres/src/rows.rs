//! How rows read as our types, and what every module's writes share: the audit chain's append, and
//! reading (and locking) the relationship, its members and the users who act.

use super::*;

pub(super) fn user_row(r: &Row) -> R<User> {
    User::from_cells(&RowCells(r))
}

pub(super) fn relationship_row(r: &Row) -> R<Relationship> {
    relationship_at(r, 0)
}

/// The relationship whose columns start at `at`.
pub(super) fn relationship_at(r: &Row, at: usize) -> R<Relationship> {
    Relationship::from_cells(&RowCells(r), at)
}

/// A party's columns, read by `party_row`.
macro_rules! party_columns {
    () => {
        "p.party_id, p.relationship_id, p.organisation_id, o.name, p.joined_at"
    };
}

pub(super) const PARTY: &str =
    concat!("SELECT ", party_columns!(), " FROM party p JOIN organisation o ON o.organisation_id = p.organisation_id");

pub(super) fn party_row(r: &Row) -> R<Party> {
    Party::from_cells(&RowCells(r))
}

pub(super) const MEMBER: &str =
    "SELECT m.membership_id, m.relationship_id, m.party_id, o.name, m.user_id, u.name, u.email, m.role, m.joined_at, m.left_at
    FROM membership m
    JOIN user_account u ON u.user_id = m.user_id
    JOIN party p ON p.relationship_id = m.relationship_id AND p.party_id = m.party_id
    JOIN organisation o ON o.organisation_id = p.organisation_id";

pub(super) fn member_row(r: &Row) -> R<Member> {
    member_at(r, 0)
}

/// The membership whose columns start at `at`.
pub(super) fn member_at(r: &Row, at: usize) -> R<Member> {
    Member::from_cells(&RowCells(r), at)
}

pub(super) fn event_row(r: &Row) -> R<Event> {
    Ok(Event {
        position: r.try_get(0)?,
        v: u32::try_from(r.try_get::<_, i32>(1)?).map_err(backend)?,
        time: r.try_get(2)?,
        actor: r.try_get(3)?,
        party: r.try_get(4)?,
        kind: r.try_get(5)?,
        subject: r.try_get(6)?,
        summary: serde_json::from_str(r.try_get(7)?).map_err(backend)?,
        prev_hash: r.try_get(8)?,
        hash: r.try_get(9)?,
    })
}

pub(super) fn head_row(r: &Row) -> R<ChainHead> {
    Ok(ChainHead { position: r.try_get(0)?, hash: r.try_get(1)? })
}

/// Appends `draft` to `chain`, holding the chain's head row locked until the transaction ends.
///
/// The event's party is its actor's own (their current membership of the chain's relationship;
/// none for the site administrator, the CLI and the server), read here with the chain's head
/// rather than passed by the caller, so that no write can name another party as the one that
/// acted: the party acted on goes in the summary.
pub(super) async fn append(tx: &Transaction<'_>, chain: Uuid, mut draft: Draft, now: Timestamp) -> R<Event> {
    let (head, party) = query_opt(
        tx,
        "SELECT h.position, h.hash, (SELECT m.party_id FROM membership m
             WHERE m.relationship_id = h.relationship_id AND m.user_id = $2 AND m.left_at IS NULL)
         FROM audit_head h WHERE h.relationship_id = $1 FOR UPDATE",
        &[&chain, &draft.actor],
        |r| Ok((head_row(r)?, r.try_get(2)?)),
    )
    .await?
    .ok_or(not_found("audit chain"))?;
    draft.party = party;
    let event = audit::seal(draft, (head.position > 0).then_some(&head), now);
    execute(
        tx,
        "INSERT INTO audit_event (relationship_id, position, v, occurred_at, actor_id, party_id, kind, subject, summary, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &chain,
            &event.position,
            &i32::try_from(event.v).map_err(backend)?,
            &event.time,
            &event.actor,
            &event.party,
            &event.kind,
            &event.subject,
            &event.summary.to_string(),
            &event.prev_hash,
            &event.hash,
        ],
    )
    .await?;
    execute(tx, "UPDATE audit_head SET position = $2, hash = $3 WHERE relationship_id = $1", &[&chain, &event.position, &event.hash])
        .await?;
    Ok(event)
}

/// Locks a relationship's chain before a rule is checked, so that no other writer changes what
/// the rule saw (two SERs for one party, say) before this transaction ends.
pub(super) async fn lock_chain(tx: &Transaction<'_>, relationship_id: Uuid) -> R<()> {
    execute(tx, "SELECT 1 FROM audit_head WHERE relationship_id = $1 FOR UPDATE", &[&relationship_id]).await?;
    Ok(())
}

pub(super) async fn by_name_or_id<T>(
    c: &impl GenericClient, select: &str, alias: &str, id_column: &str, name_or_id: &str, map: fn(&Row) -> R<T>, what: &'static str,
) -> R<T> {
    let found = match parse_id(name_or_id) {
        Some(id) => {
            let sql = format!("{select} WHERE {alias}.{id_column} = $1");
            query_opt(c, &sql, &[&id], map).await?
        }
        None => {
            let sql = format!("{select} WHERE lower({alias}.name) = lower($1)");
            query_opt(c, &sql, &[&name_or_id.trim()], map).await?
        }
    };
    found.ok_or(not_found(what))
}

pub(super) async fn get_user(c: &impl GenericClient, id: Uuid) -> R<User> {
    let sql = format!("{USER} WHERE u.user_id = $1");
    query_opt(c, &sql, &[&id], user_row).await?.ok_or(not_found("user"))
}

pub(super) async fn get_relationship(c: &impl GenericClient, id: Uuid) -> R<Relationship> {
    let sql = format!("{RELATIONSHIP} WHERE r.relationship_id = $1");
    query_opt(c, &sql, &[&id], relationship_row).await?.ok_or(not_found("relationship"))
}

pub(super) async fn current_membership(c: &impl GenericClient, relationship_id: Uuid, user_id: Uuid) -> R<Option<Member>> {
    let sql = format!("{MEMBER} WHERE m.relationship_id = $1 AND m.user_id = $2 AND m.left_at IS NULL");
    query_opt(c, &sql, &[&relationship_id, &user_id], member_row).await
}

pub(super) async fn current_members(tx: &Transaction<'_>, relationship_id: Uuid) -> R<Vec<CurrentMember>> {
    query_all(
        tx,
        "SELECT user_id, party_id, role FROM membership WHERE relationship_id = $1 AND left_at IS NULL",
        &[&relationship_id],
        |r| Ok(CurrentMember { user_id: r.try_get(0)?, party_id: r.try_get(1)?, role: text_as(r, 2, Role::parse)? }),
    )
    .await
}

/// Refuses a party-scoped write for `party_id` unless `actor` is one of that party's SER and JMT
/// members among `current` (`membership::check_party_write`) or, when `admin_may` (memberships,
/// which the site administrator administers), the site administrator: decided on what this
/// transaction reads (the caller holds the chain's lock), so that a role lost since the request was admitted no longer acts.
pub(super) async fn require_party_writer(
    tx: &Transaction<'_>, current: &[CurrentMember], actor: Uuid, party_id: Uuid, admin_may: bool,
) -> R<()> {
    use accord_store::relationships::decide::party_write;
    // The administrator is read only when the rule refuses the actor as a member.
    if party_write(current, actor, party_id, false).is_ok() {
        return Ok(());
    }
    Ok(party_write(current, actor, party_id, admin_may && get_user(tx, actor).await?.is_admin)?)
}

pub(crate) async fn parties(c: &impl GenericClient, relationship_id: Uuid) -> R<Vec<Party>> {
    let sql = format!("{PARTY} WHERE p.relationship_id = $1 ORDER BY p.joined_at, p.party_id");
    query_all(c, &sql, &[&relationship_id], party_row).await
}

pub(crate) async fn members_now(c: &impl GenericClient, relationship_id: Uuid) -> R<Vec<Member>> {
    let sql = format!("{MEMBER} WHERE m.relationship_id = $1 AND m.left_at IS NULL {MEMBER_ORDER}");
    query_all(c, &sql, &[&relationship_id], member_row).await
}
