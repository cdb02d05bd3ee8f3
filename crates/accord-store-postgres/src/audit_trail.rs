//! The audit trail, read back: its chains, their heads and events (appending is `rows::append`,
//! which every module's writes share).

use super::*;

#[async_trait]
impl AuditStore for PostgresStore {
    async fn audit_events(&self, chain: Uuid, after_position: i64, limit: u32) -> StoreResult<Vec<Event>> {
        self.read(move |c| {
            Box::pin(async move {
                let sql = format!("{EVENT} WHERE relationship_id = $1 AND position > $2 ORDER BY position LIMIT $3");
                query_all(c, &sql, &[&chain, &after_position, &i64::from(limit)], event_row).await
            })
        })
        .await
    }

    async fn recent_audit_events(&self, chain: Uuid, before_position: Option<i64>, limit: u32) -> StoreResult<Vec<Event>> {
        self.read(move |c| Box::pin(recent(c, EVENT, chain, before_position, limit, event_row))).await
    }

    async fn chain_head(&self, chain: Uuid) -> StoreResult<Option<ChainHead>> {
        self.read(move |c| Box::pin(chain_head(c, chain))).await
    }

    async fn audit_chains(&self) -> StoreResult<Vec<Uuid>> {
        self.read(|c| {
            Box::pin(async move {
                query_all(c, "SELECT relationship_id FROM audit_head ORDER BY relationship_id", &[], |r| Ok(r.try_get(0)?)).await
            })
        })
        .await
    }
}
