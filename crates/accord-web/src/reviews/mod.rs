//! Joint reviews: series of meetings, each meeting's agenda built from the data, its minutes.
//! Its inputs (parsed at the edge, each bad field named), its rules of who may do what, and its
//! operations, which the pages and the API both call. Members read; SERs and JMT members of any
//! party set up series, schedule, prepare and minute.

pub mod api;
pub mod pages;

use crate::AppState;
use crate::auth::Access;
use crate::error::{ApiError, ApiResult, stale};
use crate::fields::{self, flag, whole};
use crate::input::{long, member_named, title, version};
use accord_domain::Invalid;
use accord_domain::id::parse_id;
use accord_domain::membership::Role;
use accord_domain::relationship::parse_date;
use accord_domain::review::{AgendaSource, Cadence, MeetingTime, Presence, ReviewKind};
use accord_store::*;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A series as sent to create or change it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct SeriesForm {
    #[schema(required, schema_with = fields::name)]
    pub name: String,
    #[schema(required, schema_with = review_kind)]
    pub kind: String,
    #[schema(required, schema_with = cadence)]
    pub cadence: String,
    /// The chairs' user ids, a member of each party; a party not named is chaired by its SER.
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub chairs: Vec<String>,
    #[schema(schema_with = invited_roles)]
    pub invited_roles: Vec<String>,
    /// Members invited by name (user ids).
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub invitees: Vec<String>,
    /// For a change: the version you read.
    #[serde(deserialize_with = "whole")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub version: String,
}

impl SeriesForm {
    pub fn parse(&self, relationship_id: Uuid, members: &[Member]) -> Result<SeriesInput, Invalid> {
        let mut invalid = Invalid::default();
        let name = invalid.check("name", title(&self.name));
        let kind = invalid.check("kind", ReviewKind::parse(&self.kind));
        let cadence = invalid.check("cadence", Cadence::parse(&self.cadence));
        let member = |field: &str, text: &str, invalid: &mut Invalid| {
            invalid.check(
                field,
                parse_id(text)
                    .and_then(|id| members.iter().find(|m| m.user_id == id))
                    .ok_or_else(|| format!("{text:?} is not a current member")),
            )
        };
        let chairs: Vec<(Uuid, Uuid)> =
            self.chairs.iter().filter_map(|c| member("chairs", c, &mut invalid)).map(|m| (m.party_id, m.user_id)).collect();
        let invitees: Vec<Uuid> = self.invitees.iter().filter_map(|c| member("invitees", c, &mut invalid)).map(|m| m.user_id).collect();
        let roles: Vec<Role> = self.invited_roles.iter().filter_map(|r| invalid.check("invited_roles", Role::parse(r))).collect();
        invalid.finish()?;
        match (name, kind, cadence) {
            (Some(name), Some(kind), Some(cadence)) => {
                Ok(SeriesInput { relationship_id, name, kind, cadence, chairs, invited_roles: roles, invitees })
            }
            _ => Err(Invalid::one("body", "incomplete")),
        }
    }
}

/// A meeting's time and place, as sent to schedule or move it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct MeetingForm {
    /// YYYY-MM-DD, in the meeting's zone.
    #[schema(required, format = Date)]
    pub date: String,
    /// HH:MM, 24-hour, in the meeting's zone.
    #[schema(required, example = "10:00")]
    pub time: String,
    /// An IANA zone (`Europe/London`); empty for the relationship's.
    pub time_zone: String,
    /// 5 to 720 (default 60).
    #[serde(deserialize_with = "whole")]
    #[schema(value_type = Option<i32>, minimum = 5, maximum = 720)]
    pub duration_minutes: String,
    #[schema(schema_with = fields::long_text)]
    pub place: String,
    #[schema(schema_with = fields::long_text)]
    pub call_link: String,
}

impl MeetingForm {
    fn parse(&self, default_zone: &str) -> Result<(MeetingTime, Place), Invalid> {
        let duration = if self.duration_minutes.trim().is_empty() { "60" } else { self.duration_minutes.as_str() };
        let time = MeetingTime::parse(&self.date, &self.time, &self.time_zone, duration, default_zone);
        let mut invalid = match &time {
            Err(e) => e.clone(),
            Ok(_) => Invalid::default(),
        };
        let place = invalid.check("place", long(&self.place));
        let call_link = invalid.check("call_link", long(&self.call_link));
        invalid.finish()?;
        Ok((time?, Place { place: place.unwrap_or_default(), call_link: call_link.unwrap_or_default() }))
    }
}

