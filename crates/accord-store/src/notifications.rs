//! Notifications, the module every other one tells people through: the in-app inbox and the
//! e-mail outbox ([`NotificationStore`]), and the [`Notice`] a module's decision returns, which
//! each backend writes with one writer (an inbox entry and an e-mail per recipient).

use crate::StoreResult;
use accord_domain::NotificationKind;
use async_trait::async_trait;
use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Notification {
    pub id: Uuid,
    pub relationship_id: Uuid,
    pub kind: String,
    pub title: String,
    pub link: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub read_at: Option<Timestamp>,
}

/// An e-mail leased for delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMail {
    pub id: Uuid,
    pub to: String,
    pub subject: String,
    pub body: String,
    /// The page the mail is about, as a path (`/relationships/.../issues/...`): the sender puts
    /// the site's public address in front.
    pub link: String,
    pub attempts: i32,
}

/// Words for people, decided by a module's write: each recipient gets an inbox entry titled
/// `title` and an e-mail of `title` and `body`, both pointing at `link`. The writer sends once
/// per recipient however often they are listed, and skips disabled accounts.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub relationship_id: Uuid,
    pub recipients: Vec<Uuid>,
    pub kind: NotificationKind,
    pub title: String,
    pub body: String,
    /// The page the notice is about, as a path.
    pub link: String,
}

impl Notice {
    /// The recipients in order, each once.
    pub fn each_recipient(&self) -> Vec<Uuid> {
        let mut seen: Vec<Uuid> = Vec::with_capacity(self.recipients.len());
        for user in &self.recipients {
            if !seen.contains(user) {
                seen.push(*user);
            }
        }
        seen
    }
}

/// Notifications: the in-app inbox and the e-mail outbox.
#[async_trait]
pub trait NotificationStore: Send + Sync + 'static {
    async fn inbox(&self, user_id: Uuid, limit: u32) -> StoreResult<Vec<Notification>>;

    async fn unread_count(&self, user_id: Uuid) -> StoreResult<i64>;

    async fn mark_read(&self, user_id: Uuid, notification_id: Option<Uuid>, now: Timestamp) -> StoreResult<()>;

    /// Leases up to `limit` due e-mails to `owner` until `until`; a lease that lapses is taken again.
    async fn lease_mail(&self, owner: &str, now: Timestamp, until: Timestamp, limit: u32) -> StoreResult<Vec<OutboxMail>>;

    async fn mail_sent(&self, id: Uuid, owner: &str, now: Timestamp) -> StoreResult<()>;

    /// Records a failed attempt; tried again from `retry_at`.
    async fn mail_failed(&self, id: Uuid, owner: &str, error: &str, retry_at: Timestamp) -> StoreResult<()>;
}
