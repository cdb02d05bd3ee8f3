//! Accord's domain: the types and rules of a collaborative relationship.
//!
//! Pure: no I/O, no async, no SQL. Time comes in through [`clock::Clock`], ids through
//! [`id::new_id`], so every rule here can be tested with values a test chooses.

pub mod audit;
pub mod calendar;
pub mod clock;
pub mod document;
pub mod escalation;
pub mod event_kind;
pub mod id;
pub mod invalid;
pub mod measure;
pub mod membership;
pub mod records;
pub mod relationship;
pub mod review;
pub mod text;

pub use event_kind::{EventKind, NotificationKind};
pub use invalid::{FieldError, Invalid};
