use accord_domain::Invalid;

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist (or is not visible: callers answer 404 either way).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A rule or a uniqueness constraint refused the input; names the field.
    #[error("{0}")]
    Invalid(#[from] Invalid),
    /// The actor may not make this change (one party acting for another, say): a rule of who acts
    /// for whom, checked on what the transaction reads.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The record changed since the caller read it.
    #[error("changed by someone else since you read it (now at version {current})")]
    Stale { current: i64 },
    /// The write no longer fits the record's state (a sealed record, a hash that is no longer
    /// current): a sentence for the person, answered 409.
    #[error("{0}")]
    Conflict(String),
    /// The database failed; not the user's fault.
    #[error("database: {0}")]
    Backend(String),
}

impl StoreError {
    pub fn invalid(field: &str, message: impl Into<String>) -> StoreError {
        StoreError::Invalid(Invalid::one(field, message))
    }

    /// A new organisation's name that looks like `existing`'s (the same skeleton).
    pub fn organisation_looks_like(existing: &str) -> StoreError {
        StoreError::invalid(
            "name",
            format!(
                "looks the same as “{existing}”, an organisation that exists already; choose a name that differs in more than case, spacing, invisible characters or look-alike letters"
            ),
        )
    }
}
