//! What one page shows, read in one round trip: on SQLite one hop to the blocking pool and one
//! read transaction (a consistent snapshot), on PostgreSQL one connection with the queries
//! pipelined. A page that asked for each part in turn paid a hop or a checkout per part.

use crate::{
    Action, ActionFilter, Credential, Holiday, Issue, IssueEvent, IssueFilter, IssueLine, Kpi, KpiVersion, Ladder, LevelStat, Measurement,
    Member, Objective, Party, Proposal, StoreResult, Viewer,
};
use accord_domain::audit::{ChainHead, Event};
use accord_domain::measure::{Cadence, Rag};
use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::collections::HashMap;
use uuid::Uuid;

/// An audit event as a page lists it: its summary as stored and hashed (compact JSON), shown as
/// it is rather than parsed and written again.
#[derive(Debug, Clone, PartialEq)]
pub struct EventLine {
    pub position: i64,
    pub time: Timestamp,
    pub actor: Option<Uuid>,
    pub party: Option<Uuid>,
    pub kind: String,
    pub subject: String,
    pub summary: String,
    pub hash: String,
}

impl From<&Event> for EventLine {
    fn from(e: &Event) -> EventLine {
        EventLine {
            position: e.position,
            time: e.time,
            actor: e.actor,
            party: e.party,
            kind: e.kind.clone(),
            subject: e.subject.clone(),
            summary: e.summary.to_string(),
            hash: e.hash.clone(),
        }
    }
}

/// What the events of a page name, by kind of thing, each id once and in order: read for the
/// whole page with one statement per kind of thing, never one per event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventRefs {
    pub users: Vec<Uuid>,
    pub kpis: Vec<Uuid>,
    pub objectives: Vec<Uuid>,
    pub obligations: Vec<Uuid>,
    pub actions: Vec<Uuid>,
    pub issues: Vec<Uuid>,
}

impl EventRefs {
    /// Everything `events` name: their actors, their subjects, and the ids their summaries hold
    /// under the keys every module writes them with (`user`, `owner`, `kpi`, an action's `source`…).
    pub fn of(events: &[EventLine]) -> EventRefs {
        let mut refs = EventRefs::default();
        for e in events {
            refs.users.extend(e.actor);
            if let Some((kind, id)) = e.subject.split_once(':') {
                refs.push(kind, id);
            }
            // A summary that is not JSON names nothing more (what it named before the fault is kept).
            let _ = Walk { refs: &mut refs, key: "" }.deserialize(&mut serde_json::Deserializer::from_str(&e.summary));
        }
        for ids in [&mut refs.users, &mut refs.kpis, &mut refs.objectives, &mut refs.obligations, &mut refs.actions, &mut refs.issues] {
            ids.sort_unstable();
            ids.dedup();
        }
        refs
    }

    /// Keeps `id` among the things of `kind` (a subject's type or a summary's key).
    fn push(&mut self, kind: &str, id: &str) {
        let Ok(id) = Uuid::parse_str(id) else { return };
        let list = match kind {
            "user" | "owner" | "reporter" | "predecessor" | "successor" | "members" => &mut self.users,
            "kpi" | "kpi_period" => &mut self.kpis,
            "objective" | "objectives" => &mut self.objectives,
            "obligation" => &mut self.obligations,
            "action" => &mut self.actions,
            "issue" => &mut self.issues,
            _ => return,
        };
        list.push(id);
    }
}

/// One JSON value of a summary, walked as it is read: a string under a key that names a kind of
/// thing is kept (in arrays too), and an object's `kind` and `id` name what it points at (an
/// action's source: `{"kind": "kpi_period", "id": …}`). No `Value` is built: the sentence parses
/// each summary anyway, and a second parse here was a tenth of an audit page's time.
struct Walk<'r, 'k> {
    refs: &'r mut EventRefs,
    key: &'k str,
}

impl<'de> DeserializeSeed<'de> for Walk<'_, '_> {
    /// The value, when it is a string.
    type Value = Option<Cow<'de, str>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_, '_> {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
        self.refs.push(self.key, text);
        Ok(Some(Cow::Borrowed(text)))
    }

    fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
        self.refs.push(self.key, text);
        Ok(Some(Cow::Owned(text.to_owned())))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Self::Value, A::Error> {
        while items.next_element_seed(Walk { refs: &mut *self.refs, key: self.key })?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut fields: A) -> Result<Self::Value, A::Error> {
        let (mut kind, mut id) = (None, None);
        while let Some(Key(key)) = fields.next_key()? {
            let text = fields.next_value_seed(Walk { refs: &mut *self.refs, key: &key })?;
            match &*key {
                "kind" => kind = text,
                "id" => id = text,
                _ => {}
            }
        }
        if let (Some(kind), Some(id)) = (kind, id) {
            self.refs.push(&kind, &id);
        }
        Ok(None)
    }
}

/// An object's key, borrowed from the summary unless it holds an escape.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl<'de> Visitor<'de> for Text {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key")
            }

            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(text)))
            }

            fn visit_str<E>(self, text: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(text.to_owned())))
            }
        }
        d.deserialize_str(Text)
    }
}

/// A KPI as a sentence names it: its name, and its cadence and unit to write a value and period.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiName {
    pub name: String,
    pub cadence: Cadence,
    pub unit: String,
}

/// An issue as a sentence names it: `#12 'Late berth windows'`, and the names of its ladder's
/// levels (the version it was raised under), lowest first.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueName {
    pub number: i64,
    pub title: String,
    pub levels: Vec<String>,
}

/// The names of what a page of events touches ([`EventRefs`]), read for the page at once. A
/// thing not found (deleted, or named by a newer version's event) is simply absent.
#[derive(Debug, Clone, Default)]
pub struct EventNames {
    pub users: HashMap<Uuid, String>,
    /// The relationship's parties, by party id and by organisation id: their organisation's name.
    pub parties: HashMap<Uuid, String>,
    pub organisations: HashMap<Uuid, String>,
    pub kpis: HashMap<Uuid, KpiName>,
    pub objectives: HashMap<Uuid, String>,
    pub obligations: HashMap<Uuid, String>,
    pub actions: HashMap<Uuid, String>,
    pub issues: HashMap<Uuid, IssueName>,
}

impl EventNames {
    /// Names the parties of the relationship, whose list the page has read anyway.
    pub fn with_parties(mut self, parties: &[Party]) -> EventNames {
        for p in parties {
            self.parties.insert(p.id, p.organisation_name.clone());
            self.organisations.insert(p.organisation_id, p.organisation_name.clone());
        }
        self
    }
}

/// Something an issue may touch: one of the relationship's objectives, KPIs and obligations
/// (in that order), named for a list to choose from.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkTarget {
    /// `objective`, `kpi` or `obligation`.
    pub kind: String,
    pub id: Uuid,
    /// Its title or name; an obligation's with its party's, e.g. `Monthly report (Keystone)`.
    pub label: String,
}

/// The escalation ladder's page: the current ladder, the parties and their holidays, and the
/// names of the current members its levels name as handlers (one who left is not named).
#[derive(Debug, Clone)]
pub struct LadderView {
    pub ladder: Ladder,
    pub holidays: Vec<Holiday>,
    pub parties: Vec<Party>,
    pub handlers: HashMap<Uuid, String>,
}

/// A page of the issue log, with its figures.
#[derive(Debug, Clone)]
pub struct IssueLogView {
    pub ladder: Ladder,
    pub stats: Vec<LevelStat>,
    pub parties: Vec<Party>,
    pub issues: Vec<IssueLine>,
}

/// What the issue log asks for.
#[derive(Debug, Clone)]
pub struct IssueLogRequest {
    pub filter: IssueFilter,
    pub after: Option<(Timestamp, Uuid)>,
    pub limit: u32,
}

