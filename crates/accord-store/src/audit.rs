//! The audit trail: its chains, read back.

use crate::StoreResult;
use accord_domain::audit::{ChainHead, Event};
use async_trait::async_trait;
use uuid::Uuid;

/// The audit trail.
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// Events of one chain after `after_position`, oldest first, at most `limit`.
    async fn audit_events(&self, chain: Uuid, after_position: i64, limit: u32) -> StoreResult<Vec<Event>>;

    /// Newest first, before `before_position` (for pages that show recent activity).
    async fn recent_audit_events(&self, chain: Uuid, before_position: Option<i64>, limit: u32) -> StoreResult<Vec<Event>>;

    async fn chain_head(&self, chain: Uuid) -> StoreResult<Option<ChainHead>>;

    /// Every chain: the site chain and one per relationship.
    async fn audit_chains(&self) -> StoreResult<Vec<Uuid>>;
}
