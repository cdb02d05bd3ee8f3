//! How rows read as our types, and the writes every module shares: the audit chain's append, memberships, users, sessions and invitations.

use super::*;

pub(super) const ORGANISATION: &str = "SELECT o.organisation_id, o.name, o.created_at FROM organisation o";

pub(super) fn organisation_row(r: &Row) -> R<Organisation> {
    Ok(Organisation { id: r.try_get(0)?, name: r.try_get(1)?, created_at: r.try_get(2)? })
}

/// The organisations `Visibility` shows, the user in `$1` (NULL: all): the user's own and the
/// parties to the relationships the user is a current member of.
pub(super) const VISIBLE: &str = "($1::uuid IS NULL OR o.organisation_id = (SELECT organisation_id FROM user_account WHERE user_id = $1)
    OR o.organisation_id IN (SELECT p.organisation_id FROM membership m JOIN party p ON p.relationship_id = m.relationship_id
        WHERE m.user_id = $1 AND m.left_at IS NULL))";

/// Names stored before their skeletons were (V11) get one; of two old names that look alike, the
/// first keeps it, so a new name like either is still refused.
pub(super) async fn fill_name_skeletons(tx: &Transaction<'_>) -> R<()> {
    let missing =
        query_all(tx, "SELECT organisation_id, name FROM organisation WHERE name_skeleton IS NULL ORDER BY organisation_id", &[], |r| {
            Ok((r.try_get::<_, Uuid>(0)?, r.try_get::<_, String>(1)?))
        })
        .await?;
    for (id, name) in missing {
        execute(
            tx,
            "UPDATE organisation SET name_skeleton = $2 WHERE organisation_id = $1 AND NOT EXISTS (SELECT 1 FROM organisation WHERE name_skeleton = $2)",
            &[&id, &accord_domain::text::skeleton(&name)],
        )
        .await?;
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

pub(super) fn user_row(r: &Row) -> R<User> {
    Ok(User {
        id: r.try_get(0)?,
        email: r.try_get(1)?,
        name: r.try_get(2)?,
        organisation_id: r.try_get(3)?,
        organisation_name: r.try_get(4)?,
        is_admin: r.try_get(5)?,
        disabled: r.try_get::<_, Option<Timestamp>>(6)?.is_some(),
        created_at: r.try_get(7)?,
    })
}

pub(super) const RELATIONSHIP: &str = "SELECT r.relationship_id, r.name, r.purpose, r.start_date, r.status, r.time_zone, r.version, r.created_at, r.updated_at FROM relationship r";

pub(super) fn relationship_row(r: &Row) -> R<Relationship> {
    relationship_at(r, 0)
}

/// The relationship whose columns start at `at`.
pub(super) fn relationship_at(r: &Row, at: usize) -> R<Relationship> {
    Ok(Relationship {
        id: r.try_get(at)?,
        name: r.try_get(at + 1)?,
        purpose: r.try_get(at + 2)?,
        start_date: r.try_get(at + 3)?,
        status: text_as(r, at + 4, Status::parse)?,
        time_zone: r.try_get(at + 5)?,
        version: r.try_get(at + 6)?,
        created_at: r.try_get(at + 7)?,
        updated_at: r.try_get(at + 8)?,
    })
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
    Ok(Party {
        id: r.try_get(0)?,
        relationship_id: r.try_get(1)?,
        organisation_id: r.try_get(2)?,
        organisation_name: r.try_get(3)?,
        joined_at: r.try_get(4)?,
    })
}

pub(super) const MEMBER: &str =
    "SELECT m.membership_id, m.relationship_id, m.party_id, o.name, m.user_id, u.name, u.email, m.role, m.joined_at, m.left_at
    FROM membership m
    JOIN user_account u ON u.user_id = m.user_id
    JOIN party p ON p.relationship_id = m.relationship_id AND p.party_id = m.party_id
    JOIN organisation o ON o.organisation_id = p.organisation_id";

pub(super) const MEMBER_ORDER: &str =
    "ORDER BY p.joined_at, p.party_id, CASE m.role WHEN 'ser' THEN 0 WHEN 'jmt' THEN 1 WHEN 'contributor' THEN 2 ELSE 3 END, u.name";

pub(super) fn member_row(r: &Row) -> R<Member> {
    member_at(r, 0)
}

/// The membership whose columns start at `at`.
pub(super) fn member_at(r: &Row, at: usize) -> R<Member> {
    Ok(Member {
        id: r.try_get(at)?,
        relationship_id: r.try_get(at + 1)?,
        party_id: r.try_get(at + 2)?,
        organisation_name: r.try_get(at + 3)?,
        user_id: r.try_get(at + 4)?,
        name: r.try_get(at + 5)?,
        email: r.try_get(at + 6)?,
        role: text_as(r, at + 7, Role::parse)?,
        joined_at: r.try_get(at + 8)?,
        left_at: r.try_get(at + 9)?,
    })
}

pub(super) const TOKEN: &str = "SELECT api_token_id, name, created_at, revoked_at FROM api_token";

pub(super) fn token_row(r: &Row) -> R<ApiToken> {
    Ok(ApiToken { id: r.try_get(0)?, name: r.try_get(1)?, created_at: r.try_get(2)?, revoked_at: r.try_get(3)? })
}

pub(super) const EVENT: &str =
    "SELECT position, v, occurred_at, actor_id, party_id, kind, subject, summary, prev_hash, hash FROM audit_event";

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
    c: &impl GenericClient,
    select: &str,
    alias: &str,
    id_column: &str,
    name_or_id: &str,
    map: fn(&Row) -> R<T>,
    what: &'static str,
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

/// Refuses a reference to an organisation that does not exist, naming `field`.
pub(super) async fn require_organisation(c: &impl GenericClient, id: Uuid, field: &str) -> R<()> {
    match query_opt(c, "SELECT 1 FROM organisation WHERE organisation_id = $1", &[&id], |_| Ok(())).await? {
        Some(()) => Ok(()),
        None => Err(invalid(field, format!("no organisation has the id {id}"))),
    }
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
/// transaction reads (the caller holds the chain's lock), so that a role lost since the request was admitted no longer acts.
pub(super) async fn require_party_writer(
    tx: &Transaction<'_>,
    current: &[CurrentMember],
    actor: Uuid,
    party_id: Uuid,
    admin_may: bool,
) -> R<()> {
    let Err(refused) = membership::check_party_write(current.iter().find(|m| m.user_id == actor), party_id) else { return Ok(()) };
    if admin_may && get_user(tx, actor).await?.is_admin {
        return Ok(());
    }
    Err(Fail(StoreError::Forbidden(refused.message())))
}

pub(super) async fn insert_membership(
    tx: &Transaction<'_>,
    relationship_id: Uuid,
    party_id: Uuid,
    user_id: Uuid,
    role: Role,
    now: Timestamp,
) -> R<Uuid> {
    let id = new_id(now);
    execute(
        tx,
        "INSERT INTO membership (relationship_id, membership_id, party_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4, $5, $6)",
        &[&relationship_id, &id, &party_id, &user_id, &role.as_str(), &now],
    )
    .await?;
    Ok(id)
}

/// Ends the user's current membership period; with `role`, starts the next one with that role.
pub(super) async fn end_period(
    tx: &Transaction<'_>,
    relationship_id: Uuid,
    member: &CurrentMember,
    next_role: Option<Role>,
    now: Timestamp,
) -> R<()> {
    execute(
        tx,
        "UPDATE membership SET left_at = $3 WHERE relationship_id = $1 AND user_id = $2 AND left_at IS NULL",
        &[&relationship_id, &member.user_id, &now],
    )
    .await?;
    if let Some(role) = next_role {
        insert_membership(tx, relationship_id, member.party_id, member.user_id, role, now).await?;
    }
    Ok(())
}

pub(super) fn find_current(current: &[CurrentMember], user_id: Uuid) -> R<CurrentMember> {
    current.iter().find(|m| m.user_id == user_id).copied().ok_or(not_found("member"))
}

/// The user, their row locked until the transaction ends (`FOR UPDATE`, or `FOR SHARE` when
/// `share`), so that a change of the account waits for this writer, or this writer for it.
pub(super) async fn lock_user(tx: &Transaction<'_>, id: Uuid, share: bool) -> R<User> {
    let sql = format!("{USER} WHERE u.user_id = $1 FOR {} OF u", if share { "SHARE" } else { "UPDATE" });
    query_opt(tx, &sql, &[&id], user_row).await?.ok_or(not_found("user"))
}

pub(super) async fn insert_user(tx: &Transaction<'_>, user: &NewUser, actor: Option<Uuid>, now: Timestamp) -> R<Uuid> {
    require_organisation(tx, user.organisation_id, "organisation").await?;
    let id = new_id(now);
    execute(
        tx,
        "INSERT INTO user_account (user_id, email, name, organisation_id, is_admin, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        &[&id, &user.email.as_str(), &user.name.as_str(), &user.organisation_id, &user.is_admin, &now],
    )
    .await
    .map_err(unique_as("email", "is already registered"))?;
    if let Some(secret) = &user.password_hash {
        execute(tx, "INSERT INTO credential (user_id, kind, secret, updated_at) VALUES ($1, 'password', $2, $3)", &[&id, secret, &now])
            .await?;
    }
    let summary = json!({"organisation": user.organisation_id, "admin": user.is_admin});
    append(tx, SITE_CHAIN, Draft::new(actor, EventKind::UserCreated, "user", id, summary), now).await?;
    Ok(id)
}

pub(super) async fn add_member(
    tx: &Transaction<'_>,
    relationship_id: Uuid,
    user_id: Uuid,
    role: Role,
    actor: Option<Uuid>,
    now: Timestamp,
) -> R<Member> {
    get_relationship(tx, relationship_id).await?;
    lock_chain(tx, relationship_id).await?;
    let user = get_user(tx, user_id).await?;
    let party_id: Uuid = query_opt(
        tx,
        "SELECT party_id FROM party WHERE relationship_id = $1 AND organisation_id = $2",
        &[&relationship_id, &user.organisation_id],
        |r| Ok(r.try_get(0)?),
    )
    .await?
    .ok_or_else(|| invalid("user", format!("belongs to {}, which is not a party to this relationship", user.organisation_name)))?;
    let current = current_members(tx, relationship_id).await?;
    membership::check_join(&current, user_id, party_id, role).map_err(membership_refused)?;
    insert_membership(tx, relationship_id, party_id, user_id, role, now).await?;
    let summary = json!({"user": user_id, "party": party_id, "role": role});
    append(tx, relationship_id, Draft::new(actor, EventKind::MemberAdded, "user", user_id, summary), now).await?;
    current_membership(tx, relationship_id, user_id).await?.ok_or(not_found("member"))
}

pub(super) async fn end_sessions(tx: &Transaction<'_>, user_id: Uuid) -> R<()> {
    execute(tx, "DELETE FROM session WHERE user_id = $1", &[&user_id]).await?;
    Ok(())
}

pub(super) async fn end_other_sessions(tx: &Transaction<'_>, user_id: Uuid, keep_session: Option<&str>) -> R<()> {
    execute(tx, "DELETE FROM session WHERE user_id = $1 AND session_hash IS DISTINCT FROM $2", &[&user_id, &keep_session]).await?;
    Ok(())
}

pub(super) async fn write_password(tx: &Transaction<'_>, user_id: Uuid, password_hash: &str, actor: Option<Uuid>, now: Timestamp) -> R<()> {
    execute(
        tx,
        "INSERT INTO credential (user_id, kind, secret, updated_at) VALUES ($1, 'password', $2, $3)
         ON CONFLICT (user_id, kind) DO UPDATE SET secret = excluded.secret, updated_at = excluded.updated_at",
        &[&user_id, &password_hash, &now],
    )
    .await?;
    append(tx, SITE_CHAIN, Draft::new(actor, EventKind::UserPasswordSet, "user", user_id, json!({})), now).await?;
    Ok(())
}

pub(super) const INVITATION: &str = "SELECT i.invitation_id, i.relationship_id, r.name, i.party_id, p.organisation_id, o.name, i.email, i.role, i.invited_by, u.name, i.created_at, i.expires_at
    FROM invitation i
    JOIN relationship r ON r.relationship_id = i.relationship_id
    JOIN party p ON p.relationship_id = i.relationship_id AND p.party_id = i.party_id
    JOIN organisation o ON o.organisation_id = p.organisation_id
    JOIN user_account u ON u.user_id = i.invited_by";

pub(super) fn invitation_row(r: &Row) -> R<Invitation> {
    Ok(Invitation {
        id: r.try_get(0)?,
        relationship_id: r.try_get(1)?,
        relationship_name: r.try_get(2)?,
        party_id: r.try_get(3)?,
        organisation_id: r.try_get(4)?,
        organisation_name: r.try_get(5)?,
        email: r.try_get(6)?,
        role: text_as(r, 7, Role::parse)?,
        invited_by: r.try_get(8)?,
        invited_by_name: r.try_get(9)?,
        created_at: r.try_get(10)?,
        expires_at: r.try_get(11)?,
    })
}

pub(super) async fn pending_invitation(c: &impl GenericClient, token_hash: &str, now: Timestamp) -> R<Invitation> {
    let sql = format!("{INVITATION} WHERE i.token_hash = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2");
    query_opt(c, &sql, &[&token_hash, &now], invitation_row).await?.ok_or(not_found("invitation"))
}

pub(crate) async fn parties(c: &impl GenericClient, relationship_id: Uuid) -> R<Vec<Party>> {
    let sql = format!("{PARTY} WHERE p.relationship_id = $1 ORDER BY p.joined_at, p.party_id");
    query_all(c, &sql, &[&relationship_id], party_row).await
}

pub(crate) async fn members_now(c: &impl GenericClient, relationship_id: Uuid) -> R<Vec<Member>> {
    let sql = format!("{MEMBER} WHERE m.relationship_id = $1 AND m.left_at IS NULL {MEMBER_ORDER}");
    query_all(c, &sql, &[&relationship_id], member_row).await
}

pub(crate) async fn membership_history(c: &impl GenericClient, relationship_id: Uuid) -> R<Vec<Member>> {
    let sql = format!("{MEMBER} WHERE m.relationship_id = $1 ORDER BY m.membership_id");
    query_all(c, &sql, &[&relationship_id], member_row).await
}

pub(crate) async fn recent_audit_events(c: &impl GenericClient, chain: Uuid, before_position: Option<i64>, limit: u32) -> R<Vec<Event>> {
    recent(c, EVENT, chain, before_position, limit, event_row).await
}
