//! The audit trail as members read it: the relationship's chain, page by page, and the whole of it
//! to download and verify offline (pages), or oldest first (API).

pub mod api;
pub mod pages;
