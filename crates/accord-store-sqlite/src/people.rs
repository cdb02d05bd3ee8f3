//! Organisations, accounts, API tokens, sessions and sign-in throttling: each write loads what
//! its decision (`accord_store::people::decide`) reads and applies what it returns.

use super::*;
use accord_store::people::decide::{self, PasswordChange};

const ORGANISATION: &str = "SELECT organisation_id, name, created_at FROM organisation";

fn organisation_row(r: &Row) -> rusqlite::Result<Organisation> {
    Organisation::from_cells(&RowCells(r))
}

/// The organisations `Visibility` shows, the user in `?1` (NULL: all): the user's own and the
/// parties to the relationships the user is a current member of.
const VISIBLE: &str = "(?1 IS NULL OR organisation_id = (SELECT organisation_id FROM user_account WHERE user_id = ?1)
    OR organisation_id IN (SELECT p.organisation_id FROM membership m JOIN party p ON p.relationship_id = m.relationship_id
        WHERE m.user_id = ?1 AND m.left_at IS NULL))";

/// Names stored before their skeletons were (V12) get one; of two old names that look alike, the
/// first keeps it, so a new name like either is still refused.
pub(crate) fn fill_name_skeletons(tx: &Connection) -> R<()> {
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

/// A new organisation, unless its name looks like an existing one's.
pub(crate) fn insert_organisation(tx: &Connection, name: &Name, actor: Option<Uuid>, now: Timestamp) -> R<Organisation> {
    let skeleton = name.skeleton();
    let like: Option<String> =
        tx.prepare_cached("SELECT name FROM organisation WHERE name_skeleton = ?1")?.query_row([&skeleton], |r| r.get(0)).optional()?;
    let id = new_id(now);
    let event = decide::create_organisation(name, like.as_deref(), id, actor)?;
    tx.prepare_cached("INSERT INTO organisation (organisation_id, name, name_skeleton, created_at) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![id, name.as_str(), skeleton, micros(now)])
        .map_err(unique_as("name", "an organisation with this name exists already"))?;
    append(tx, SITE_CHAIN, event, now)?;
    Ok(Organisation { id, name: name.as_str().to_owned(), created_at: ts(micros(now)) })
}

/// Whether the organisation exists.
pub(crate) fn organisation_found(conn: &Connection, id: Uuid) -> R<bool> {
    Ok(conn.prepare_cached("SELECT 1 FROM organisation WHERE organisation_id = ?1")?.query_row([id], |_| Ok(())).optional()?.is_some())
}

pub(crate) fn insert_user(tx: &Connection, user: &NewUser, actor: Option<Uuid>, now: Timestamp) -> R<Uuid> {
    let id = new_id(now);
    let found = match user.organisation_id {
        Some(organisation_id) => organisation_found(tx, organisation_id)?,
        None => false,
    };
    write_user(tx, id, user, decide::create_user(user, found, id, actor)?, now)?;
    Ok(id)
}

/// Writes the account `id` decided with its `event`.
fn write_user(tx: &Connection, id: Uuid, user: &NewUser, event: Draft, now: Timestamp) -> R<()> {
    tx.prepare_cached(
        "INSERT INTO user_account (user_id, email, name, organisation_id, is_admin, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![id, user.email.as_str(), user.name.as_str(), user.organisation_id, user.is_admin, micros(now)])
    .map_err(unique_as("email", "is already registered"))?;
    if let Some(secret) = &user.password_hash {
        tx.prepare_cached("INSERT INTO credential (user_id, kind, secret, updated_at) VALUES (?1, 'password', ?2, ?3)")?
            .execute(params![id, secret, micros(now)])?;
    }
    append(tx, SITE_CHAIN, event, now)?;
    Ok(())
}

/// Whether a site administrator exists (enabled or not: the site has had its first).
fn admin_exists(c: &Connection) -> R<bool> {
    Ok(c.prepare_cached("SELECT 1 FROM user_account WHERE is_admin = 1 LIMIT 1")?.query_row([], |_| Ok(())).optional()?.is_some())
}

fn setup_link_found(c: &Connection, token_hash: &str) -> R<bool> {
    Ok(c.prepare_cached("SELECT 1 FROM setup_link WHERE token_hash = ?1")?.query_row([token_hash], |_| Ok(())).optional()?.is_some())
}

fn end_sessions(tx: &Connection, user_id: Uuid) -> R<()> {
    tx.prepare_cached("DELETE FROM session WHERE user_id = ?1")?.execute([user_id])?;
    Ok(())
}

/// Writes the new password and its event, and ends the sessions the change ends.
fn change_password(tx: &Connection, change: PasswordChange, password_hash: &str, now: Timestamp) -> R<()> {
    tx.prepare_cached(
        "INSERT INTO credential (user_id, kind, secret, updated_at) VALUES (?1, 'password', ?2, ?3)
         ON CONFLICT (user_id, kind) DO UPDATE SET secret = excluded.secret, updated_at = excluded.updated_at",
    )?
    .execute(params![change.user_id, password_hash, micros(now)])?;
    append(tx, SITE_CHAIN, change.event, now)?;
    tx.prepare_cached("DELETE FROM session WHERE user_id = ?1 AND session_hash IS NOT ?2")?
        .execute(params![change.user_id, change.keep_session])?;
    Ok(())
}

const VIEWER_BY_SESSION: &str = accord_store::viewer_sql!(
    "c.idle_expires_at, c.absolute_expires_at",
    "session",
    "c.session_hash = ?1 AND c.idle_expires_at > ?3 AND c.absolute_expires_at > ?3",
    "?2"
);
const VIEWER_BY_TOKEN: &str = accord_store::viewer_sql!("NULL, NULL", "api_token", "c.token_hash = ?1 AND c.revoked_at IS NULL", "?2");

pub(crate) fn viewer(c: &Connection, credential: &Credential, relationship_id: Option<Uuid>, now: Timestamp) -> R<Viewer> {
    let read = |r: &Row| Viewer::from_cells(&RowCells(r));
    Ok(match credential {
        Credential::Session(hash) => c
            .prepare_cached(VIEWER_BY_SESSION)?
            .query_row(params![hash, relationship_id, micros(now)], read)
            .optional()?
            .ok_or(not_found("session"))?,
        Credential::Token(hash) => {
            c.prepare_cached(VIEWER_BY_TOKEN)?.query_row(params![hash, relationship_id], read).optional()?.ok_or(not_found("token"))?
        }
    })
}

#[async_trait]
impl PeopleStore for SqliteStore {
    async fn create_organisation(&self, name: Name, actor: Option<Uuid>, now: Timestamp) -> StoreResult<Organisation> {
        self.write(move |tx| insert_organisation(tx, &name, actor, now)).await
    }

    async fn organisation(&self, id: Uuid, visible: Visibility) -> StoreResult<Organisation> {
        self.run(move |c| {
            c.prepare_cached(&format!("{ORGANISATION} WHERE {VISIBLE} AND organisation_id = ?2"))?
                .query_row(params![visible.user(), id], organisation_row)
                .optional()?
                .ok_or(not_found("organisation"))
        })
        .await
    }

    async fn find_organisation(&self, name_or_id: &str) -> StoreResult<Organisation> {
        let key = name_or_id.to_owned();
        self.run(move |c| by_name_or_id(c, ORGANISATION, "organisation_id", &key, organisation_row, "organisation")).await
    }

    async fn list_organisations(&self, visible: Visibility, page: PageRequest) -> StoreResult<Page<Organisation>> {
        self.run(move |c| {
            let mut stmt =
                c.prepare_cached(&format!("{ORGANISATION} WHERE {VISIBLE} AND organisation_id > ?2 ORDER BY organisation_id LIMIT ?3"))?;
            let rows = stmt
                .query_map(params![visible.user(), page.after.unwrap_or_default(), page.fetch()], organisation_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Page::from_rows(rows, page, |o| o.id))
        })
        .await
    }

    async fn create_user(&self, user: NewUser, actor: Option<Uuid>, now: Timestamp) -> StoreResult<User> {
        self.write(move |tx| {
            let id = insert_user(tx, &user, actor, now)?;
            get_user(tx, id)
        })
        .await
    }

    async fn user(&self, id: Uuid) -> StoreResult<User> {
        self.run(move |c| get_user(c, id)).await
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<User> {
        let email = email.clone();
        self.run(move |c| {
            c.prepare_cached(&format!("{USER} WHERE u.email = ?1"))?
                .query_row([email.as_str()], user_row)
                .optional()?
                .ok_or(not_found("user"))
        })
        .await
    }

    async fn list_users(&self, page: PageRequest) -> StoreResult<Page<User>> {
        self.run(move |c| {
            let mut stmt = c.prepare_cached(&format!("{USER} WHERE u.user_id > ?1 ORDER BY u.user_id LIMIT ?2"))?;
            let rows = stmt.query_map(params![page.after.unwrap_or_default(), page.fetch()], user_row)?.collect::<Result<Vec<_>, _>>()?;
            Ok(Page::from_rows(rows, page, |u| u.id))
        })
        .await
    }

    async fn password_hash(&self, user_id: Uuid) -> StoreResult<Option<String>> {
        self.run(move |c| {
            Ok(c.prepare_cached("SELECT secret FROM credential WHERE user_id = ?1 AND kind = 'password'")?
                .query_row([user_id], |r| r.get(0))
                .optional()?)
        })
        .await
    }

    async fn create_token(&self, user_id: Uuid, name: Name, token_hash: &str, now: Timestamp) -> StoreResult<ApiToken> {
        let token_hash = token_hash.to_owned();
        self.write(move |tx| {
            get_user(tx, user_id)?;
            let id = new_id(now);
            tx.execute(
                "INSERT INTO api_token (api_token_id, user_id, name, token_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, user_id, name.as_str(), token_hash, micros(now)],
            )?;
            append(tx, SITE_CHAIN, decide::create_token(user_id, id, &name), now)?;
            Ok(ApiToken { id, name: name.into_string(), created_at: ts(micros(now)), revoked_at: None })
        })
        .await
    }

    async fn user_by_token(&self, token_hash: &str) -> StoreResult<User> {
        // A token has no expiry: the time is not read.
        let credential = Credential::Token(token_hash.to_owned());
        self.run(move |c| Ok(viewer(c, &credential, None, Timestamp::UNIX_EPOCH)?.user)).await
    }

    async fn list_tokens(&self, user_id: Uuid) -> StoreResult<Vec<ApiToken>> {
        self.run(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT api_token_id, name, created_at, revoked_at FROM api_token WHERE user_id = ?1 ORDER BY api_token_id",
            )?;
            let rows = stmt.query_map([user_id], |r| ApiToken::from_cells(&RowCells(r)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn revoke_token(&self, user_id: Uuid, token_id: Uuid, now: Timestamp) -> StoreResult<()> {
        self.write(move |tx| {
            let revoked = tx.execute(
                "UPDATE api_token SET revoked_at = ?3 WHERE api_token_id = ?1 AND user_id = ?2 AND revoked_at IS NULL",
                params![token_id, user_id, micros(now)],
            )? > 0;
            append(tx, SITE_CHAIN, decide::revoke_token(revoked, user_id, token_id)?, now)?;
            Ok(())
        })
        .await
    }

    async fn create_session(
        &self, session_hash: &str, user_id: Uuid, now: Timestamp, idle_until: Timestamp, absolute_until: Timestamp,
    ) -> StoreResult<()> {
        let session_hash = session_hash.to_owned();
        self.write(move |tx| {
            decide::create_session(&get_user(tx, user_id)?)?;
            // The user's expired sessions go as a new one comes, so the table does not grow forever.
            tx.prepare_cached("DELETE FROM session WHERE user_id = ?1 AND (idle_expires_at <= ?2 OR absolute_expires_at <= ?2)")?
                .execute(params![user_id, micros(now)])?;
            tx.prepare_cached(
                "INSERT INTO session (session_hash, user_id, created_at, idle_expires_at, absolute_expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![session_hash, user_id, micros(now), micros(idle_until), micros(absolute_until)])?;
            Ok(())
        })
        .await
    }

    async fn session(&self, session_hash: &str, now: Timestamp) -> StoreResult<Session> {
        let credential = Credential::Session(session_hash.to_owned());
        self.run(move |c| viewer(c, &credential, None, now)?.session.ok_or(not_found("session"))).await
    }

    async fn viewer(&self, credential: Credential, relationship_id: Option<Uuid>, now: Timestamp) -> StoreResult<Viewer> {
        self.run(move |c| viewer(c, &credential, relationship_id, now)).await
    }

    async fn touch_session(&self, session_hash: &str, idle_until: Timestamp) -> StoreResult<()> {
        let session_hash = session_hash.to_owned();
        self.write(move |tx| {
            tx.prepare_cached("UPDATE session SET idle_expires_at = MIN(?2, absolute_expires_at) WHERE session_hash = ?1")?
                .execute(params![session_hash, micros(idle_until)])?;
            Ok(())
        })
        .await
    }

    async fn end_session(&self, session_hash: &str) -> StoreResult<()> {
        let session_hash = session_hash.to_owned();
        self.write(move |tx| {
            tx.prepare_cached("DELETE FROM session WHERE session_hash = ?1")?.execute([session_hash])?;
            Ok(())
        })
        .await
    }

    async fn sign_in_failures(&self, email: &str, since: Timestamp) -> StoreResult<u32> {
        let email = email.to_owned();
        self.run(move |c| {
            Ok(c.prepare_cached("SELECT count(*) FROM sign_in_failure WHERE email = ?1 AND failed_at > ?2")?
                .query_row(params![email, micros(since)], |r| r.get(0))?)
        })
        .await
    }

    async fn record_sign_in_failure(&self, email: &str, now: Timestamp, forget_before: Timestamp) -> StoreResult<()> {
        let email = email.to_owned();
        self.write(move |tx| {
            tx.prepare_cached("DELETE FROM sign_in_failure WHERE email = ?1 AND failed_at <= ?2")?
                .execute(params![email, micros(forget_before)])?;
            tx.prepare_cached("INSERT INTO sign_in_failure (email, failed_at) VALUES (?1, ?2)")?.execute(params![email, micros(now)])?;
            Ok(())
        })
        .await
    }

    async fn clear_sign_in_failures(&self, email: &str) -> StoreResult<()> {
        let email = email.to_owned();
        self.write(move |tx| {
            tx.prepare_cached("DELETE FROM sign_in_failure WHERE email = ?1")?.execute([email])?;
            Ok(())
        })
        .await
    }

    async fn set_password(
        &self, user_id: Uuid, password_hash: &str, keep_session: Option<&str>, actor: Option<Uuid>, now: Timestamp,
    ) -> StoreResult<()> {
        let password_hash = password_hash.to_owned();
        let keep_session = keep_session.map(str::to_owned);
        self.write(move |tx| {
            get_user(tx, user_id)?;
            change_password(tx, decide::set_password(user_id, keep_session, actor), &password_hash, now)
        })
        .await
    }

    async fn set_user_disabled(&self, user_id: Uuid, disabled: bool, actor: Option<Uuid>, now: Timestamp) -> StoreResult<User> {
        self.write(move |tx| {
            if let Some(event) = decide::set_user_disabled(&get_user(tx, user_id)?, disabled, actor) {
                tx.prepare_cached("UPDATE user_account SET disabled_at = ?2 WHERE user_id = ?1")?
                    .execute(params![user_id, disabled.then_some(micros(now))])?;
                end_sessions(tx, user_id)?;
                append(tx, SITE_CHAIN, event, now)?;
            }
            get_user(tx, user_id)
        })
        .await
    }

    async fn create_password_reset(
        &self, user_id: Uuid, token_hash: &str, expires_at: Timestamp, actor: Option<Uuid>, now: Timestamp,
    ) -> StoreResult<()> {
        let token_hash = token_hash.to_owned();
        self.write(move |tx| {
            get_user(tx, user_id)?;
            // A new link replaces any earlier one not yet used.
            tx.prepare_cached("UPDATE password_reset SET used_at = ?2 WHERE user_id = ?1 AND used_at IS NULL")?
                .execute(params![user_id, micros(now)])?;
            tx.prepare_cached("INSERT INTO password_reset (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![token_hash, user_id, micros(now), micros(expires_at)])?;
            append(tx, SITE_CHAIN, decide::create_password_reset(user_id, expires_at, actor), now)?;
            Ok(())
        })
        .await
    }

    async fn password_reset_user(&self, token_hash: &str, now: Timestamp) -> StoreResult<User> {
        let token_hash = token_hash.to_owned();
        self.run(move |c| {
            c.prepare_cached(&format!(
                "{USER} JOIN password_reset t ON t.user_id = u.user_id
                 WHERE t.token_hash = ?1 AND t.used_at IS NULL AND t.expires_at > ?2 AND u.disabled_at IS NULL"
            ))?
            .query_row(params![token_hash, micros(now)], user_row)
            .optional()?
            .ok_or(not_found("password reset link"))
        })
        .await
    }

    async fn use_password_reset(&self, token_hash: &str, password_hash: &str, now: Timestamp) -> StoreResult<User> {
        let (token_hash, password_hash) = (token_hash.to_owned(), password_hash.to_owned());
        self.write(move |tx| {
            let user_id: Option<Uuid> = tx
                .prepare_cached(
                    "SELECT t.user_id FROM password_reset t JOIN user_account u ON u.user_id = t.user_id
                     WHERE t.token_hash = ?1 AND t.used_at IS NULL AND t.expires_at > ?2 AND u.disabled_at IS NULL",
                )?
                .query_row(params![token_hash, micros(now)], |r| r.get(0))
                .optional()?;
            let change = decide::use_password_reset(user_id)?;
            tx.prepare_cached("UPDATE password_reset SET used_at = ?2 WHERE token_hash = ?1")?.execute(params![token_hash, micros(now)])?;
            let user_id = change.user_id;
            change_password(tx, change, &password_hash, now)?;
            get_user(tx, user_id)
        })
        .await
    }

    async fn open_setup(&self, token_hash: &str, now: Timestamp) -> StoreResult<bool> {
        let token_hash = token_hash.to_owned();
        self.write(move |tx| {
            let open = !admin_exists(tx)?;
            tx.execute("DELETE FROM setup_link", [])?;
            if open {
                tx.execute("INSERT INTO setup_link (token_hash, created_at) VALUES (?1, ?2)", params![token_hash, micros(now)])?;
            }
            Ok(open)
        })
        .await
    }

    async fn setup_link(&self, token_hash: &str) -> StoreResult<()> {
        let token_hash = token_hash.to_owned();
        self.read(move |c| Ok(decide::setup_link(setup_link_found(c, &token_hash)?, admin_exists(c)?)?)).await
    }

    async fn complete_setup(&self, token_hash: &str, user: NewUser, now: Timestamp) -> StoreResult<User> {
        let token_hash = token_hash.to_owned();
        self.write(move |tx| {
            let id = new_id(now);
            let (user, event) = decide::complete_setup(user, setup_link_found(tx, &token_hash)?, admin_exists(tx)?, id)?;
            write_user(tx, id, &user, event, now)?;
            tx.execute("DELETE FROM setup_link", [])?;
            get_user(tx, id)
        })
        .await
    }
}
