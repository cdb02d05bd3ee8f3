//! Relationships, their parties and members, and invitations: each write loads what its
//! decision (`accord_store::relationships::decide`) reads and applies what it returns. The
//! IMMEDIATE transaction keeps every other writer out from the first read to the commit.

use super::*;
use accord_store::relationships::decide::{self, Accepting, FirstSerJoin, MemberChanges, gather};

fn insert_membership(tx: &Connection, relationship_id: Uuid, member: &CurrentMember, now: Timestamp) -> R<()> {
    tx.prepare_cached(
        "INSERT INTO membership (relationship_id, membership_id, party_id, user_id, role, joined_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![relationship_id, new_id(now), member.party_id, member.user_id, member.role.as_str(), micros(now)])?;
    Ok(())
}

/// Writes what a membership decision changed: periods ended (and the next begun), members
/// joined, and its event, recorded first or last as decided.
fn apply(tx: &Connection, relationship_id: Uuid, changes: MemberChanges, now: Timestamp) -> R<()> {
    let MemberChanges { ends, joins, event, event_first, .. } = changes;
    let (first, last) = if event_first { (event, None) } else { (None, event) };
    if let Some(event) = first {
        append(tx, relationship_id, event, now)?;
    }
    for (member, next_role) in &ends {
        tx.prepare_cached("UPDATE membership SET left_at = ?3 WHERE relationship_id = ?1 AND user_id = ?2 AND left_at IS NULL")?
            .execute(params![relationship_id, member.user_id, micros(now)])?;
        if let Some(role) = next_role {
            insert_membership(tx, relationship_id, &CurrentMember { role: *role, ..*member }, now)?;
        }
    }
    for member in &joins {
        insert_membership(tx, relationship_id, member, now)?;
    }
    if let Some(event) = last {
        append(tx, relationship_id, event, now)?;
    }
    Ok(())
}

/// Applies `changes` and reads the membership they answer with.
fn apply_for(tx: &Connection, relationship_id: Uuid, changes: MemberChanges, now: Timestamp) -> R<Member> {
    let member = changes.member;
    apply(tx, relationship_id, changes, now)?;
    current_membership(tx, relationship_id, member)?.ok_or(not_found("member"))
}

/// Whether `actor` (if any) is the site administrator, who administers every party's members.
fn admin(tx: &Connection, actor: Option<Uuid>) -> R<bool> {
    Ok(match actor {
        Some(actor) => get_user(tx, actor)?.is_admin,
        None => false,
    })
}

fn add_member(tx: &Connection, relationship_id: Uuid, user_id: Uuid, role: Role, actor: Option<Uuid>, now: Timestamp) -> R<Member> {
    get_relationship(tx, relationship_id)?;
    let user = get_user(tx, user_id)?;
    let party_id: Option<Uuid> = tx
        .prepare_cached("SELECT party_id FROM party WHERE relationship_id = ?1 AND organisation_id = ?2")?
        .query_row(params![relationship_id, user.organisation_id], |r| r.get(0))
        .optional()?;
    let changes = decide::add_member(&current_members(tx, relationship_id)?, &user, party_id, role, actor)?;
    apply_for(tx, relationship_id, changes, now)
}

const INVITATION: &str = "SELECT i.invitation_id, i.relationship_id, r.name, i.party_id, p.organisation_id, o.name, i.email, i.role, i.invited_by, u.name, i.created_at, i.expires_at
    FROM invitation i
    JOIN relationship r ON r.relationship_id = i.relationship_id
    JOIN party p ON p.relationship_id = i.relationship_id AND p.party_id = i.party_id
    JOIN organisation o ON o.organisation_id = p.organisation_id
    JOIN user_account u INDEXED BY user_account_names ON u.user_id = i.invited_by";

fn invitation_row(r: &Row) -> rusqlite::Result<Invitation> {
    Invitation::from_cells(&RowCells(r))
}

fn pending_invitation(tx: &Connection, token_hash: &str, now: Timestamp) -> R<Invitation> {
    tx.prepare_cached(&format!(
        "{INVITATION} WHERE i.token_hash = ?1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > ?2"
    ))?
    .query_row(params![token_hash, micros(now)], invitation_row)
    .optional()?
    .ok_or(not_found("invitation"))
}

#[async_trait]
impl RelationshipStore for SqliteStore {
    async fn found_relationship(&self, new: Founding, actor: Option<Uuid>, now: Timestamp) -> StoreResult<Founded> {
        self.write(move |tx| {
            // Every party's organisation (made now if new) and first SER are judged before
            // anything of the relationship is written, so that all that is wrong is said at once.
            let mut invalid = accord_domain::Invalid::default();
            let (mut organisations, mut missing) = (Vec::with_capacity(new.parties.len()), None);
            for (i, party) in new.parties.iter().enumerate() {
                organisations.push(match &party.organisation {
                    FoundingOrganisation::Existing(id) => {
                        if missing.is_none() && !people::organisation_found(tx, *id)? {
                            missing = Some(*id);
                        }
                        *id
                    }
                    FoundingOrganisation::New(name) => {
                        let made = people::insert_organisation(tx, name, actor, now).map_err(|Fail(e)| decide::for_party(e, i, ""));
                        gather(&mut invalid, made)?.map_or(Uuid::nil(), |o| o.id)
                    }
                });
            }
            let id = new_id(now);
            let party_ids: Vec<Uuid> = new.parties.iter().map(|_| new_id(now)).collect();
            let mut sers = Vec::new();
            for (i, party) in new.parties.iter().enumerate() {
                let Some(ser) = &party.ser else { continue };
                sers.push((i, ser, tx.prepare_cached(&format!("{USER} WHERE u.email = ?1"))?.query_row([ser.email.as_str()], user_row).optional()?));
            }
            let joins = decide::first_sers(sers, &organisations, &party_ids, || new_id(now), actor, &mut invalid)?;
            let event = decide::create_relationship(&new, &organisations, missing, id, actor)?;
            invalid.finish().map_err(StoreError::Invalid)?;
            tx.execute(
                "INSERT INTO relationship (relationship_id, name, purpose, start_date, status, time_zone, version, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 'active', ?5, 1, ?6, ?6)",
                params![id, new.name.as_str(), new.purpose, new.start_date.to_string(), new.time_zone, micros(now)],
            )
            .map_err(unique_as("name", "a relationship with this name exists already"))?;
            tx.execute("INSERT INTO audit_head (relationship_id, position, hash) VALUES (?1, 0, ?2)", params![id, GENESIS_HASH])?;
            for (organisation_id, party_id) in organisations.iter().zip(&party_ids) {
                tx.execute(
                    "INSERT INTO party (relationship_id, party_id, organisation_id, joined_at) VALUES (?1, ?2, ?3, ?4)",
                    params![id, party_id, organisation_id, micros(now)],
                )?;
            }
            append(tx, id, event, now)?;
            let mut invited = Vec::new();
            for (ser, join) in joins {
                match join {
                    FirstSerJoin::Member { member, event } => {
                        insert_membership(tx, id, &member, now)?;
                        append(tx, id, event, now)?;
                    }
                    FirstSerJoin::Invited { id: invitation_id, party_id, event } => {
                        tx.prepare_cached(
                            "INSERT INTO invitation (relationship_id, invitation_id, party_id, email, role, token_hash, invited_by, created_at, expires_at)
                             VALUES (?1, ?2, ?3, ?4, 'ser', ?5, ?6, ?7, ?8)",
                        )?
                        .execute(params![id, invitation_id, party_id, ser.email.as_str(), ser.token_hash, event.actor, micros(now), micros(ser.expires_at)])?;
                        append(tx, id, event, now)?;
                        invited.push(ser.email.as_str().to_owned());
                    }
                }
            }
            Ok(Founded { relationship: get_relationship(tx, id)?, invited })
        })
        .await
    }

    async fn relationship(&self, id: Uuid) -> StoreResult<Relationship> {
        self.run(move |c| get_relationship(c, id)).await
    }

    async fn find_relationship(&self, name_or_id: &str) -> StoreResult<Relationship> {
        let key = name_or_id.to_owned();
        self.run(move |c| by_name_or_id(c, RELATIONSHIP, "relationship_id", &key, relationship_row, "relationship")).await
    }

    async fn update_relationship(
        &self, id: Uuid, expected_version: i64, change: RelationshipChange, actor: Option<Uuid>, now: Timestamp,
    ) -> StoreResult<Relationship> {
        self.write(move |tx| {
            let (after, event) = decide::update_relationship(&get_relationship(tx, id)?, expected_version, &change, actor)?;
            tx.execute(
                "UPDATE relationship SET name = ?2, purpose = ?3, status = ?4, version = version + 1, updated_at = ?5 WHERE relationship_id = ?1",
                params![id, after.name, after.purpose, after.status.as_str(), micros(now)],
            )
            .map_err(unique_as("name", "a relationship with this name exists already"))?;
            append(tx, id, event, now)?;
            get_relationship(tx, id)
        })
        .await
    }

    async fn list_relationships(&self, member: Option<Uuid>, page: PageRequest) -> StoreResult<Page<Relationship>> {
        self.run(move |c| {
            let after = page.after.unwrap_or_default();
            let rows = match member {
                None => c
                    .prepare_cached(&format!("{RELATIONSHIP} WHERE r.relationship_id > ?1 ORDER BY r.relationship_id LIMIT ?2"))?
                    .query_map(params![after, page.fetch()], relationship_row)?
                    .collect::<Result<Vec<_>, _>>()?,
                Some(user_id) => c
                    .prepare_cached(&format!(
                        "{RELATIONSHIP} JOIN membership m ON m.relationship_id = r.relationship_id AND m.user_id = ?3 AND m.left_at IS NULL
                         WHERE r.relationship_id > ?1 ORDER BY r.relationship_id LIMIT ?2"
                    ))?
                    .query_map(params![after, page.fetch(), user_id], relationship_row)?
                    .collect::<Result<Vec<_>, _>>()?,
            };
            Ok(Page::from_rows(rows, page, |r| r.id))
        })
        .await
    }

    async fn parties(&self, relationship_id: Uuid) -> StoreResult<Vec<Party>> {
        self.run(move |c| parties(c, relationship_id)).await
    }

    async fn add_member(
        &self, relationship_id: Uuid, user_id: Uuid, role: Role, actor: Option<Uuid>, now: Timestamp,
    ) -> StoreResult<Member> {
        self.write(move |tx| add_member(tx, relationship_id, user_id, role, actor, now)).await
    }

    async fn change_role(
        &self, relationship_id: Uuid, user_id: Uuid, role: Role, actor: Option<Uuid>, now: Timestamp,
    ) -> StoreResult<Member> {
        self.write(move |tx| {
            let changes = decide::change_role(&current_members(tx, relationship_id)?, user_id, role, actor, admin(tx, actor)?)?;
            apply_for(tx, relationship_id, changes, now)
        })
        .await
    }

    async fn remove_member(&self, relationship_id: Uuid, user_id: Uuid, actor: Option<Uuid>, now: Timestamp) -> StoreResult<()> {
        self.write(move |tx| {
            let changes = decide::remove_member(&current_members(tx, relationship_id)?, user_id, actor, admin(tx, actor)?)?;
            apply(tx, relationship_id, changes, now)
        })
        .await
    }

    async fn succeed_ser(&self, relationship_id: Uuid, successor: Uuid, actor: Option<Uuid>, now: Timestamp) -> StoreResult<Member> {
        self.write(move |tx| {
            let changes = decide::succeed_ser(&current_members(tx, relationship_id)?, successor, actor)?;
            apply_for(tx, relationship_id, changes, now)
        })
        .await
    }

    async fn members(&self, relationship_id: Uuid) -> StoreResult<Vec<Member>> {
        self.run(move |c| members_now(c, relationship_id)).await
    }

    async fn membership_history(&self, relationship_id: Uuid) -> StoreResult<Vec<Member>> {
        self.run(move |c| {
            let mut stmt = c.prepare_cached(&format!("{MEMBER} WHERE m.relationship_id = ?1 ORDER BY m.membership_id"))?;
            Ok(stmt.query_map([relationship_id], member_row)?.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn membership(&self, relationship_id: Uuid, user_id: Uuid) -> StoreResult<Option<Member>> {
        self.run(move |c| current_membership(c, relationship_id, user_id)).await
    }

    async fn create_invitation(&self, new: NewInvitation, actor: Uuid, now: Timestamp) -> StoreResult<Invitation> {
        self.write(move |tx| {
            get_relationship(tx, new.relationship_id)?;
            let organisation_id: Uuid = tx
                .prepare_cached("SELECT organisation_id FROM party WHERE relationship_id = ?1 AND party_id = ?2")?
                .query_row([new.relationship_id, new.party_id], |r| r.get(0))
                .optional()?
                .ok_or(not_found("party"))?;
            let existing = tx.prepare_cached(&format!("{USER} WHERE u.email = ?1"))?.query_row([new.email.as_str()], user_row).optional()?;
            let current = current_members(tx, new.relationship_id)?;
            let id = new_id(now);
            let event = decide::create_invitation(&current, &new, organisation_id, existing.as_ref(), id, actor)?;
            tx.prepare_cached(
                "INSERT INTO invitation (relationship_id, invitation_id, party_id, email, role, token_hash, invited_by, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                new.relationship_id,
                id,
                new.party_id,
                new.email.as_str(),
                new.role.as_str(),
                new.token_hash,
                actor,
                micros(now),
                micros(new.expires_at)
            ])?;
            append(tx, new.relationship_id, event, now)?;
            pending_invitation(tx, &new.token_hash, now)
        })
        .await
    }

    async fn invitation(&self, token_hash: &str, now: Timestamp) -> StoreResult<Invitation> {
        let token_hash = token_hash.to_owned();
        self.run(move |c| pending_invitation(c, &token_hash, now)).await
    }

    async fn pending_invitations(&self, relationship_id: Uuid, now: Timestamp) -> StoreResult<Vec<Invitation>> {
        self.run(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "{INVITATION} WHERE i.relationship_id = ?1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > ?2
                 ORDER BY i.invitation_id"
            ))?;
            Ok(stmt.query_map(params![relationship_id, micros(now)], invitation_row)?.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn accept_invitation(&self, token_hash: &str, account: InvitationAccount, now: Timestamp) -> StoreResult<Member> {
        let token_hash = token_hash.to_owned();
        self.write(move |tx| {
            let invitation = pending_invitation(tx, &token_hash, now)?;
            let existing = match &account {
                InvitationAccount::Existing(user_id) => Some(get_user(tx, *user_id)?),
                InvitationAccount::New { .. } => None,
            };
            let user_id = match decide::accepting(&invitation, account, existing.as_ref())? {
                Accepting::Existing(user_id) => user_id,
                Accepting::New(user) => {
                    people::insert_user(tx, &user, None, now).map_err(|Fail(e)| Fail(decide::new_account_refused(e)))?
                }
            };
            tx.prepare_cached("UPDATE invitation SET accepted_at = ?3 WHERE relationship_id = ?1 AND invitation_id = ?2")?
                .execute(params![invitation.relationship_id, invitation.id, micros(now)])?;
            // The membership first: the acceptance is then recorded for the party the person joined.
            let member = add_member(tx, invitation.relationship_id, user_id, invitation.role, Some(invitation.invited_by), now)?;
            append(tx, invitation.relationship_id, decide::invitation_accepted(&invitation, user_id), now)?;
            Ok(member)
        })
        .await
    }

    async fn revoke_invitation(&self, relationship_id: Uuid, invitation_id: Uuid, actor: Uuid, now: Timestamp) -> StoreResult<()> {
        self.write(move |tx| {
            let party_id: Uuid = tx
                .prepare_cached(
                    "SELECT party_id FROM invitation WHERE relationship_id = ?1 AND invitation_id = ?2 AND accepted_at IS NULL AND revoked_at IS NULL",
                )?
                .query_row([relationship_id, invitation_id], |r| r.get(0))
                .optional()?
                .ok_or(not_found("invitation"))?;
            let event = decide::revoke_invitation(&current_members(tx, relationship_id)?, invitation_id, party_id, actor)?;
            tx.prepare_cached("UPDATE invitation SET revoked_at = ?3 WHERE relationship_id = ?1 AND invitation_id = ?2")?
                .execute(params![relationship_id, invitation_id, micros(now)])?;
            append(tx, relationship_id, event, now)?;
            Ok(())
        })
        .await
    }
}
