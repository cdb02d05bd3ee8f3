//! What every module's inputs share: text parsed into domain values (each bad field named), and
//! the ids of what a relationship holds that inputs may refer to.

use crate::AppState;
use crate::error::ApiError;
use accord_domain::id::parse_id;
use accord_domain::text::{Name, parse_long_text};
use accord_store::Member;
use uuid::Uuid;

pub fn id_in(field: &str, text: &str, known: &[Uuid]) -> Result<Uuid, String> {
    parse_id(text).filter(|id| known.contains(id)).ok_or_else(|| format!("{text:?} is not one of this relationship's {field}"))
}

/// A current member named by user id, name or e-mail address (names and addresses in any case);
/// empty for nobody. The action log offers names, so that a page of actions carries one list of
/// the members instead of one per row.
pub fn member_named(text: &str, members: &[Member]) -> Result<Option<Uuid>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Some(id) = parse_id(text) {
        return members
            .iter()
            .find(|m| m.user_id == id)
            .map(|m| Some(m.user_id))
            .ok_or_else(|| format!("{id} is no longer a member of this relationship: choose a current member as the owner, or nobody"));
    }
    let mut found = members.iter().filter(|m| m.name.eq_ignore_ascii_case(text) || m.email.eq_ignore_ascii_case(text));
    match (found.next(), found.next()) {
        (Some(m), None) => Ok(Some(m.user_id)),
        (Some(_), Some(_)) => Err(format!("more than one member is called {text:?}: give their e-mail address")),
        (None, _) => Err(format!("{text:?} is not a current member: choose a name from the list")),
    }
}

pub fn optional_id(text: &str, known: &[Uuid], what: &str) -> Result<Option<Uuid>, String> {
    if text.trim().is_empty() { Ok(None) } else { id_in(what, text, known).map(Some) }
}

pub fn version(text: &str) -> Result<i64, String> {
    text.trim().parse().map_err(|_| "must be the version you read (a whole number)".to_owned())
}

pub fn title(text: &str) -> Result<String, String> {
    Name::parse(text).map(Name::into_string)
}

pub fn long(text: &str) -> Result<String, String> {
    parse_long_text(text, 8000)
}

/// What the relationship holds that inputs refer to.
pub struct Known {
    pub parties: Vec<Uuid>,
    pub members: Vec<Uuid>,
    pub objectives: Vec<Uuid>,
}

/// The ids inputs may refer to.
pub async fn known(state: &AppState, relationship_id: Uuid) -> Result<Known, ApiError> {
    Ok(Known {
        parties: state.store.parties(relationship_id).await?.into_iter().map(|p| p.id).collect(),
        members: state.store.members(relationship_id).await?.into_iter().map(|m| m.user_id).collect(),
        objectives: state.store.objectives(relationship_id).await?.into_iter().map(|o| o.id).collect(),
    })
}
