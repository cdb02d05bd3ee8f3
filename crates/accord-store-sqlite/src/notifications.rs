//! Notifications on SQLite: the inbox, the outbox servers lease mail from, and the one writer
//! of every module's [`Notice`]s.

use super::*;

/// Writes the inbox entry and the e-mail of `notice` for each recipient (once each, none to a
/// disabled account), in the caller's transaction.
pub(crate) fn notify(tx: &Connection, notice: &Notice, now: Timestamp) -> R<()> {
    let Notice { relationship_id, kind, title, body, link, .. } = notice;
    for user_id in &notice.each_recipient() {
        let (email, disabled): (String, Option<i64>) = tx
            .prepare_cached("SELECT email, disabled_at FROM user_account WHERE user_id = ?1")?
            .query_row([user_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
            .ok_or(not_found("user"))?;
        if disabled.is_some() {
            continue;
        }
        tx.prepare_cached("INSERT INTO notification (user_id, notification_id, relationship_id, kind, title, link, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?
            .execute(params![user_id, new_id(now), relationship_id, kind.as_str(), title, link, micros(now)])?;
        tx.prepare_cached(
            "INSERT INTO outbox (outbox_id, relationship_id, user_id, email, subject, body, link, due_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        )?
        .execute(params![new_id(now), relationship_id, user_id, email, title, body, link, micros(now)])?;
    }
    Ok(())
}

#[async_trait]
impl NotificationStore for SqliteStore {
    async fn inbox(&self, user_id: Uuid, limit: u32) -> StoreResult<Vec<Notification>> {
        self.run(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT notification_id, relationship_id, kind, title, link, created_at, read_at FROM notification WHERE user_id = ?1 ORDER BY notification_id DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![user_id, limit], |r| {
                Ok(Notification {
                    id: r.get(0)?,
                    relationship_id: r.get(1)?,
                    kind: r.get(2)?,
                    title: r.get(3)?,
                    link: r.get(4)?,
                    created_at: ts(r.get(5)?),
                    read_at: r.get::<_, Option<i64>>(6)?.map(ts),
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn unread_count(&self, user_id: Uuid) -> StoreResult<i64> {
        self.run(move |c| {
            Ok(c.prepare_cached("SELECT count(*) FROM notification WHERE user_id = ?1 AND read_at IS NULL")?
                .query_row([user_id], |r| r.get(0))?)
        })
        .await
    }

    async fn mark_read(&self, user_id: Uuid, notification_id: Option<Uuid>, now: Timestamp) -> StoreResult<()> {
        self.write(move |tx| {
            tx.prepare_cached(
                "UPDATE notification SET read_at = ?3 WHERE user_id = ?1 AND read_at IS NULL AND (?2 IS NULL OR notification_id = ?2)",
            )?
            .execute(params![user_id, notification_id, micros(now)])?;
            Ok(())
        })
        .await
    }

    async fn lease_mail(&self, owner: &str, now: Timestamp, until: Timestamp, limit: u32) -> StoreResult<Vec<OutboxMail>> {
        let owner = owner.to_owned();
        self.write(move |tx| {
            let mut stmt = tx.prepare_cached(
                "UPDATE outbox SET leased_until = ?2, lease_owner = ?3
                 WHERE outbox_id IN (SELECT outbox_id FROM outbox WHERE delivered_at IS NULL AND due_at <= ?1 AND (leased_until IS NULL OR leased_until <= ?1) ORDER BY due_at LIMIT ?4)
                 RETURNING outbox_id, email, subject, body, link, attempts",
            )?;
            let rows = stmt.query_map(params![micros(now), micros(until), owner, limit], |r| {
                Ok(OutboxMail { id: r.get(0)?, to: r.get(1)?, subject: r.get(2)?, body: r.get(3)?, link: r.get(4)?, attempts: r.get(5)? })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn mail_sent(&self, id: Uuid, owner: &str, now: Timestamp) -> StoreResult<()> {
        let owner = owner.to_owned();
        self.write(move |tx| {
            tx.prepare_cached("UPDATE outbox SET delivered_at = ?3, leased_until = NULL WHERE outbox_id = ?1 AND lease_owner = ?2")?
                .execute(params![id, owner, micros(now)])?;
            Ok(())
        })
        .await
    }

    async fn mail_failed(&self, id: Uuid, owner: &str, error: &str, retry_at: Timestamp) -> StoreResult<()> {
        let (owner, error) = (owner.to_owned(), error.to_owned());
        self.write(move |tx| {
            tx.prepare_cached(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?3, due_at = ?4, leased_until = NULL WHERE outbox_id = ?1 AND lease_owner = ?2 AND delivered_at IS NULL",
            )?
            .execute(params![id, owner, error, micros(retry_at)])?;
            Ok(())
        })
        .await
    }
}
