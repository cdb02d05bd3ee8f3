//! Relationships, their parties and members, and invitations: each write loads what its
//! decision (`accord_store::relationships::decide`) reads, after locking the relationship's chain
//! (so that no other writer changes what the rule saw before this transaction ends), and applies
//! what it returns.

use super::*;
use accord_store::relationships::decide::{self, Accepting, FirstSerJoin, MemberChanges, gather};

async fn insert_membership(tx: &Transaction<'_>, relationship_id: Uuid, member: &CurrentMember, now: Timestamp) -> R<()> {
    execute(
        tx,
        "INSERT INTO membership (relationship_id, membership_id, party_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4, $5, $6)",
        &[&relationship_id, &new_id(now), &member.party_id, &member.user_id, &member.role.as_str(), &now],
    )
    .await?;
    Ok(())
}

/// Writes what a membership decision changed: periods ended (and the next begun), members
/// joined, and its event, recorded first or last as decided.
async fn apply(tx: &Transaction<'_>, relationship_id: Uuid, changes: MemberChanges, now: Timestamp) -> R<()> {
    let MemberChanges { ends, joins, event, event_first, .. } = changes;
    let (first, last) = if event_first { (event, None) } else { (None, event) };
    if let Some(event) = first {
        append(tx, relationship_id, event, now).await?;
    }
    for (member, next_role) in &ends {
        execute(
            tx,
            "UPDATE membership SET left_at = $3 WHERE relationship_id = $1 AND user_id = $2 AND left_at IS NULL",
            &[&relationship_id, &member.user_id, &now],
        )
        .await?;
        if let Some(role) = next_role {
            insert_membership(tx, relationship_id, &CurrentMember { role: *role, ..*member }, now).await?;
        }
    }
    for member in &joins {
        insert_membership(tx, relationship_id, member, now).await?;
    }
    if let Some(event) = last {
        append(tx, relationship_id, event, now).await?;
    }
    Ok(())
}

/// Applies `changes` and reads the membership they answer with.
async fn apply_for(tx: &Transaction<'_>, relationship_id: Uuid, changes: MemberChanges, now: Timestamp) -> R<Member> {
    let member = changes.member;
    apply(tx, relationship_id, changes, now).await?;
    current_membership(tx, relationship_id, member).await?.ok_or(not_found("member"))
}

/// Whether `actor` (if any) is the site administrator, who administers every party's members.
async fn admin(tx: &Transaction<'_>, actor: Option<Uuid>) -> R<bool> {
    Ok(match actor {
        Some(actor) => get_user(tx, actor).await?.is_admin,
        None => false,
    })
}

async fn add_member(
    tx: &Transaction<'_>, relationship_id: Uuid, user_id: Uuid, role: Role, actor: Option<Uuid>, now: Timestamp,
) -> R<Member> {
    get_relationship(tx, relationship_id).await?;
    lock_chain(tx, relationship_id).await?;
    let user = get_user(tx, user_id).await?;
    let party_id: Option<Uuid> = query_opt(
        tx,
        "SELECT party_id FROM party WHERE relationship_id = $1 AND organisation_id = $2",
        &[&relationship_id, &user.organisation_id],
        |r| Ok(r.try_get(0)?),
    )
    .await?;
    let changes = decide::add_member(&current_members(tx, relationship_id).await?, &user, party_id, role, actor)?;
    apply_for(tx, relationship_id, changes, now).await
}

const INVITATION: &str = "SELECT i.invitation_id, i.relationship_id, r.name, i.party_id, p.organisation_id, o.name, i.email, i.role, i.invited_by, u.name, i.created_at, i.expires_at
    FROM invitation i
    JOIN relationship r ON r.relationship_id = i.relationship_id
    JOIN party p ON p.relationship_id = i.relationship_id AND p.party_id = i.party_id
    JOIN organisation o ON o.organisation_id = p.organisation_id
    JOIN user_account u ON u.user_id = i.invited_by";

fn invitation_row(r: &Row) -> R<Invitation> {
    Invitation::from_cells(&RowCells(r))
}

async fn pending_invitation(c: &impl GenericClient, token_hash: &str, now: Timestamp) -> R<Invitation> {
    let sql = format!("{INVITATION} WHERE i.token_hash = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2");
    query_opt(c, &sql, &[&token_hash, &now], invitation_row).await?.ok_or(not_found("invitation"))
}

