//! The action log: one list of actions that every module raises them into (a red KPI period and
//! an obligation today; reviews, risks and surveys next), each knowing its source by kind and id.
//! Its inputs, its rules and its operations, which the pages and the API both call.

pub mod api;
pub mod pages;

use crate::AppState;
use crate::auth::Access;
use crate::error::{ApiError, ApiResult, stale};
use crate::fields::{self, whole};
use crate::input::{Known, id_in, known, long, member_named, optional_id, title, version};
use accord_domain::Invalid;
use accord_domain::id::parse_id;
use accord_domain::measure::new_due_date;
use accord_domain::relationship::parse_date;
use accord_store::*;
use jiff::civil::Date;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ActionInput {
    #[schema(required, schema_with = fields::name)]
    pub title: String,
    #[schema(schema_with = fields::long_text)]
    pub description: String,
    #[schema(schema_with = fields::owner)]
    pub owner: String,
    #[schema(schema_with = fields::action_party)]
    pub party: String,
    /// YYYY-MM-DD: today (in the relationship's time zone) or later.
    #[schema(required, format = Date)]
    pub due_date: String,
    /// What raised it: `kpi_period` or `obligation` (with `source_id`; `source_period` for a KPI).
    #[schema(schema_with = fields::source_kind)]
    pub source_kind: String,
    #[schema(schema_with = fields::optional_id)]
    pub source_id: String,
    #[schema(schema_with = fields::optional_date)]
    pub source_period: String,
}

impl ActionInput {
    /// A new action is due `today` (in the relationship's zone) or later.
    pub fn parse(&self, relationship_id: Uuid, known: &Known, my_party: Uuid, today: Date) -> Result<NewAction, Invalid> {
        let mut invalid = Invalid::default();
        let title = invalid.check("title", title(&self.title));
        let description = invalid.check("description", long(&self.description));
        let owner = invalid.check("owner", optional_id(&self.owner, &known.members, "members"));
        let party = if self.party.trim().is_empty() {
            Some(my_party)
        } else {
            invalid.check("party", id_in("parties", &self.party, &known.parties))
        };
        let due = invalid.check("due_date", parse_date(&self.due_date).and_then(|d| new_due_date(d, today)));
        // The source's fields are checked whenever they are sent, and kept only with a kind.
        let kind = self.source_kind.trim();
        let id = (!kind.is_empty() || !self.source_id.trim().is_empty()).then(|| {
            invalid.check("source_id", parse_id(&self.source_id).ok_or_else(|| "must be the id of what raised the action".to_owned()))
        });
        let period = (kind == "kpi_period" || !self.source_period.trim().is_empty())
            .then(|| invalid.check("source_period", parse_date(&self.source_period)));
        let source = match kind {
            "" => None,
            "kpi_period" | "obligation" => id.flatten().map(|id| ActionSource {
                kind: kind.to_owned(),
                id,
                period: if kind == "kpi_period" { period.flatten() } else { None },
            }),
            _ => invalid.check("source_kind", Err("must be kpi_period or obligation".into())),
        };
        invalid.finish()?;
        match (party, due) {
            (Some(party_id), Some(due_date)) => Ok(NewAction {
                relationship_id,
                title: title.unwrap_or_default(),
                description: description.unwrap_or_default(),
                owner_id: owner.flatten(),
                party_id,
                due_date,
                source,
            }),
            _ => Err(Invalid::one("body", "incomplete")),
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ActionUpdate {
    #[serde(deserialize_with = "whole")]
    #[schema(required, value_type = i64, minimum = 1)]
    pub version: String,
    /// `open`, `in_progress`, `done` or `cancelled`.
    #[schema(required, schema_with = fields::action_status)]
    pub status: String,
    /// The owner: a current member's user id, name or e-mail address; empty for none.
    pub owner: String,
    #[schema(schema_with = fields::new_due_date)]
    pub due_date: String,
}

impl ActionUpdate {
    pub fn parse(&self, current: &Action, members: &[Member]) -> Result<(ActionChange, i64), Invalid> {
        let mut invalid = Invalid::default();
        let version = invalid.check("version", version(&self.version));
        let status = invalid.check("status", ActionStatus::parse(&self.status));
        let owner = invalid.check("owner", member_named(&self.owner, members));
        let due =
            if self.due_date.trim().is_empty() { Some(current.due_date) } else { invalid.check("due_date", parse_date(&self.due_date)) };
        invalid.finish()?;
        match (status, due, version) {
            (Some(status), Some(due_date), Some(v)) => Ok((ActionChange { status, owner_id: owner.flatten(), due_date }, v)),
            _ => Err(Invalid::one("body", "incomplete")),
        }
    }
}

/// Who may update an action: its owner, and SERs and JMT members.
pub fn may_update_action(access: &Access, action: &Action) -> Result<(), ApiError> {
    let me = access.writer()?;
    if me.role.manages() || action.owner_id == Some(me.user_id) {
        Ok(())
    } else {
        Err(ApiError::Forbidden("Only the action's owner or the JMT updates this action."))
    }
}

/// Parses an action cursor `DUE_DATE_ID`.
pub fn action_cursor(text: &str) -> Result<Option<(jiff::civil::Date, uuid::Uuid)>, ApiError> {
    if text.is_empty() {
        return Ok(None);
    }
    let bad = || ApiError::invalid("after", "is not a cursor from a previous page");
    let (date, id) = text.split_once('_').ok_or_else(bad)?;
    Ok(Some((date.parse().map_err(|_| bad())?, accord_domain::id::parse_id(id).ok_or_else(bad)?)))
}

pub fn action_filter(text: Option<&str>) -> Result<ActionFilter, ApiError> {
    match text.unwrap_or("open") {
        "open" => Ok(ActionFilter::Open),
        "closed" => Ok(ActionFilter::Closed),
        "all" => Ok(ActionFilter::All),
        _ => Err(ApiError::invalid("status", "must be open, closed or all")),
    }
}

/// Raises an action for the caller's party (unless it names another), from its form or the API.
pub async fn create_action(state: &AppState, access: &Access, input: &ActionInput) -> ApiResult<Action> {
    let me = access.writer()?;
    let new = input.parse(access.id(), &known(state, access.id()).await?, me.party_id, crate::dates::today(state, &access.relationship))?;
    Ok(state.store.create_action(new, me.user_id, state.now()).await?)
}

/// An action of the relationship, for a member.
pub async fn action(state: &AppState, access: &Access, action_id: Uuid) -> ApiResult<Action> {
    access.member()?;
    Ok(state.store.action(access.id(), action_id).await?)
}

/// Changes an action's status, owner or due date (its owner and the JMT), guarded by `version`.
pub async fn update_action(state: &AppState, access: &Access, action: &Action, input: &ActionUpdate) -> ApiResult<Action> {
    may_update_action(access, action)?;
    let (change, version) = input.parse(action, &state.store.members(access.id()).await?)?;
    state.store.update_action(access.id(), action.id, change, version, access.user.id, state.now()).await.map_err(stale)
}
