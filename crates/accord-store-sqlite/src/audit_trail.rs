//! The audit trail, read back: its chains, their heads and events (appending is `rows::append`,
//! which every module's writes share).

use super::*;

#[async_trait]
impl AuditStore for SqliteStore {
    async fn audit_events(&self, chain: Uuid, after_position: i64, limit: u32) -> StoreResult<Vec<Event>> {
        self.run(move |c| {
            let mut stmt = c.prepare_cached(&format!("{EVENT} WHERE relationship_id = ?1 AND position > ?2 ORDER BY position LIMIT ?3"))?;
            Ok(stmt.query_map(params![chain, after_position, limit], event_row)?.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn recent_audit_events(&self, chain: Uuid, before_position: Option<i64>, limit: u32) -> StoreResult<Vec<Event>> {
        self.run(move |c| recent(c, EVENT, chain, before_position, limit, event_row)).await
    }

    async fn chain_head(&self, chain: Uuid) -> StoreResult<Option<ChainHead>> {
        self.run(move |c| chain_head(c, chain)).await
    }

    async fn audit_chains(&self) -> StoreResult<Vec<Uuid>> {
        self.run(|c| {
            let mut stmt = c.prepare_cached("SELECT relationship_id FROM audit_head ORDER BY relationship_id")?;
            Ok(stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?)
        })
        .await
    }
}
