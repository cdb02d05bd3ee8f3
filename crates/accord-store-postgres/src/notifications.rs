//! Notifications on PostgreSQL: the inbox, the outbox servers lease mail from (`FOR UPDATE SKIP
//! LOCKED`: each e-mail goes to one worker), and the one writer of every module's [`Notice`]s.

use super::*;

/// Writes the inbox entry and the e-mail of `notice` for each recipient (once each, none to a
/// disabled account), in the caller's transaction.
pub(crate) async fn notify(tx: &Transaction<'_>, notice: &Notice, now: Timestamp) -> R<()> {
    let Notice { relationship_id, kind, title, body, link, .. } = notice;
    let recipients = notice.each_recipient();
    // The recipients' addresses in one read, not one per recipient; a disabled account hears nothing.
    let sql = "SELECT user_id, email FROM user_account WHERE user_id = ANY($1) AND disabled_at IS NULL";
    let emails: Vec<(Uuid, String)> = query_all(tx, sql, &[&recipients], |r| Ok((r.try_get(0)?, r.try_get(1)?))).await?;
    for user_id in &recipients {
        let Some((_, email)) = emails.iter().find(|(id, _)| id == user_id) else { continue };
        execute(
            tx,
            "INSERT INTO notification (user_id, notification_id, relationship_id, kind, title, link, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[user_id, &new_id(now), &relationship_id, &kind.as_str(), &title, &link, &now],
        )
        .await?;
        execute(
            tx,
            "INSERT INTO outbox (outbox_id, relationship_id, user_id, email, subject, body, link, due_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            &[&new_id(now), &relationship_id, user_id, email, &title, &body, &link, &now],
        )
        .await?;
    }
    Ok(())
}

#[async_trait]
impl NotificationStore for PostgresStore {
    async fn inbox(&self, user_id: Uuid, limit: u32) -> StoreResult<Vec<Notification>> {
        self.read(move |c| {
            Box::pin(async move {
                query_all(
                    c,
                    "SELECT notification_id, relationship_id, kind, title, link, created_at, read_at FROM notification WHERE user_id = $1 ORDER BY notification_id DESC LIMIT $2",
                    &[&user_id, &i64::from(limit)],
                    |r| {
                        Ok(Notification {
                            id: r.try_get(0)?,
                            relationship_id: r.try_get(1)?,
                            kind: r.try_get(2)?,
                            title: r.try_get(3)?,
                            link: r.try_get(4)?,
                            created_at: r.try_get(5)?,
                            read_at: r.try_get(6)?,
                        })
                    },
                )
                .await
            })
        })
        .await
    }

    async fn unread_count(&self, user_id: Uuid) -> StoreResult<i64> {
        self.read(move |c| {
            Box::pin(async move {
                let sql = "SELECT count(*) FROM notification WHERE user_id = $1 AND read_at IS NULL";
                Ok(query_opt(c, sql, &[&user_id], |r| Ok(r.try_get(0)?)).await?.unwrap_or(0))
            })
        })
        .await
    }

    async fn mark_read(&self, user_id: Uuid, notification_id: Option<Uuid>, now: Timestamp) -> StoreResult<()> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                execute(
                    tx,
                    "UPDATE notification SET read_at = $3 WHERE user_id = $1 AND read_at IS NULL AND ($2::uuid IS NULL OR notification_id = $2)",
                    &[&user_id, &notification_id, &now],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    async fn lease_mail(&self, owner: &str, now: Timestamp, until: Timestamp, limit: u32) -> StoreResult<Vec<OutboxMail>> {
        let owner = owner.to_owned();
        let (now, until) = (micros(now), micros(until));
        // Rows another worker is leasing right now are skipped, not waited for, and once it
        // commits they are leased and no longer due.
        self.write(move |tx| {
            Box::pin(async move {
                query_all(
                    tx,
                    "UPDATE outbox SET leased_until = $2, lease_owner = $3
                     WHERE outbox_id IN (
                         SELECT outbox_id FROM outbox WHERE delivered_at IS NULL AND due_at <= $1 AND (leased_until IS NULL OR leased_until <= $1)
                         ORDER BY due_at LIMIT $4 FOR UPDATE SKIP LOCKED)
                     RETURNING outbox_id, email, subject, body, link, attempts",
                    &[&now, &until, &owner, &i64::from(limit)],
                    |r| {
                        Ok(OutboxMail {
                            id: r.try_get(0)?,
                            to: r.try_get(1)?,
                            subject: r.try_get(2)?,
                            body: r.try_get(3)?,
                            link: r.try_get(4)?,
                            attempts: r.try_get(5)?,
                        })
                    },
                )
                .await
            })
        })
        .await
    }

    async fn mail_sent(&self, id: Uuid, owner: &str, now: Timestamp) -> StoreResult<()> {
        let owner = owner.to_owned();
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                execute(
                    tx,
                    "UPDATE outbox SET delivered_at = $3, leased_until = NULL WHERE outbox_id = $1 AND lease_owner = $2",
                    &[&id, &owner, &now],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    async fn mail_failed(&self, id: Uuid, owner: &str, error: &str, retry_at: Timestamp) -> StoreResult<()> {
        let (owner, error) = (owner.to_owned(), error.to_owned());
        let retry_at = micros(retry_at);
        self.write(move |tx| {
            Box::pin(async move {
                execute(
                    tx,
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $3, due_at = $4, leased_until = NULL
                     WHERE outbox_id = $1 AND lease_owner = $2 AND delivered_at IS NULL",
                    &[&id, &owner, &error, &retry_at],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }
}