/// One issue as one party sees it.
#[derive(Debug, Clone)]
pub struct IssueDetail {
    pub issue: Issue,
    /// The ladder version the issue was raised under.
    pub ladder: Ladder,
    pub proposal: Option<Proposal>,
    pub timeline: Vec<IssueEvent>,
    /// The names of the members the ladder names as handlers.
    pub handlers: Vec<(Uuid, String)>,
    pub parties: Vec<Party>,
    /// Only read when the issue touches something.
    pub targets: Vec<LinkTarget>,
}

/// A relationship's overview for a member.
#[derive(Debug, Clone)]
pub struct OverviewView {
    pub parties: Vec<Party>,
    /// The current SERs and JMT members, and how many current members each party has.
    pub leads: Vec<Member>,
    pub counts: Vec<(Uuid, i64)>,
    /// The latest events, newest first, and the names of what they touch.
    pub events: Vec<EventLine>,
    pub names: EventNames,
    pub head: Option<ChainHead>,
    pub stats: Vec<LevelStat>,
    /// The review series, each with its last held and next scheduled meeting.
    pub series: Vec<crate::SeriesLine>,
}

/// The scorecard: every KPI with its recent values.
#[derive(Debug, Clone)]
pub struct ScorecardView {
    pub parties: Vec<Party>,
    pub objectives: Vec<Objective>,
    pub kpis: Vec<Kpi>,
    /// The latest [`RECENT`] values of every KPI, by KPI and then period.
    pub recent: Vec<RecentValue>,
}

/// How many of a KPI's latest current values the store keeps beside the KPI, for the scorecard
/// to read in one row instead of a dozen (`kpi.recent`, written with every change of a value).
pub const RECENT: usize = 12;

/// One kept value: the period's first day as year (2 bytes), month and day, the value (8 bytes)
/// and the RAG (1 byte), little-endian.
const RECENT_BYTES: usize = 13;

/// Encodes the latest values of a KPI (oldest first, at most [`RECENT`]) for `kpi.recent`.
pub fn encode_recent(values: &[(Date, f64, Rag)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * RECENT_BYTES);
    for (period, value, rag) in values {
        out.extend_from_slice(&period.year().to_le_bytes());
        out.extend_from_slice(&[period.month() as u8, period.day() as u8]);
        out.extend_from_slice(&value.to_le_bytes());
        out.push(match rag {
            Rag::Green => 0,
            Rag::Amber => 1,
            Rag::Red => 2,
        });
    }
    out
}

/// Decodes what [`encode_recent`] wrote, appending to `out`; `None` for bytes it did not write.
pub fn decode_recent(kpi_id: Uuid, bytes: &[u8], out: &mut Vec<RecentValue>) -> Option<()> {
    if !bytes.len().is_multiple_of(RECENT_BYTES) {
        return None;
    }
    for b in bytes.chunks_exact(RECENT_BYTES) {
        let period_start = Date::new(i16::from_le_bytes([b[0], b[1]]), b[2] as i8, b[3] as i8).ok()?;
        let value = f64::from_le_bytes(b[4..12].try_into().ok()?);
        let rag = match b[12] {
            0 => Rag::Green,
            1 => Rag::Amber,
            2 => Rag::Red,
            _ => return None,
        };
        out.push(RecentValue { kpi_id, period_start, value, rag });
    }
    Some(())
}

/// A current value as a scorecard shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecentValue {
    pub kpi_id: Uuid,
    pub period_start: Date,
    pub value: f64,
    pub rag: Rag,
}

/// One KPI with its threshold versions and latest values.
#[derive(Debug, Clone)]
pub struct KpiDetail {
    pub kpi: Kpi,
    pub parties: Vec<Party>,
    /// The name of the member who reports it, if one does.
    pub reporter: Option<String>,
    pub objectives: Vec<Objective>,
    pub versions: Vec<KpiVersion>,
    /// Newest first.
    pub values: Vec<Measurement>,
    /// Its latest retracted values (at most as many as `values`), newest period first.
    pub retracted: Vec<Measurement>,
}

/// What the KPI page asks for: the KPI and how many of its latest values.
#[derive(Debug, Clone, Copy)]
pub struct KpiRequest {
    pub kpi_id: Uuid,
    pub values: u32,
}

