//! Joint reviews: series of meetings, each meeting's agenda built from the relationship's data,
//! and its minutes (attendance, notes, decisions, actions raised). A meeting's minutes are one
//! document (`Minutes`), read and written whole in the meeting's row: every change to it goes
//! through one decision (`decide::change_meeting`) and its one check (`decide::minutes_writable`).

pub mod agenda;
pub mod decide;
pub mod record;

use crate::{NewAction, StoreResult};
use accord_domain::membership::Role;
use accord_domain::review::{AgendaSource, Cadence, MeetingStatus, MeetingTime, Presence, ReviewKind};
use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[async_trait]
pub trait ReviewStore: Send + Sync + 'static {
    async fn create_series(&self, new: SeriesInput, actor: Uuid, now: Timestamp) -> StoreResult<Series>;

    async fn update_series(
        &self, relationship_id: Uuid, series_id: Uuid, change: SeriesInput, expected_version: i64, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Series>;

    async fn series(&self, relationship_id: Uuid, series_id: Uuid) -> StoreResult<Series>;

    /// Every series by name, each with its last held meeting and its next scheduled one: one
    /// statement (the overview and the reviews page read it).
    async fn series_list(&self, relationship_id: Uuid) -> StoreResult<Vec<SeriesLine>>;

    /// A series' meetings, latest first, keyset-paged before (start, id).
    async fn meetings(
        &self, relationship_id: Uuid, series_id: Uuid, before: Option<(Timestamp, Uuid)>, limit: u32,
    ) -> StoreResult<Vec<MeetingLine>>;

    async fn schedule_meeting(&self, new: NewMeeting, actor: Uuid, now: Timestamp) -> StoreResult<Meeting>;

    async fn meeting(&self, relationship_id: Uuid, meeting_id: Uuid) -> StoreResult<Meeting>;

    /// Every change to a scheduled meeting or its minutes: load (the meeting, its series, the
    /// members; for `Prepare` and `StartMinuting` the agenda's facts and the previous meeting),
    /// `decide::change_meeting`, apply, in one transaction.
    async fn change_meeting(
        &self, relationship_id: Uuid, meeting_id: Uuid, command: MeetingCommand, expected_version: i64, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Meeting>;

    /// The SER interventions recorded about a party ("deliver your part"), newest first.
    async fn interventions_for_party(&self, relationship_id: Uuid, party_id: Uuid, limit: u32) -> StoreResult<Vec<Intervention>>;
}

/// A series' chair for one party.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Chair {
    pub party_id: Uuid,
    pub user_id: Uuid,
    /// As when the series was saved.
    pub name: String,
}

/// A member invited by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Invitee {
    pub user_id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Series {
    pub id: Uuid,
    pub relationship_id: Uuid,
    pub name: String,
    pub kind: ReviewKind,
    pub cadence: Cadence,
    /// One per party.
    pub chairs: Vec<Chair>,
    /// Every current member in these roles is invited (`ser`, `jmt`, …).
    #[schema(value_type = Vec<String>)]
    pub invited_roles: Vec<Role>,
    pub invitees: Vec<Invitee>,
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl Series {
    /// Who is invited among `members`: the chairs, the invited roles' members and the invitees,
    /// each once, in the members' order.
    pub fn invited<'m>(&self, members: &'m [crate::Member]) -> Vec<&'m crate::Member> {
        members
            .iter()
            .filter(|m| {
                self.invited_roles.contains(&m.role)
                    || self.chairs.iter().any(|c| c.user_id == m.user_id)
                    || self.invitees.iter().any(|i| i.user_id == m.user_id)
            })
            .collect()
    }
}

/// A series as the list shows it: its last held meeting and its next scheduled one.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SeriesLine {
    pub id: Uuid,
    pub name: String,
    pub kind: ReviewKind,
    pub cadence: Cadence,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_held: Option<Timestamp>,
    pub next: Option<MeetingLine>,
}

