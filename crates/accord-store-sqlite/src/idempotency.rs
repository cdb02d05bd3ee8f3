//! Keys of requests made once, on SQLite: taken in an IMMEDIATE transaction (writers take turns,
//! so of two requests with one key the second finds the first's row).

use super::*;

const KEY_USE: &str = "SELECT fingerprint, status, location, content_type, body FROM idempotency_key WHERE user_id = ?1 AND key_text = ?2";

fn key_use(r: &Row) -> rusqlite::Result<KeyUse> {
    let status: Option<u16> = r.get(1)?;
    let answer = match status {
        Some(status) => Some(KeptAnswer {
            status,
            location: r.get(2)?,
            content_type: r.get(3)?,
            body: r.get::<_, Option<Vec<u8>>>(4)?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(KeyUse { fingerprint: r.get(0)?, answer })
}

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn take_key(
        &self, user_id: Uuid, key: &str, fingerprint: &str, now: Timestamp, expired_before: Timestamp,
    ) -> StoreResult<Option<KeyUse>> {
        let (key, fingerprint) = (key.to_owned(), fingerprint.to_owned());
        self.write(move |tx| {
            tx.prepare_cached("DELETE FROM idempotency_key WHERE created_at < ?1")?.execute([micros(expired_before)])?;
            let taken = tx
                .prepare_cached("INSERT INTO idempotency_key (user_id, key_text, fingerprint, created_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING")?
                .execute(params![user_id, key, fingerprint, micros(now)])?;
            if taken == 1 {
                return Ok(None);
            }
            Ok(tx.prepare_cached(KEY_USE)?.query_row(params![user_id, key], key_use).optional()?)
        })
        .await
    }

    async fn key_use(&self, user_id: Uuid, key: &str) -> StoreResult<Option<KeyUse>> {
        let key = key.to_owned();
        self.run(move |c| Ok(c.prepare_cached(KEY_USE)?.query_row(params![user_id, key], key_use).optional()?)).await
    }

    async fn keep_answer(&self, user_id: Uuid, key: &str, answer: &KeptAnswer) -> StoreResult<()> {
        let (key, answer) = (key.to_owned(), answer.clone());
        self.write(move |tx| {
            tx.prepare_cached(
                "UPDATE idempotency_key SET status = ?3, location = ?4, content_type = ?5, body = ?6 WHERE user_id = ?1 AND key_text = ?2",
            )?
            .execute(params![user_id, key, answer.status, answer.location, answer.content_type, answer.body])?;
            Ok(())
        })
        .await
    }

    async fn release_key(&self, user_id: Uuid, key: &str) -> StoreResult<()> {
        let key = key.to_owned();
        self.write(move |tx| {
            tx.prepare_cached("DELETE FROM idempotency_key WHERE user_id = ?1 AND key_text = ?2")?.execute(params![user_id, key])?;
            Ok(())
        })
        .await
    }
}
