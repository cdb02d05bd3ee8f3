//! Keys of requests made once, on PostgreSQL: of two requests inserting one key at once, the
//! second waits on the first's uncommitted row, then inserts nothing and reads it.

use super::*;

const KEY_USE: &str = "SELECT fingerprint, status, location, content_type, body FROM idempotency_key WHERE user_id = $1 AND key_text = $2";

fn key_use(r: &Row) -> R<KeyUse> {
    let status: Option<i32> = r.try_get(1)?;
    let answer = match status {
        Some(status) => Some(KeptAnswer {
            status: u16::try_from(status).map_err(backend)?,
            location: r.try_get(2)?,
            content_type: r.try_get(3)?,
            body: r.try_get::<_, Option<Vec<u8>>>(4)?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(KeyUse { fingerprint: r.try_get(0)?, answer })
}

#[async_trait]
impl IdempotencyStore for PostgresStore {
    async fn take_key(
        &self, user_id: Uuid, key: &str, fingerprint: &str, now: Timestamp, expired_before: Timestamp,
    ) -> StoreResult<Option<KeyUse>> {
        let (key, fingerprint) = (key.to_owned(), fingerprint.to_owned());
        let (now, expired_before) = (micros(now), micros(expired_before));
        self.write(move |tx| {
            Box::pin(async move {
                execute(tx, "DELETE FROM idempotency_key WHERE created_at < $1", &[&expired_before]).await?;
                let taken = execute(
                    tx,
                    "INSERT INTO idempotency_key (user_id, key_text, fingerprint, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    &[&user_id, &key, &fingerprint, &now],
                )
                .await?;
                if taken == 1 {
                    return Ok(None);
                }
                query_opt(tx, KEY_USE, &[&user_id, &key], key_use).await
            })
        })
        .await
    }

    async fn key_use(&self, user_id: Uuid, key: &str) -> StoreResult<Option<KeyUse>> {
        let key = key.to_owned();
        self.read(move |c| Box::pin(async move { query_opt(c, KEY_USE, &[&user_id, &key], key_use).await })).await
    }

    async fn keep_answer(&self, user_id: Uuid, key: &str, answer: &KeptAnswer) -> StoreResult<()> {
        let (key, answer) = (key.to_owned(), answer.clone());
        self.write(move |tx| {
            Box::pin(async move {
                execute(
                    tx,
                    "UPDATE idempotency_key SET status = $3, location = $4, content_type = $5, body = $6 WHERE user_id = $1 AND key_text = $2",
                    &[&user_id, &key, &i32::from(answer.status), &answer.location, &answer.content_type, &answer.body],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    async fn release_key(&self, user_id: Uuid, key: &str) -> StoreResult<()> {
        let key = key.to_owned();
        self.write(move |tx| {
            Box::pin(async move {
                execute(tx, "DELETE FROM idempotency_key WHERE user_id = $1 AND key_text = $2", &[&user_id, &key]).await?;
                Ok(())
            })
        })
        .await
    }
}
