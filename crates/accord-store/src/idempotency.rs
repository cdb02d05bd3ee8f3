//! Requests made once: a POST that carries a key (the API's `Idempotency-Key` header, a form's
//! single-use submission key) is answered once per account, and that answer is kept in the
//! database, so that a repeat on any server (a retry, Back and submit again, a double click)
//! writes nothing and is answered the same.

use crate::StoreResult;
use async_trait::async_trait;
use jiff::Timestamp;
use uuid::Uuid;

/// What holds a key: the request that first took it (a fingerprint of it), and its answer once
/// given (none while that request is still under way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUse {
    pub fingerprint: String,
    pub answer: Option<KeptAnswer>,
}

/// The answer a repeat gets: the first request's status, `Location`, `Content-Type` and body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeptAnswer {
    pub status: u16,
    pub location: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// Keys of requests made once, per account.
#[async_trait]
pub trait IdempotencyStore: Send + Sync + 'static {
    /// Takes `key` for `user_id`, as the request `fingerprint` names: None when it was free (the
    /// caller does the work, then keeps its answer or releases the key), else what holds it. Keys
    /// taken before `expired_before`, anyone's, are forgotten first. Two requests taking one key
    /// at once: one takes it, the other is told what holds it (the primary key decides).
    async fn take_key(
        &self, user_id: Uuid, key: &str, fingerprint: &str, now: Timestamp, expired_before: Timestamp,
    ) -> StoreResult<Option<KeyUse>>;

    /// What holds `key` now (None when it is free again), for a repeat waiting for an answer.
    async fn key_use(&self, user_id: Uuid, key: &str) -> StoreResult<Option<KeyUse>>;

    /// Keeps the answer to the request that took `key`.
    async fn keep_answer(&self, user_id: Uuid, key: &str, answer: &KeptAnswer) -> StoreResult<()>;

    /// Frees `key`: its request was refused or failed, so sending it again may work.
    async fn release_key(&self, user_id: Uuid, key: &str) -> StoreResult<()>;
}