/// A change to a meeting: `change` says which, and which other fields it reads.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct MeetingChange {
    #[schema(required, schema_with = meeting_change)]
    pub change: String,
    /// The version of the meeting you read.
    #[serde(deserialize_with = "whole")]
    #[schema(required, value_type = i64, minimum = 1)]
    pub version: String,
    /// For `reschedule`: YYYY-MM-DD, in the meeting's zone.
    #[schema(format = Date)]
    pub date: String,
    /// For `reschedule`: HH:MM, 24-hour.
    pub time: String,
    /// For `reschedule`: an IANA zone; empty for the relationship's.
    pub time_zone: String,
    /// For `reschedule`: 5 to 720 (default 60).
    #[serde(deserialize_with = "whole")]
    #[schema(value_type = Option<i32>, minimum = 5, maximum = 720)]
    pub duration_minutes: String,
    #[schema(schema_with = fields::long_text)]
    pub place: String,
    #[schema(schema_with = fields::long_text)]
    pub call_link: String,
    pub title: String,
    /// An agenda item's id.
    pub item: String,
    /// Move the item up (`true`) or down.
    #[serde(deserialize_with = "flag")]
    #[schema(value_type = Option<bool>)]
    pub up: String,
    #[schema(schema_with = fields::long_text)]
    pub notes: String,
    /// Close the item (`true`), or leave it open to carry over to the next meeting.
    #[serde(deserialize_with = "flag")]
    #[schema(value_type = Option<bool>)]
    pub closed: String,
    /// A decision's text.
    #[schema(schema_with = fields::long_text)]
    pub text: String,
    /// Who agreed a decision: a member's user id per party.
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub agreed: Vec<String>,
    /// For an SER intervention: the party it is aimed at.
    pub intervention_party: String,
    /// `USER_ID:present`, `USER_ID:apologies` or `USER_ID:absent` per invited member.
    #[schema(value_type = Vec<String>)]
    pub attendance: Vec<String>,
    /// An action's owner (a current member's user id, name or e-mail address).
    pub owner: String,
    /// An action's party (default: the owner's, else yours).
    pub party: String,
    /// An action's due date, YYYY-MM-DD.
    pub due_date: String,
}

const CHANGES: [&str; 10] =
    ["reschedule", "cancel", "prepare", "add_item", "move_item", "start_minutes", "attendance", "minute_item", "decide", "raise_action"];

fn one_of(values: &[&str], description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values.iter().copied())).description(Some(description)).into()
}

fn invited_roles() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::ArrayBuilder;
    let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    ArrayBuilder::new().items(one_of(&roles, "A role.")).description(Some("Every current member in these roles is invited.")).into()
}

fn cadence() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^(weekly|monthly|quarterly|([1-9]|1[0-9]|2[0-4]) (weeks?|months?))$"))
        .description(Some("`weekly`, `monthly`, `quarterly`, or 1 to 24 weeks or months (`2 weeks`, `6 months`)."))
        .into()
}

fn review_kind() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    let kinds: Vec<&str> = ReviewKind::ALL.iter().map(|k| k.as_str()).collect();
    one_of(&kinds, "What the series reviews.")
}

fn meeting_change() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    one_of(
        &CHANGES,
        "Which change, and the fields it reads: `reschedule` (date, time, time_zone, duration_minutes, place, call_link), `cancel`, `prepare`, `add_item` (title), `move_item` (item, up), `start_minutes`, `attendance` (attendance), `minute_item` (item, notes, closed), `decide` (item, text, agreed, intervention_party), `raise_action` (item, title, owner, party, due_date).",
    )
}

fn is_set(flag: &str) -> bool {
    matches!(flag.trim(), "true" | "on" | "1")
}

impl MeetingChange {
    fn when(&self) -> MeetingForm {
        MeetingForm {
            date: self.date.clone(),
            time: self.time.clone(),
            time_zone: self.time_zone.clone(),
            duration_minutes: self.duration_minutes.clone(),
            place: self.place.clone(),
            call_link: self.call_link.clone(),
        }
    }