#[async_trait]
impl RelationshipStore for PostgresStore {
    async fn found_relationship(&self, new: Founding, actor: Option<Uuid>, now: Timestamp) -> StoreResult<Founded> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                // Every party's organisation (made now if new) and first SER are judged before
                // anything of the relationship is written, so that all that is wrong is said at once.
                let mut invalid = accord_domain::Invalid::default();
                let (mut organisations, mut missing) = (Vec::with_capacity(new.parties.len()), None);
                for (i, party) in new.parties.iter().enumerate() {
                    organisations.push(match &party.organisation {
                        FoundingOrganisation::Existing(id) => {
                            if missing.is_none() && !people::organisation_found(tx, *id).await? {
                                missing = Some(*id);
                            }
                            *id
                        }
                        FoundingOrganisation::New(name) => {
                            let made = people::insert_organisation(tx, name, actor, now).await.map_err(|Fail(e)| decide::for_party(e, i, ""));
                            gather(&mut invalid, made)?.map_or(Uuid::nil(), |o| o.id)
                        }
                    });
                }
                let id = new_id(now);
                let party_ids: Vec<Uuid> = new.parties.iter().map(|_| new_id(now)).collect();
                let by_email = format!("{USER} WHERE u.email = $1");
                let mut sers = Vec::new();
                for (i, party) in new.parties.iter().enumerate() {
                    let Some(ser) = &party.ser else { continue };
                    sers.push((i, ser, query_opt(tx, &by_email, &[&ser.email.as_str()], user_row).await?));
                }
                let joins = decide::first_sers(sers, &organisations, &party_ids, || new_id(now), actor, &mut invalid)?;
                let event = decide::create_relationship(&new, &organisations, missing, id, actor)?;
                invalid.finish().map_err(StoreError::Invalid)?;
                execute(
                    tx,
                    "INSERT INTO relationship (relationship_id, name, purpose, start_date, status, time_zone, version, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, 'active', $5, 1, $6, $6)",
                    &[&id, &new.name.as_str(), &new.purpose, &new.start_date, &new.time_zone, &now],
                )
                .await
                .map_err(unique_as("name", "a relationship with this name exists already"))?;
                execute(tx, "INSERT INTO audit_head (relationship_id, position, hash) VALUES ($1, 0, $2)", &[&id, &GENESIS_HASH]).await?;
                for (organisation_id, party_id) in organisations.iter().zip(&party_ids) {
                    execute(
                        tx,
                        "INSERT INTO party (relationship_id, party_id, organisation_id, joined_at) VALUES ($1, $2, $3, $4)",
                        &[&id, party_id, organisation_id, &now],
                    )
                    .await?;
                }
                append(tx, id, event, now).await?;
                let mut invited = Vec::new();
                for (ser, join) in joins {
                    match join {
                        FirstSerJoin::Member { member, event } => {
                            insert_membership(tx, id, &member, now).await?;
                            append(tx, id, event, now).await?;
                        }
                        FirstSerJoin::Invited { id: invitation_id, party_id, event } => {
                            execute(
                                tx,
                                "INSERT INTO invitation (relationship_id, invitation_id, party_id, email, role, token_hash, invited_by, created_at, expires_at)
                                 VALUES ($1, $2, $3, $4, 'ser', $5, $6, $7, $8)",
                                &[&id, &invitation_id, &party_id, &ser.email.as_str(), &ser.token_hash, &event.actor, &now, &micros(ser.expires_at)],
                            )
                            .await?;
                            append(tx, id, event, now).await?;
                            invited.push(ser.email.as_str().to_owned());
                        }
                    }
                }
                Ok(Founded { relationship: get_relationship(tx, id).await?, invited })
            })
        })
        .await
    }

    async fn relationship(&self, id: Uuid) -> StoreResult<Relationship> {
        self.read(move |c| Box::pin(get_relationship(c, id))).await
    }

    async fn find_relationship(&self, name_or_id: &str) -> StoreResult<Relationship> {
        let key = name_or_id.to_owned();
        self.read(move |c| {
            Box::pin(async move { by_name_or_id(c, RELATIONSHIP, "r", "relationship_id", &key, relationship_row, "relationship").await })
        })
        .await
    }

    async fn update_relationship(
        &self, id: Uuid, expected_version: i64, change: RelationshipChange, actor: Option<Uuid>, now: Timestamp,
    ) -> StoreResult<Relationship> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                // Locked, so that two writers who read the same version cannot both pass. NO KEY:
                // inserts that reference the relationship (their foreign-key checks take KEY SHARE)
                // need not wait, so one that already holds the chain cannot deadlock with this.
                let sql = format!("{RELATIONSHIP} WHERE r.relationship_id = $1 FOR NO KEY UPDATE");
                let before = query_opt(tx, &sql, &[&id], relationship_row)
                    .await?
                    .ok_or(not_found("relationship"))?;
                let (after, event) = decide::update_relationship(&before, expected_version, &change, actor)?;
                execute(
                    tx,
                    "UPDATE relationship SET name = $2, purpose = $3, status = $4, version = version + 1, updated_at = $5 WHERE relationship_id = $1",
                    &[&id, &after.name, &after.purpose, &after.status.as_str(), &now],
                )
                .await
                .map_err(unique_as("name", "a relationship with this name exists already"))?;
                append(tx, id, event, now).await?;
                get_relationship(tx, id).await
            })
        })
        .await
    }

    async fn list_relationships(&self, member: Option<Uuid>, page: PageRequest) -> StoreResult<Page<Relationship>> {
        self.read(move |c| {
            Box::pin(async move {
                let after = page.after.unwrap_or_default();
                let rows = match member {
                    None => {
                        let sql = format!("{RELATIONSHIP} WHERE r.relationship_id > $1 ORDER BY r.relationship_id LIMIT $2");
                        query_all(c, &sql, &[&after, &page.fetch()], relationship_row).await?
                    }
                    Some(user_id) => {
                        let sql = format!(
                            "{RELATIONSHIP} JOIN membership m ON m.relationship_id = r.relationship_id AND m.user_id = $3 AND m.left_at IS NULL
                             WHERE r.relationship_id > $1 ORDER BY r.relationship_id LIMIT $2"
                        );
                        query_all(c, &sql, &[&after, &page.fetch(), &user_id], relationship_row).await?
                    }
                };
                Ok(Page::from_rows(rows, page, |r| r.id))
            })
        })
        .await
    }

    async fn parties(&self, relationship_id: Uuid) -> StoreResult<Vec<Party>> {
        self.read(move |c| Box::pin(parties(c, relationship_id))).await
    }

    async fn add_member(
        &self, relationship_id: Uuid, user_id: Uuid, role: Role, actor: Option<Uuid>, now: Timestamp,
    ) -> StoreResult<Member> {
        let now = micros(now);
        self.write(move |tx| Box::pin(add_member(tx, relationship_id, user_id, role, actor, now))).await
    }

    async fn change_role(
        &self, relationship_id: Uuid, user_id: Uuid, role: Role, actor: Option<Uuid>, now: Timestamp,
    ) -> StoreResult<Member> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                lock_chain(tx, relationship_id).await?;
                let current = current_members(tx, relationship_id).await?;
                let changes = decide::change_role(&current, user_id, role, actor, admin(tx, actor).await?)?;
                apply_for(tx, relationship_id, changes, now).await
            })
        })
        .await
    }

    async fn remove_member(&self, relationship_id: Uuid, user_id: Uuid, actor: Option<Uuid>, now: Timestamp) -> StoreResult<()> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                lock_chain(tx, relationship_id).await?;
                let current = current_members(tx, relationship_id).await?;
                let changes = decide::remove_member(&current, user_id, actor, admin(tx, actor).await?)?;
                apply(tx, relationship_id, changes, now).await
            })
        })
        .await
    }

    async fn succeed_ser(&self, relationship_id: Uuid, successor: Uuid, actor: Option<Uuid>, now: Timestamp) -> StoreResult<Member> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                lock_chain(tx, relationship_id).await?;
                let changes = decide::succeed_ser(&current_members(tx, relationship_id).await?, successor, actor)?;
                apply_for(tx, relationship_id, changes, now).await
            })
        })
        .await
    }

    async fn members(&self, relationship_id: Uuid) -> StoreResult<Vec<Member>> {
        self.read(move |c| Box::pin(members_now(c, relationship_id))).await
    }

    async fn membership_history(&self, relationship_id: Uuid) -> StoreResult<Vec<Member>> {
        self.read(move |c| {
            Box::pin(async move {
                let sql = format!("{MEMBER} WHERE m.relationship_id = $1 ORDER BY m.membership_id");
                query_all(c, &sql, &[&relationship_id], member_row).await
            })
        })
        .await
    }

    async fn membership(&self, relationship_id: Uuid, user_id: Uuid) -> StoreResult<Option<Member>> {
        self.read(move |c| Box::pin(current_membership(c, relationship_id, user_id))).await
    }

    async fn create_invitation(&self, new: NewInvitation, actor: Uuid, now: Timestamp) -> StoreResult<Invitation> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                get_relationship(tx, new.relationship_id).await?;
                lock_chain(tx, new.relationship_id).await?;
                let organisation_id: Uuid = query_opt(
                    tx,
                    "SELECT organisation_id FROM party WHERE relationship_id = $1 AND party_id = $2",
                    &[&new.relationship_id, &new.party_id],
                    |r| Ok(r.try_get(0)?),
                )
                .await?
                .ok_or(not_found("party"))?;
                let sql = format!("{USER} WHERE u.email = $1");
                let existing = query_opt(tx, &sql, &[&new.email.as_str()], user_row).await?;
                let current = current_members(tx, new.relationship_id).await?;
                let id = new_id(now);
                let event = decide::create_invitation(&current, &new, organisation_id, existing.as_ref(), id, actor)?;
                execute(
                    tx,
                    "INSERT INTO invitation (relationship_id, invitation_id, party_id, email, role, token_hash, invited_by, created_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    &[
                        &new.relationship_id,
                        &id,
                        &new.party_id,
                        &new.email.as_str(),
                        &new.role.as_str(),
                        &new.token_hash,
                        &actor,
                        &now,
                        &micros(new.expires_at),
                    ],
                )
                .await?;
                append(tx, new.relationship_id, event, now).await?;
                pending_invitation(tx, &new.token_hash, now).await
            })
        })
        .await
    }

    async fn invitation(&self, token_hash: &str, now: Timestamp) -> StoreResult<Invitation> {
        let token_hash = token_hash.to_owned();
        let now = micros(now);
        self.read(move |c| Box::pin(async move { pending_invitation(c, &token_hash, now).await })).await
    }

    async fn pending_invitations(&self, relationship_id: Uuid, now: Timestamp) -> StoreResult<Vec<Invitation>> {
        let now = micros(now);
        self.read(move |c| {
            Box::pin(async move {
                let sql = format!(
                    "{INVITATION} WHERE i.relationship_id = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2
                     ORDER BY i.invitation_id"
                );
                query_all(c, &sql, &[&relationship_id, &now], invitation_row).await
            })
        })
        .await
    }

    async fn accept_invitation(&self, token_hash: &str, account: InvitationAccount, now: Timestamp) -> StoreResult<Member> {
        let token_hash = token_hash.to_owned();
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                // The chain first, then the invitation: of two acceptances at once, the second
                // waits for the first and then finds the invitation used up.
                let relationship_id: Uuid =
                    query_opt(tx, "SELECT relationship_id FROM invitation WHERE token_hash = $1", &[&token_hash], |r| Ok(r.try_get(0)?))
                        .await?
                        .ok_or(not_found("invitation"))?;
                lock_chain(tx, relationship_id).await?;
                let invitation = pending_invitation(tx, &token_hash, now).await?;
                let existing = match &account {
                    InvitationAccount::Existing(user_id) => Some(get_user(tx, *user_id).await?),
                    InvitationAccount::New { .. } => None,
                };
                let user_id = match decide::accepting(&invitation, account, existing.as_ref())? {
                    Accepting::Existing(user_id) => user_id,
                    Accepting::New(user) => {
                        people::insert_user(tx, &user, None, now).await.map_err(|Fail(e)| Fail(decide::new_account_refused(e)))?
                    }
                };
                execute(
                    tx,
                    "UPDATE invitation SET accepted_at = $3 WHERE relationship_id = $1 AND invitation_id = $2",
                    &[&invitation.relationship_id, &invitation.id, &now],
                )
                .await?;
                // The membership first: the acceptance is then recorded for the party the person joined.
                let member = add_member(tx, invitation.relationship_id, user_id, invitation.role, Some(invitation.invited_by), now).await?;
                append(tx, invitation.relationship_id, decide::invitation_accepted(&invitation, user_id), now).await?;
                Ok(member)
            })
        })
        .await
    }

    async fn revoke_invitation(&self, relationship_id: Uuid, invitation_id: Uuid, actor: Uuid, now: Timestamp) -> StoreResult<()> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                // Locked first, so that an acceptance under way finishes before this looks.
                lock_chain(tx, relationship_id).await?;
                let party_id: Uuid = query_opt(
                    tx,
                    "SELECT party_id FROM invitation WHERE relationship_id = $1 AND invitation_id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
                    &[&relationship_id, &invitation_id],
                    |r| Ok(r.try_get(0)?),
                )
                .await?
                .ok_or(not_found("invitation"))?;
                let event = decide::revoke_invitation(&current_members(tx, relationship_id).await?, invitation_id, party_id, actor)?;
                execute(
                    tx,
                    "UPDATE invitation SET revoked_at = $3 WHERE relationship_id = $1 AND invitation_id = $2",
                    &[&relationship_id, &invitation_id, &now],
                )
                .await?;
                append(tx, relationship_id, event, now).await?;
                Ok(())
            })
        })
        .await
    }
}