/// A page of the action log.
#[derive(Debug, Clone)]
pub struct ActionLogView {
    pub actions: Vec<Action>,
    /// Every KPI, as a link to the one an action was raised from names it.
    pub kpis: Vec<KpiLabel>,
}

/// What a link to a KPI shows: its name, and its cadence to name a period.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiLabel {
    pub id: Uuid,
    pub name: String,
    pub cadence: Cadence,
}

/// What the action log asks for.
#[derive(Debug, Clone)]
pub struct ActionLogRequest {
    pub filter: ActionFilter,
    pub after: Option<(Date, Uuid)>,
    pub limit: u32,
}

/// A page of the audit trail, newest first.
#[derive(Debug, Clone)]
pub struct AuditView {
    pub events: Vec<EventLine>,
    pub parties: Vec<Party>,
    /// The names of the events' actors and of what they touch.
    pub names: EventNames,
    pub head: Option<ChainHead>,
}

/// A page's view: asked for alone ([`crate::Store::view`]) or with who is asking
/// ([`crate::Store::viewer_with_view`]).
#[derive(Debug, Clone)]
pub enum ViewRequest {
    Overview {
        events: u32,
    },
    Scorecard,
    Kpi(KpiRequest),
    Ladder,
    IssueLog(IssueLogRequest),
    ActionLog(ActionLogRequest),
    Audit {
        before_position: Option<i64>,
        limit: u32,
    },
    /// One party's oversight page.
    Oversight {
        party_id: Uuid,
    },
    /// The API's issue list: whole issues.
    Issues {
        filter: IssueFilter,
        after: Option<(Timestamp, Uuid)>,
        limit: u32,
    },
}

/// What a [`ViewRequest`] reads; each view is taken out with `try_into` (the view itself, or
/// back the answer when it is another).
macro_rules! views {
    ($($variant:ident($view:ty)),* $(,)?) => {
        #[derive(Debug, Clone)]
        pub enum View {
            $($variant($view)),*
        }

        $(impl TryFrom<View> for $view {
            type Error = View;

            fn try_from(view: View) -> Result<$view, View> {
                if let View::$variant(v) = view { Ok(v) } else { Err(view) }
            }
        })*
    };
}

views! {
    Overview(OverviewView),
    Scorecard(ScorecardView),
    Kpi(KpiDetail),
    IssueLog(IssueLogView),
    Ladder(LadderView),
    ActionLog(ActionLogView),
    Audit(AuditView),
    Issues(Vec<Issue>),
    Oversight(crate::OversightView),
}

/// May this viewer be shown anything of the relationship? Its members may, and a site admin may
/// see its frame; nobody else is read a view for.
pub fn shown_views(viewer: &crate::Viewer) -> bool {
    viewer.relationship.is_some() && (viewer.member.is_some() || viewer.user.is_admin)
}