    /// The command it asks for, and the version it was sent at.
    pub fn parse(&self, access: &Access, members: &[Member], parties: &[Party]) -> Result<(MeetingCommand, i64), Invalid> {
        let mut invalid = Invalid::default();
        let version = invalid.check("version", version(&self.version));
        let item =
            |invalid: &mut Invalid| invalid.check("item", parse_id(&self.item).ok_or_else(|| "must be an agenda item's id".to_owned()));
        let command = match self.change.trim() {
            "reschedule" => match self.when().parse(&access.relationship.time_zone) {
                Ok((time, place)) => Some(MeetingCommand::Reschedule { time, place }),
                Err(e) => {
                    invalid.0.extend(e.0);
                    None
                }
            },
            "cancel" => Some(MeetingCommand::Cancel),
            "prepare" => Some(MeetingCommand::Prepare),
            "start_minutes" => Some(MeetingCommand::StartMinuting),
            "add_item" => invalid.check("title", title(&self.title)).map(|title| MeetingCommand::AddItem { title }),
            "move_item" => item(&mut invalid).map(|item_id| MeetingCommand::MoveItem { item_id, up: is_set(&self.up) }),
            "minute_item" => {
                let notes = invalid.check("notes", long(&self.notes));
                item(&mut invalid).zip(notes).map(|(item_id, notes)| MeetingCommand::MinuteItem {
                    item_id,
                    notes,
                    closed: is_set(&self.closed),
                })
            }
            "attendance" => {
                let entries: Vec<(Uuid, Presence)> = self
                    .attendance
                    .iter()
                    .filter_map(|a| {
                        let (user, presence) = a.split_once(':').unwrap_or((a, ""));
                        let user = invalid.check("attendance", parse_id(user).ok_or_else(|| format!("{a:?} is not USER_ID:presence")))?;
                        Some((user, invalid.check("attendance", Presence::parse(presence))?))
                    })
                    .collect();
                Some(MeetingCommand::Attendance(entries))
            }
            "decide" => {
                // A decision may run long, but says something.
                let said =
                    long(&self.text).and_then(|t| if t.trim().is_empty() { Err("must say what was decided".to_owned()) } else { Ok(t) });
                let text = invalid.check("text", said);
                let agreed: Vec<Uuid> = self
                    .agreed
                    .iter()
                    .filter_map(|a| invalid.check("agreed", parse_id(a).ok_or_else(|| format!("{a:?} is not a member's id"))))
                    .collect();
                let intervention_party = if self.intervention_party.trim().is_empty() {
                    Some(None)
                } else {
                    invalid
                        .check(
                            "intervention_party",
                            parse_id(&self.intervention_party)
                                .filter(|p| parties.iter().any(|party| party.id == *p))
                                .ok_or_else(|| "must be one of this relationship's parties".to_owned()),
                        )
                        .map(Some)
                };
                match (item(&mut invalid), text, intervention_party) {
                    (Some(item_id), Some(text), Some(intervention_party)) => {
                        Some(MeetingCommand::Decide { item_id, text, agreed, intervention_party })
                    }
                    _ => None,
                }
            }
            "raise_action" => {
                let item_id = item(&mut invalid);
                let title = invalid.check("title", title(&self.title));
                let owner = invalid.check("owner", member_named(&self.owner, members));
                let due = invalid.check("due_date", parse_date(&self.due_date));
                let party = if self.party.trim().is_empty() {
                    let owner_party = owner.flatten().and_then(|o| members.iter().find(|m| m.user_id == o)).map(|m| m.party_id);
                    owner_party.or(access.member.as_ref().map(|m| m.party_id))
                } else {
                    invalid.check(
                        "party",
                        parse_id(&self.party)
                            .filter(|p| parties.iter().any(|party| party.id == *p))
                            .ok_or_else(|| "must be one of this relationship's parties".to_owned()),
                    )
                };
                match (item_id, title, owner, due, party) {
                    (Some(item_id), Some(title), Some(owner_id), Some(due_date), Some(party_id)) => Some(MeetingCommand::RaiseAction {
                        item_id,
                        action: NewAction {
                            relationship_id: access.id(),
                            title,
                            description: String::new(),
                            owner_id,
                            party_id,
                            due_date,
                            source: None,
                        },
                    }),
                    _ => None,
                }
            }
            _ => invalid.check("change", Err(format!("must be one of {}", CHANGES.join(", ")))),
        };
        invalid.finish()?;
        match (command, version) {
            (Some(command), Some(version)) => Ok((command, version)),
            _ => Err(Invalid::one("body", "incomplete")),
        }
    }
}

