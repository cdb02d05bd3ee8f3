//! Organisations, accounts, API tokens, sessions and sign-in throttling: each write loads (and
//! locks) what its decision (`accord_store::people::decide`) reads and applies what it returns.

use super::*;
use accord_store::people::decide::{self, PasswordChange};

const ORGANISATION: &str = "SELECT o.organisation_id, o.name, o.created_at FROM organisation o";

fn organisation_row(r: &Row) -> R<Organisation> {
    Organisation::from_cells(&RowCells(r))
}

/// The organisations `Visibility` shows, the user in `$1` (NULL: all): the user's own and the
/// parties to the relationships the user is a current member of.
const VISIBLE: &str = "($1::uuid IS NULL OR o.organisation_id = (SELECT organisation_id FROM user_account WHERE user_id = $1)
    OR o.organisation_id IN (SELECT p.organisation_id FROM membership m JOIN party p ON p.relationship_id = m.relationship_id
        WHERE m.user_id = $1 AND m.left_at IS NULL))";

/// Names stored before their skeletons were (V11) get one; of two old names that look alike, the
/// first keeps it, so a new name like either is still refused.
pub(crate) async fn fill_name_skeletons(tx: &Transaction<'_>) -> R<()> {
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

const TOKEN: &str = "SELECT api_token_id, name, created_at, revoked_at FROM api_token";

fn token_row(r: &Row) -> R<ApiToken> {
    ApiToken::from_cells(&RowCells(r))
}

/// Whether the organisation exists.
pub(crate) async fn organisation_found(c: &impl GenericClient, id: Uuid) -> R<bool> {
    Ok(query_opt(c, "SELECT 1 FROM organisation WHERE organisation_id = $1", &[&id], |_| Ok(())).await?.is_some())
}

/// A new organisation, unless its name looks like an existing one's.
pub(crate) async fn insert_organisation(tx: &Transaction<'_>, name: &Name, actor: Option<Uuid>, now: Timestamp) -> R<Organisation> {
    let skeleton = name.skeleton();
    let like = "SELECT name FROM organisation WHERE name_skeleton = $1";
    let existing = query_opt(tx, like, &[&skeleton], |r| Ok(r.try_get::<_, String>(0)?)).await?;
    let id = new_id(now);
    let event = decide::create_organisation(name, existing.as_deref(), id, actor)?;
    execute(
        tx,
        "INSERT INTO organisation (organisation_id, name, name_skeleton, created_at) VALUES ($1, $2, $3, $4)",
        &[&id, &name.as_str(), &skeleton, &now],
    )
    .await
    .map_err(unique_as("name", "an organisation with this name exists already"))?;
    append(tx, SITE_CHAIN, event, now).await?;
    Ok(Organisation { id, name: name.as_str().to_owned(), created_at: now })
}

/// The user, their row locked until the transaction ends (`FOR UPDATE`, or `FOR SHARE` when
/// `share`), so that a change of the account waits for this writer, or this writer for it.
async fn lock_user(tx: &Transaction<'_>, id: Uuid, share: bool) -> R<User> {
    let sql = format!("{USER} WHERE u.user_id = $1 FOR {} OF u", if share { "SHARE" } else { "UPDATE" });
    query_opt(tx, &sql, &[&id], user_row).await?.ok_or(not_found("user"))
}

pub(crate) async fn insert_user(tx: &Transaction<'_>, user: &NewUser, actor: Option<Uuid>, now: Timestamp) -> R<Uuid> {
    let id = new_id(now);
    let found = match user.organisation_id {
        Some(organisation_id) => organisation_found(tx, organisation_id).await?,
        None => false,
    };
    write_user(tx, id, user, decide::create_user(user, found, id, actor)?, now).await?;
    Ok(id)
}

/// Writes the account `id` decided with its `event`.
async fn write_user(tx: &Transaction<'_>, id: Uuid, user: &NewUser, event: Draft, now: Timestamp) -> R<()> {
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
    append(tx, SITE_CHAIN, event, now).await?;
    Ok(())
}

/// Whether a site administrator exists (enabled or not: the site has had its first).
async fn admin_exists(c: &impl GenericClient) -> R<bool> {
    Ok(query_opt(c, "SELECT 1 FROM user_account WHERE is_admin LIMIT 1", &[], |_| Ok(())).await?.is_some())
}

/// Whether `token_hash` is the setup link; in a transaction, locked until it ends, so that of two
/// setups with one link the second waits and then finds it gone.
async fn setup_link_found(c: &impl GenericClient, token_hash: &str, lock: bool) -> R<bool> {
    let sql =
        if lock { "SELECT 1 FROM setup_link WHERE token_hash = $1 FOR UPDATE" } else { "SELECT 1 FROM setup_link WHERE token_hash = $1" };
    Ok(query_opt(c, sql, &[&token_hash], |_| Ok(())).await?.is_some())
}

/// Writes the new password and its event, and ends the sessions the change ends.
async fn change_password(tx: &Transaction<'_>, change: PasswordChange, password_hash: &str, now: Timestamp) -> R<()> {
    execute(
        tx,
        "INSERT INTO credential (user_id, kind, secret, updated_at) VALUES ($1, 'password', $2, $3)
         ON CONFLICT (user_id, kind) DO UPDATE SET secret = excluded.secret, updated_at = excluded.updated_at",
        &[&change.user_id, &password_hash, &now],
    )
    .await?;
    append(tx, SITE_CHAIN, change.event, now).await?;
    execute(tx, "DELETE FROM session WHERE user_id = $1 AND session_hash IS DISTINCT FROM $2", &[&change.user_id, &change.keep_session])
        .await?;
    Ok(())
}

const VIEWER_BY_SESSION: &str = accord_store::viewer_sql!(
    "c.idle_expires_at, c.absolute_expires_at",
    "session",
    "c.session_hash = $1 AND c.idle_expires_at > $3 AND c.absolute_expires_at > $3",
    "$2"
);
const VIEWER_BY_TOKEN: &str =
    accord_store::viewer_sql!("NULL::timestamptz, NULL::timestamptz", "api_token", "c.token_hash = $1 AND c.revoked_at IS NULL", "$2");

pub(crate) async fn viewer(c: &impl GenericClient, credential: &Credential, relationship_id: Option<Uuid>, now: Timestamp) -> R<Viewer> {
    let row = match credential {
        Credential::Session(hash) => {
            let statement = c.prepare_cached(VIEWER_BY_SESSION).await?;
            c.query_opt(&statement, &[hash, &relationship_id, &micros(now)]).await?.ok_or(not_found("session"))?
        }
        Credential::Token(hash) => {
            let statement = c.prepare_cached(VIEWER_BY_TOKEN).await?;
            c.query_opt(&statement, &[hash, &relationship_id]).await?.ok_or(not_found("token"))?
        }
    };
    Viewer::from_cells(&RowCells(&row))
}

#[async_trait]
impl PeopleStore for PostgresStore {
    async fn create_organisation(&self, name: Name, actor: Option<Uuid>, now: Timestamp) -> StoreResult<Organisation> {
        let now = micros(now);
        self.write(move |tx| Box::pin(async move { insert_organisation(tx, &name, actor, now).await })).await
    }

    async fn organisation(&self, id: Uuid, visible: Visibility) -> StoreResult<Organisation> {
        self.read(move |c| {
            Box::pin(async move {
                let sql = format!("{ORGANISATION} WHERE {VISIBLE} AND o.organisation_id = $2");
                query_opt(c, &sql, &[&visible.user(), &id], organisation_row).await?.ok_or(not_found("organisation"))
            })
        })
        .await
    }

    async fn find_organisation(&self, name_or_id: &str) -> StoreResult<Organisation> {
        let key = name_or_id.to_owned();
        self.read(move |c| {
            Box::pin(async move { by_name_or_id(c, ORGANISATION, "o", "organisation_id", &key, organisation_row, "organisation").await })
        })
        .await
    }

    async fn list_organisations(&self, visible: Visibility, page: PageRequest) -> StoreResult<Page<Organisation>> {
        self.read(move |c| {
            Box::pin(async move {
                let sql = format!("{ORGANISATION} WHERE {VISIBLE} AND o.organisation_id > $2 ORDER BY o.organisation_id LIMIT $3");
                let after = page.after.unwrap_or_default();
                let rows = query_all(c, &sql, &[&visible.user(), &after, &page.fetch()], organisation_row).await?;
                Ok(Page::from_rows(rows, page, |o| o.id))
            })
        })
        .await
    }

    async fn create_user(&self, user: NewUser, actor: Option<Uuid>, now: Timestamp) -> StoreResult<User> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                let id = insert_user(tx, &user, actor, now).await?;
                get_user(tx, id).await
            })
        })
        .await
    }

    async fn user(&self, id: Uuid) -> StoreResult<User> {
        self.read(move |c| Box::pin(get_user(c, id))).await
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<User> {
        let email = email.clone();
        self.read(move |c| {
            Box::pin(async move {
                let sql = format!("{USER} WHERE u.email = $1");
                query_opt(c, &sql, &[&email.as_str()], user_row).await?.ok_or(not_found("user"))
            })
        })
        .await
    }

    async fn list_users(&self, page: PageRequest) -> StoreResult<Page<User>> {
        self.read(move |c| {
            Box::pin(async move {
                let sql = format!("{USER} WHERE u.user_id > $1 ORDER BY u.user_id LIMIT $2");
                let after = page.after.unwrap_or_default();
                let rows = query_all(c, &sql, &[&after, &page.fetch()], user_row).await?;
                Ok(Page::from_rows(rows, page, |u| u.id))
            })
        })
        .await
    }

    async fn password_hash(&self, user_id: Uuid) -> StoreResult<Option<String>> {
        self.read(move |c| {
            Box::pin(async move {
                query_opt(c, "SELECT secret FROM credential WHERE user_id = $1 AND kind = 'password'", &[&user_id], |r| Ok(r.try_get(0)?))
                    .await
            })
        })
        .await
    }

    async fn create_token(&self, user_id: Uuid, name: Name, token_hash: &str, now: Timestamp) -> StoreResult<ApiToken> {
        let token_hash = token_hash.to_owned();
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                get_user(tx, user_id).await?;
                let id = new_id(now);
                execute(
                    tx,
                    "INSERT INTO api_token (api_token_id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
                    &[&id, &user_id, &name.as_str(), &token_hash, &now],
                )
                .await?;
                append(tx, SITE_CHAIN, decide::create_token(user_id, id, &name), now).await?;
                Ok(ApiToken { id, name: name.into_string(), created_at: now, revoked_at: None })
            })
        })
        .await
    }

    async fn user_by_token(&self, token_hash: &str) -> StoreResult<User> {
        // A token has no expiry: the time is not read.
        let credential = Credential::Token(token_hash.to_owned());
        self.read(move |c| Box::pin(async move { Ok(viewer(c, &credential, None, Timestamp::UNIX_EPOCH).await?.user) })).await
    }

    async fn list_tokens(&self, user_id: Uuid) -> StoreResult<Vec<ApiToken>> {
        self.read(move |c| {
            Box::pin(async move {
                let sql = format!("{TOKEN} WHERE user_id = $1 ORDER BY api_token_id");
                query_all(c, &sql, &[&user_id], token_row).await
            })
        })
        .await
    }

    async fn revoke_token(&self, user_id: Uuid, token_id: Uuid, now: Timestamp) -> StoreResult<()> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                let revoked = execute(
                    tx,
                    "UPDATE api_token SET revoked_at = $3 WHERE api_token_id = $1 AND user_id = $2 AND revoked_at IS NULL",
                    &[&token_id, &user_id, &now],
                )
                .await?
                    > 0;
                append(tx, SITE_CHAIN, decide::revoke_token(revoked, user_id, token_id)?, now).await?;
                Ok(())
            })
        })
        .await
    }

    async fn create_session(
        &self, session_hash: &str, user_id: Uuid, now: Timestamp, idle_until: Timestamp, absolute_until: Timestamp,
    ) -> StoreResult<()> {
        let session_hash = session_hash.to_owned();
        let (now, idle_until, absolute_until) = (micros(now), micros(idle_until), micros(absolute_until));
        self.write(move |tx| {
            Box::pin(async move {
                // Shared lock: a concurrent disabling either waits for this session (and ends it)
                // or has committed already (and the session is refused).
                decide::create_session(&lock_user(tx, user_id, true).await?)?;
                // The user's expired sessions go as a new one comes, so the table does not grow forever.
                execute(
                    tx,
                    "DELETE FROM session WHERE user_id = $1 AND (idle_expires_at <= $2 OR absolute_expires_at <= $2)",
                    &[&user_id, &now],
                )
                .await?;
                execute(
                    tx,
                    "INSERT INTO session (session_hash, user_id, created_at, idle_expires_at, absolute_expires_at) VALUES ($1, $2, $3, $4, $5)",
                    &[&session_hash, &user_id, &now, &idle_until, &absolute_until],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    async fn session(&self, session_hash: &str, now: Timestamp) -> StoreResult<Session> {
        let credential = Credential::Session(session_hash.to_owned());
        self.read(move |c| Box::pin(async move { viewer(c, &credential, None, now).await?.session.ok_or(not_found("session")) })).await
    }

    async fn viewer(&self, credential: Credential, relationship_id: Option<Uuid>, now: Timestamp) -> StoreResult<Viewer> {
        self.read(move |c| Box::pin(async move { viewer(c, &credential, relationship_id, now).await })).await
    }

    async fn touch_session(&self, session_hash: &str, idle_until: Timestamp) -> StoreResult<()> {
        let session_hash = session_hash.to_owned();
        let idle_until = micros(idle_until);
        self.write(move |tx| {
            Box::pin(async move {
                execute(
                    tx,
                    "UPDATE session SET idle_expires_at = LEAST($2, absolute_expires_at) WHERE session_hash = $1",
                    &[&session_hash, &idle_until],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    async fn end_session(&self, session_hash: &str) -> StoreResult<()> {
        let session_hash = session_hash.to_owned();
        self.write(move |tx| {
            Box::pin(async move {
                execute(tx, "DELETE FROM session WHERE session_hash = $1", &[&session_hash]).await?;
                Ok(())
            })
        })
        .await
    }

    async fn sign_in_failures(&self, email: &str, since: Timestamp) -> StoreResult<u32> {
        let email = email.to_owned();
        let since = micros(since);
        self.read(move |c| {
            Box::pin(async move {
                let n: i64 =
                    query_opt(c, "SELECT count(*) FROM sign_in_failure WHERE email = $1 AND failed_at > $2", &[&email, &since], |r| {
                        Ok(r.try_get(0)?)
                    })
                    .await?
                    .unwrap_or(0);
                u32::try_from(n).map_err(backend)
            })
        })
        .await
    }

    async fn record_sign_in_failure(&self, email: &str, now: Timestamp, forget_before: Timestamp) -> StoreResult<()> {
        let email = email.to_owned();
        let (now, forget_before) = (micros(now), micros(forget_before));
        self.write(move |tx| {
            Box::pin(async move {
                execute(tx, "DELETE FROM sign_in_failure WHERE email = $1 AND failed_at <= $2", &[&email, &forget_before]).await?;
                execute(tx, "INSERT INTO sign_in_failure (email, failed_at) VALUES ($1, $2)", &[&email, &now]).await?;
                Ok(())
            })
        })
        .await
    }

    async fn clear_sign_in_failures(&self, email: &str) -> StoreResult<()> {
        let email = email.to_owned();
        self.write(move |tx| {
            Box::pin(async move {
                execute(tx, "DELETE FROM sign_in_failure WHERE email = $1", &[&email]).await?;
                Ok(())
            })
        })
        .await
    }

    async fn set_password(
        &self, user_id: Uuid, password_hash: &str, keep_session: Option<&str>, actor: Option<Uuid>, now: Timestamp,
    ) -> StoreResult<()> {
        let password_hash = password_hash.to_owned();
        let keep_session = keep_session.map(str::to_owned);
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                lock_user(tx, user_id, false).await?;
                change_password(tx, decide::set_password(user_id, keep_session, actor), &password_hash, now).await
            })
        })
        .await
    }

    async fn set_user_disabled(&self, user_id: Uuid, disabled: bool, actor: Option<Uuid>, now: Timestamp) -> StoreResult<User> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                // Locked, so that two admins who both see the account enabled do not both disable it.
                if let Some(event) = decide::set_user_disabled(&lock_user(tx, user_id, false).await?, disabled, actor) {
                    execute(tx, "UPDATE user_account SET disabled_at = $2 WHERE user_id = $1", &[&user_id, &disabled.then_some(now)])
                        .await?;
                    execute(tx, "DELETE FROM session WHERE user_id = $1", &[&user_id]).await?;
                    append(tx, SITE_CHAIN, event, now).await?;
                }
                get_user(tx, user_id).await
            })
        })
        .await
    }

    async fn create_password_reset(
        &self, user_id: Uuid, token_hash: &str, expires_at: Timestamp, actor: Option<Uuid>, now: Timestamp,
    ) -> StoreResult<()> {
        let token_hash = token_hash.to_owned();
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                // Locked, so that two links issued at once cannot both stay live.
                lock_user(tx, user_id, false).await?;
                // A new link replaces any earlier one not yet used.
                execute(tx, "UPDATE password_reset SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL", &[&user_id, &now]).await?;
                execute(
                    tx,
                    "INSERT INTO password_reset (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                    &[&token_hash, &user_id, &now, &micros(expires_at)],
                )
                .await?;
                append(tx, SITE_CHAIN, decide::create_password_reset(user_id, expires_at, actor), now).await?;
                Ok(())
            })
        })
        .await
    }

    async fn password_reset_user(&self, token_hash: &str, now: Timestamp) -> StoreResult<User> {
        let token_hash = token_hash.to_owned();
        let now = micros(now);
        self.read(move |c| {
            Box::pin(async move {
                let sql = format!(
                    "{USER} JOIN password_reset t ON t.user_id = u.user_id
                     WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > $2 AND u.disabled_at IS NULL"
                );
                query_opt(c, &sql, &[&token_hash, &now], user_row).await?.ok_or(not_found("password reset link"))
            })
        })
        .await
    }

    async fn use_password_reset(&self, token_hash: &str, password_hash: &str, now: Timestamp) -> StoreResult<User> {
        let (token_hash, password_hash) = (token_hash.to_owned(), password_hash.to_owned());
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                // One statement finds and uses the link: of two uses at once, the second waits for
                // the first, then finds the link used.
                let user_id: Option<Uuid> = query_opt(
                    tx,
                    "UPDATE password_reset t SET used_at = $2 FROM user_account u
                     WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > $2 AND u.user_id = t.user_id AND u.disabled_at IS NULL
                     RETURNING t.user_id",
                    &[&token_hash, &now],
                    |r| Ok(r.try_get(0)?),
                )
                .await?;
                let change = decide::use_password_reset(user_id)?;
                let user_id = change.user_id;
                change_password(tx, change, &password_hash, now).await?;
                get_user(tx, user_id).await
            })
        })
        .await
    }

    async fn open_setup(&self, token_hash: &str, now: Timestamp) -> StoreResult<bool> {
        let (token_hash, now) = (token_hash.to_owned(), micros(now));
        self.write(move |tx| {
            Box::pin(async move {
                // One server at a time: the link another server printed a moment ago is replaced
                // by this one's, not left beside it.
                execute(tx, "LOCK TABLE setup_link IN EXCLUSIVE MODE", &[]).await?;
                let open = !admin_exists(tx).await?;
                execute(tx, "DELETE FROM setup_link", &[]).await?;
                if open {
                    execute(tx, "INSERT INTO setup_link (token_hash, created_at) VALUES ($1, $2)", &[&token_hash, &now]).await?;
                }
                Ok(open)
            })
        })
        .await
    }

    async fn setup_link(&self, token_hash: &str) -> StoreResult<()> {
        let token_hash = token_hash.to_owned();
        self.read(move |c| {
            Box::pin(async move { Ok(decide::setup_link(setup_link_found(c, &token_hash, false).await?, admin_exists(c).await?)?) })
        })
        .await
    }

    async fn complete_setup(&self, token_hash: &str, user: NewUser, now: Timestamp) -> StoreResult<User> {
        let (token_hash, now) = (token_hash.to_owned(), micros(now));
        self.write(move |tx| {
            Box::pin(async move {
                let found = setup_link_found(tx, &token_hash, true).await?;
                let id = new_id(now);
                let (user, event) = decide::complete_setup(user, found, admin_exists(tx).await?, id)?;
                write_user(tx, id, &user, event, now).await?;
                execute(tx, "DELETE FROM setup_link", &[]).await?;
                get_user(tx, id).await
            })
        })
        .await
    }
}