/// What a series is saved with (created or changed).
#[derive(Debug, Clone)]
pub struct SeriesInput {
    pub relationship_id: Uuid,
    pub name: String,
    pub kind: ReviewKind,
    pub cadence: Cadence,
    /// (party, user): one per party.
    pub chairs: Vec<(Uuid, Uuid)>,
    pub invited_roles: Vec<Role>,
    pub invitees: Vec<Uuid>,
}

/// Where a meeting takes place: a room, a call, or both.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Place {
    pub place: String,
    pub call_link: String,
}

#[derive(Debug, Clone)]
pub struct NewMeeting {
    pub relationship_id: Uuid,
    pub series_id: Uuid,
    pub time: MeetingTime,
    pub place: Place,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MeetingLine {
    pub id: Uuid,
    pub series_id: Uuid,
    /// Local date and time in `time_zone`, `YYYY-MM-DDTHH:MM:SS`.
    #[schema(value_type = String)]
    pub local_start: DateTime,
    pub time_zone: String,
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: Timestamp,
    pub duration_minutes: i32,
    pub status: MeetingStatus,
    /// iCalendar's SEQUENCE: raised each time the meeting moves or is cancelled.
    pub sequence: i32,
}

impl MeetingLine {
    pub fn local_date(&self) -> Date {
        self.local_start.date()
    }
}

/// A meeting, its place and its minutes.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Meeting {
    #[serde(flatten)]
    pub line: MeetingLine,
    pub relationship_id: Uuid,
    pub series_name: String,
    pub place: Place,
    pub minutes: Minutes,
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// A meeting's agenda and minutes: one document, written whole with the meeting.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Minutes {
    /// When the agenda was built from the data.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub prepared_at: Option<Timestamp>,
    /// When minuting started: the items' data is as it stood then.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub frozen_at: Option<Timestamp>,
    pub items: Vec<AgendaItem>,
    pub attendance: Vec<Attendance>,
    pub decisions: Vec<Decision>,
    /// Actions as raised (their later progress is the action log's).
    pub actions: Vec<RaisedAction>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemOutcome {
    /// Carries over to the series' next meeting until minuted as closed.
    Open,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AgendaItem {
    pub id: Uuid,
    pub source: AgendaSource,
    /// What it links to (a KPI, an issue…); none for an item added by hand.
    pub source_id: Option<Uuid>,
    /// The item of the previous meeting it carries over (left open there).
    pub carried_from: Option<Uuid>,
    pub title: String,
    /// What the data said of it, as built (and, once minuting starts, frozen): value, status,
    /// trend, due date…
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub notes: String,
    pub outcome: ItemOutcome,
    /// Who added it by hand.
    pub added_by: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Attendance {
    pub user_id: Uuid,
    pub name: String,
    pub party_id: Uuid,
    pub party_name: String,
    pub presence: Presence,
}

/// Who agreed a decision for a party.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Agreement {
    pub party_id: Uuid,
    pub user_id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Decision {
    pub id: Uuid,
    pub item_id: Uuid,
    pub text: String,
    pub agreed: Vec<Agreement>,
    /// An SER intervention aimed at this party ("deliver your part").
    pub intervention_party: Option<Uuid>,
    pub decided_by: Uuid,
    #[schema(value_type = String, format = DateTime)]
    pub decided_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RaisedAction {
    pub action_id: Uuid,
    pub item_id: Uuid,
    pub title: String,
    pub owner_id: Option<Uuid>,
    pub owner_name: String,
    pub party_id: Uuid,
    pub party_name: String,
    #[schema(value_type = String, format = Date)]
    pub due_date: Date,
}

/// An SER intervention about a party, as its oversight page lists it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Intervention {
    pub decision_id: Uuid,
    pub meeting_id: Uuid,
    pub party_id: Uuid,
    pub text: String,
    #[schema(value_type = String, format = DateTime)]
    pub decided_at: Timestamp,
}

/// A change to a meeting: its time and place, its agenda, its minutes.
#[derive(Debug, Clone)]
pub enum MeetingCommand {
    /// A new date, time, zone, length or place; a change of time raises the sequence.
    Reschedule {
        time: MeetingTime,
        place: Place,
    },
    Cancel,
    /// Builds the draft agenda from the data (again: items added by hand stay).
    Prepare,
    AddItem {
        title: String,
    },
    /// Moves an item one place up (or down).
    MoveItem {
        item_id: Uuid,
        up: bool,
    },
    /// Minuting starts: the items' data is refreshed from the data once more and frozen.
    StartMinuting,
    Attendance(Vec<(Uuid, Presence)>),
    MinuteItem {
        item_id: Uuid,
        notes: String,
        closed: bool,
    },
    Decide {
        item_id: Uuid,
        text: String,
        agreed: Vec<Uuid>,
        intervention_party: Option<Uuid>,
    },
    /// An action raised from an item into the action log (its source is the item).
    RaiseAction {
        item_id: Uuid,
        action: NewAction,
    },
}

impl MeetingCommand {
    /// Does its decision need the agenda's facts and the previous meeting loaded?
    pub fn needs_facts(&self) -> bool {
        matches!(self, MeetingCommand::Prepare | MeetingCommand::StartMinuting)
    }
}

/// A series' row: `series_id, relationship_id, name, kind, cadence, chairs, invited_roles,
/// invitees, version, created_at` (the lists as JSON text).
pub fn series_row<C: crate::Cells>(r: &C) -> Result<Series, C::Error> {
    fn json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
    Ok(Series {
        id: r.uuid(0)?,
        relationship_id: r.uuid(1)?,
        name: r.text(2)?,
        kind: r.parsed(3, ReviewKind::parse)?,
        cadence: r.parsed(4, Cadence::parse)?,
        chairs: r.parsed(5, json)?,
        invited_roles: r.parsed(6, |t| json::<Vec<String>>(t)?.iter().map(|s| Role::parse(s)).collect())?,
        invitees: r.parsed(7, json)?,
        version: r.int(8)?,
        created_at: r.time(9)?,
    })
}

/// A meeting's line from `meeting_id, series_id, local_start, time_zone, starts_at,
/// duration_minutes, status, sequence`, from column `at`.
pub fn meeting_line_row<C: crate::Cells>(r: &C, at: usize) -> Result<MeetingLine, C::Error> {
    Ok(MeetingLine {
        id: r.uuid(at)?,
        series_id: r.uuid(at + 1)?,
        local_start: r.parsed(at + 2, |t| t.parse::<DateTime>().map_err(|e| e.to_string()))?,
        time_zone: r.text(at + 3)?,
        starts_at: r.time(at + 4)?,
        duration_minutes: r.int32(at + 5)?,
        status: r.parsed(at + 6, MeetingStatus::parse)?,
        sequence: r.int32(at + 7)?,
    })
}

/// The columns a [`MeetingLine`] reads, of `meeting m`.
pub const MEETING_LINE: &str =
    "m.meeting_id, m.series_id, m.local_start, m.time_zone, m.starts_at, m.duration_minutes, m.status, m.sequence";

/// A meeting: its line, then `relationship_id, series name, place, call_link, minutes, version,
/// created_at`.
pub fn meeting_row<C: crate::Cells>(r: &C) -> Result<Meeting, C::Error> {
    Ok(Meeting {
        line: meeting_line_row(r, 0)?,
        relationship_id: r.uuid(8)?,
        series_name: r.text(9)?,
        place: Place { place: r.text(10)?, call_link: r.text(11)? },
        minutes: r.parsed(12, |t| serde_json::from_str(t).map_err(|e| e.to_string()))?,
        version: r.int(13)?,
        created_at: r.time(14)?,
    })
}

/// The statement that reads a meeting (`$1` relationship, `$2` meeting), the same on both databases.
pub const MEETING: &str =
    "SELECT m.meeting_id, m.series_id, m.local_start, m.time_zone, m.starts_at, m.duration_minutes, m.status, m.sequence,
        m.relationship_id, s.name, m.place, m.call_link, m.minutes, m.version, m.created_at
    FROM meeting m JOIN review_series s ON s.relationship_id = m.relationship_id AND s.series_id = m.series_id
    WHERE m.relationship_id = $1 AND m.meeting_id = $2";

/// The statement that reads a series (`$1` relationship, `$2` series).
pub const SERIES: &str = "SELECT series_id, relationship_id, name, kind, cadence, chairs, invited_roles, invitees, version, created_at
    FROM review_series WHERE relationship_id = $1 AND series_id = $2";

/// The series list with each one's last held and next scheduled meeting (`$1` relationship): one
/// statement, each subquery on the `meeting_by_series` index.
pub const SERIES_LIST: &str = "SELECT s.series_id, s.name, s.kind, s.cadence,
        (SELECT max(h.starts_at) FROM meeting h WHERE h.relationship_id = s.relationship_id AND h.series_id = s.series_id
            AND h.status IN ('minuting', 'signing', 'sealed')),
        n.meeting_id, n.series_id, n.local_start, n.time_zone, n.starts_at, n.duration_minutes, n.status, n.sequence
    FROM review_series s
    LEFT JOIN meeting n ON n.relationship_id = s.relationship_id AND n.meeting_id = (
        SELECT x.meeting_id FROM meeting x WHERE x.relationship_id = s.relationship_id AND x.series_id = s.series_id
            AND x.status = 'scheduled' ORDER BY x.starts_at, x.meeting_id LIMIT 1)
    WHERE s.relationship_id = $1
    ORDER BY s.name, s.series_id";

pub fn series_line_row<C: crate::Cells>(r: &C) -> Result<SeriesLine, C::Error> {
    Ok(SeriesLine {
        id: r.uuid(0)?,
        name: r.text(1)?,
        kind: r.parsed(2, ReviewKind::parse)?,
        cadence: r.parsed(3, Cadence::parse)?,
        last_held: r.opt_time(4)?,
        next: match r.opt_uuid(5)? {
            Some(_) => Some(meeting_line_row(r, 5)?),
            None => None,
        },
    })
}

/// A series' meetings, latest first, before (`$3` start, `$4` id), at most `$5`.
pub const MEETINGS: &str =
    "SELECT m.meeting_id, m.series_id, m.local_start, m.time_zone, m.starts_at, m.duration_minutes, m.status, m.sequence
    FROM meeting m WHERE m.relationship_id = $1 AND m.series_id = $2 AND (m.starts_at, m.meeting_id) < ($3, $4)
    ORDER BY m.starts_at DESC, m.meeting_id DESC LIMIT $5";

/// The series' last held meeting before `$3` (`$1` relationship, `$2` series): the previous
/// meeting an agenda counts from.
pub const PREVIOUS_MEETING: &str =
    "SELECT m.meeting_id, m.series_id, m.local_start, m.time_zone, m.starts_at, m.duration_minutes, m.status, m.sequence,
        m.relationship_id, s.name, m.place, m.call_link, m.minutes, m.version, m.created_at
    FROM meeting m JOIN review_series s ON s.relationship_id = m.relationship_id AND s.series_id = m.series_id
    WHERE m.relationship_id = $1 AND m.series_id = $2 AND m.starts_at < $3 AND m.status IN ('minuting', 'signing', 'sealed')
    ORDER BY m.starts_at DESC, m.meeting_id DESC LIMIT 1";

pub const INTERVENTIONS: &str = "SELECT decision_id, meeting_id, party_id, text, decided_at FROM review_intervention
    WHERE relationship_id = $1 AND party_id = $2 ORDER BY decided_at DESC, decision_id DESC LIMIT $3";

pub fn intervention_row<C: crate::Cells>(r: &C) -> Result<Intervention, C::Error> {
    Ok(Intervention { decision_id: r.uuid(0)?, meeting_id: r.uuid(1)?, party_id: r.uuid(2)?, text: r.text(3)?, decided_at: r.time(4)? })
}

/// A series' lists and a meeting's minutes as both backends store them (JSON text).
pub fn json_text(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