/// Page views: what one page shows, read in one round trip (see `views`).
#[async_trait]
pub trait ViewStore: Send + Sync + 'static {
    /// Who is asking, as [`PeopleStore::viewer`] reads it, and what a page of `relationship_id` shows,
    /// in one round trip: a page paid a hop to the blocking pool (or a pool checkout) for each.
    /// The view is read only when [`shown_views`] allows it; its own failure (a KPI that is not
    /// there) comes back beside the viewer.
    async fn viewer_with_view(
        &self, credential: Credential, relationship_id: Uuid, now: Timestamp, request: ViewRequest,
    ) -> StoreResult<(Viewer, StoreResult<View>)>;

    /// What a page of `relationship_id` shows, alone (a page that re-renders after a refused form).
    async fn view(&self, relationship_id: Uuid, request: ViewRequest) -> StoreResult<View>;

    /// One issue as `viewer_party` sees it (other parties' private notes left out).
    async fn issue_detail(&self, relationship_id: Uuid, issue_id: Uuid, viewer_party: Option<Uuid>) -> StoreResult<IssueDetail>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn event(actor: Option<Uuid>, subject: &str, summary: serde_json::Value) -> EventLine {
        EventLine {
            position: 1,
            time: Timestamp::UNIX_EPOCH,
            actor,
            party: None,
            kind: "thing.done".into(),
            subject: subject.into(),
            summary: summary.to_string(),
            hash: String::new(),
        }
    }

    #[test]
    fn the_ids_events_name_are_gathered_by_kind_once_each() {
        let id = Uuid::from_u128;
        let events = [
            event(
                Some(id(1)),
                &format!("action:{}", id(10)),
                serde_json::json!({"owner": id(2), "source": {"kind": "kpi_period", "id": id(20), "period": "2026-03-01"}}),
            ),
            event(Some(id(1)), &format!("user:{}", id(3)), serde_json::json!({"user": id(3), "party": id(99)})),
            event(None, &format!("issue:{}", id(30)), serde_json::json!({"number": 4})),
            event(Some(id(2)), &format!("kpi:{}", id(21)), serde_json::json!({"objectives": [id(40), "not an id"], "reporter": id(4)})),
            event(Some(id(2)), &format!("ladder:{}", id(50)), serde_json::json!({"levels": [{"members": [id(5)]}]})),
            event(Some(id(2)), &format!("obligation:{}", id(60)), serde_json::json!({"before": {"owner": id(6)}})),
            event(Some(id(2)), "measurement:x", serde_json::json!("not an object")),
        ];
        let mut events = events.to_vec();
        // A key written with an escape is still that key; a summary that is not JSON names nothing.
        events.push(EventLine { summary: format!("{{\"own\\u0065r\": \"{}\"}}", id(7)), ..events[0].clone() });
        events.push(EventLine { summary: "{\"owner\": ".into(), ..events[0].clone() });
        let refs = EventRefs::of(&events);
        assert_eq!(refs.users, vec![id(1), id(2), id(3), id(4), id(5), id(6), id(7)]);
        assert_eq!(refs.kpis, vec![id(20), id(21)]);
        assert_eq!(refs.objectives, vec![id(40)]);
        assert_eq!(refs.obligations, vec![id(60)]);
        assert_eq!(refs.actions, vec![id(10)]);
        assert_eq!(refs.issues, vec![id(30)]);
    }

    fn rag() -> impl Strategy<Value = Rag> {
        prop_oneof![Just(Rag::Green), Just(Rag::Amber), Just(Rag::Red)]
    }

    proptest! {
        /// Whatever is kept comes back exactly: every bit of the value, the period and the RAG.
        #[test]
        fn kept_values_come_back_exactly(values in prop::collection::vec((-9999i16..=9999, 1i8..=12, 1i8..=28, any::<f64>(), rag()), 0..=RECENT)) {
            let values: Vec<(Date, f64, Rag)> = values.into_iter().map(|(y, m, d, v, r)| (Date::new(y, m, d).unwrap(), v, r)).collect();
            let kpi_id = Uuid::from_u128(7);
            let mut back = Vec::new();
            prop_assert!(decode_recent(kpi_id, &encode_recent(&values), &mut back).is_some());
            prop_assert_eq!(back.len(), values.len());
            for (b, (period, value, rag)) in back.iter().zip(&values) {
                prop_assert_eq!((b.kpi_id, b.period_start, b.value.to_bits(), b.rag), (kpi_id, *period, value.to_bits(), *rag));
            }
        }

        /// Bytes it did not write are refused, never misread as values.
        #[test]
        fn foreign_bytes_are_refused(bytes in prop::collection::vec(any::<u8>(), 1..40)) {
            let mut back = Vec::new();
            let decoded = decode_recent(Uuid::nil(), &bytes, &mut back);
            if !bytes.len().is_multiple_of(RECENT_BYTES) {
                prop_assert!(decoded.is_none());
            }
            if decoded.is_some() {
                prop_assert_eq!(encode_recent(&back.iter().map(|v| (v.period_start, v.value, v.rag)).collect::<Vec<_>>()), bytes);
            }
        }
    }
}
