//! The inbox and the outbox that servers lease mail from.

use super::*;

pub(crate) async fn inbox(c: &impl GenericClient, user_id: Uuid, limit: u32) -> R<Vec<Notification>> {
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
}

/// Leases due mail: rows another worker is leasing right now are skipped, not waited for, and
/// once it commits they are leased and no longer due.
pub(crate) async fn lease_mail(tx: &Transaction<'_>, owner: &str, now: Timestamp, until: Timestamp, limit: u32) -> R<Vec<OutboxMail>> {
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
}