/// Where an agenda item links: the record it came from.
pub fn source_link(relationship_id: Uuid, item: &AgendaItem) -> Option<String> {
    let id = item.source_id?;
    let r = relationship_id;
    Some(match item.source {
        AgendaSource::Kpi => format!("/relationships/{r}/kpis/{id}"),
        AgendaSource::Obligation => format!("/relationships/{r}/obligations#obligation-{id}"),
        AgendaSource::Issue => format!("/relationships/{r}/issues/{id}"),
        AgendaSource::Action => format!("/relationships/{r}/actions/{id}"),
        AgendaSource::Objective => format!("/relationships/{r}/objectives/{id}"),
        AgendaSource::Member => return None,
    })
}

pub async fn series_list(state: &AppState, access: &Access) -> ApiResult<Vec<SeriesLine>> {
    access.member()?;
    Ok(state.store.series_list(access.id()).await?)
}

pub async fn series(state: &AppState, access: &Access, series_id: Uuid) -> ApiResult<Series> {
    access.member()?;
    Ok(state.store.series(access.id(), series_id).await?)
}

pub async fn create_series(state: &AppState, access: &Access, form: &SeriesForm) -> ApiResult<Series> {
    let me = access.manager()?;
    let new = form.parse(access.id(), &state.store.members(access.id()).await?)?;
    Ok(state.store.create_series(new, me.user_id, state.now()).await?)
}

pub async fn update_series(state: &AppState, access: &Access, series_id: Uuid, form: &SeriesForm) -> ApiResult<Series> {
    let me = access.manager()?;
    state.store.series(access.id(), series_id).await?;
    let change = form.parse(access.id(), &state.store.members(access.id()).await?);
    let v = version(&form.version).map_err(|e| Invalid::one("version", e));
    let (change, v) = match (change, v) {
        (Ok(c), Ok(v)) => (c, v),
        (Err(mut a), Err(b)) => {
            a.0.extend(b.0);
            return Err(a.into());
        }
        (Err(e), _) | (_, Err(e)) => return Err(e.into()),
    };
    state.store.update_series(access.id(), series_id, change, v, me.user_id, state.now()).await.map_err(stale)
}

pub async fn schedule_meeting(state: &AppState, access: &Access, series_id: Uuid, form: &MeetingForm) -> ApiResult<Meeting> {
    let me = access.manager()?;
    state.store.series(access.id(), series_id).await?;
    let (time, place) = form.parse(&access.relationship.time_zone)?;
    let new = NewMeeting { relationship_id: access.id(), series_id, time, place };
    Ok(state.store.schedule_meeting(new, me.user_id, state.now()).await?)
}

pub async fn meeting(state: &AppState, access: &Access, meeting_id: Uuid) -> ApiResult<Meeting> {
    access.member()?;
    Ok(state.store.meeting(access.id(), meeting_id).await?)
}

pub async fn change_meeting(state: &AppState, access: &Access, meeting_id: Uuid, change: &MeetingChange) -> ApiResult<Meeting> {
    let me = access.manager()?;
    let r = access.id();
    let (members, parties) = (state.store.members(r).await?, state.store.parties(r).await?);
    state.store.meeting(r, meeting_id).await?;
    let (command, v) = change.parse(access, &members, &parties)?;
    state.store.change_meeting(r, meeting_id, command, v, me.user_id, state.now()).await.map_err(stale)
}

/// The record of a meeting: what its signatories sign (`accord_store::reviews::record`).
pub async fn record(state: &AppState, access: &Access, meeting_id: Uuid) -> ApiResult<serde_json::Value> {
    let m = meeting(state, access, meeting_id).await?;
    let s = state.store.series(access.id(), m.line.series_id).await?;
    Ok(accord_store::reviews::record::record(&m, &s))
}

pub async fn interventions(state: &AppState, access: &Access, party_id: Uuid) -> ApiResult<Vec<Intervention>> {
    access.member()?;
    if !state.store.parties(access.id()).await?.iter().any(|p| p.id == party_id) {
        return Err(ApiError::NotFound);
    }
    Ok(state.store.interventions_for_party(access.id(), party_id, 100).await?)
}
