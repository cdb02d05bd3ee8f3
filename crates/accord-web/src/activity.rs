//! The activity feed's sentences: each audit event as people read it, naming who acted and what
//! it touched ("Priya Raman raised action 'Re-baseline the dredging plan'"). The home page and the
//! audit trail both show them.
//!
//! A sentence is made from the event's kind and its summary as stored (summaries are hashed into
//! the chain, so they are read, never rewritten), with the names of the people and things it
//! holds ids of, read for the whole page at once (`accord_store::EventNames`). A name that is not
//! found (a deleted thing, or an event from a newer version) reads as "a KPI", "someone".

use accord_domain::EventKind;
use accord_domain::measure::{Cadence, Period};
use accord_domain::membership::Role;
use accord_domain::review::Cadence as ReviewCadence;
use accord_store::{EventLine, EventNames, KpiName, ObligationStatus};
use jiff::civil::Date;
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

pub struct Activity {
    pub event: EventLine,
    /// Who acted: a person's name, or Accord for the server's own work.
    pub actor: String,
    /// What they did, naming what it touched: after `actor`, a sentence.
    pub what: String,
}

impl Activity {
    pub fn sentence(&self) -> String {
        format!("{} {}", self.actor, self.what)
    }
}

/// The events as sentences, named from `names` (read for the page with the events).
pub fn activities(events: Vec<EventLine>, names: &EventNames) -> Vec<Activity> {
    events
        .into_iter()
        .map(|event| {
            let actor = match event.actor {
                Some(id) => names.users.get(&id).cloned().unwrap_or_else(|| "Someone".to_owned()),
                None => "Accord".to_owned(),
            };
            let what = describe(&event, names);
            Activity { event, actor, what }
        })
        .collect()
}

/// What the event's actor did, naming what it touched; a kind this version does not know
/// (written by a newer one) reads neutrally.
pub fn describe(event: &EventLine, names: &EventNames) -> String {
    let summary = serde_json::from_str(&event.summary).unwrap_or(Value::Null);
    match EventKind::parse(&event.kind) {
        Some(kind) => Told { event, s: &summary, names }.what(kind),
        None => "made a change".to_owned(),
    }
}

/// One event being told: its summary and the page's names.
struct Told<'a> {
    event: &'a EventLine,
    s: &'a Value,
    names: &'a EventNames,
}

impl Told<'_> {
    /// Every kind's sentence, without a catch-all: a new kind without words does not compile.
    fn what(&self, kind: EventKind) -> String {
        let s = self.s;
        match kind {
            EventKind::RelationshipCreated => {
                let parties: Vec<String> = items(&s["parties"]).filter_map(|id| self.names.organisations.get(&id?).cloned()).collect();
                let between = if parties.len() < 2 { String::new() } else { format!(" between {}", listed(&parties)) };
                format!("created the relationship {}{between}", quoted(text(&s["name"]), "without a name"))
            }
            EventKind::RelationshipUpdated => {
                let (before, after) = (&s["before"], &s["after"]);
                let mut changes = Vec::new();
                if before["name"] != after["name"] {
                    changes.push(format!("renamed from {}", quoted(text(&before["name"]), "nothing")));
                }
                if before["purpose"] != after["purpose"] {
                    changes.push("a new purpose".to_owned());
                }
                if before["status"] != after["status"] {
                    changes.push(format!("now {}", text(&after["status"]).replace('_', " ")));
                }
                format!("updated the relationship {}{}", quoted(text(&after["name"]), ""), colon(&changes))
            }
            EventKind::MemberAdded => {
                format!("added {} to {} as {}", self.user(&s["user"]), self.party(&s["party"]), role_as(&s["role"]))
            }
            EventKind::MemberRoleChanged => format!(
                "changed {} role for {} from {} to {}",
                possessive(&self.user(&s["user"])),
                self.party(&s["party"]),
                role(&s["before"]),
                role(&s["after"])
            ),
            EventKind::MemberLeft => {
                let whom = format!("{} for {}", role(&s["role"]), self.party(&s["party"]));
                if self.event.actor.is_some() && id(&s["user"]) == self.event.actor {
                    format!("left the relationship ({whom})")
                } else {
                    format!("removed {} ({whom}) from the relationship", self.user(&s["user"]))
                }
            }
            EventKind::SerSucceeded => {
                let from =
                    if s["predecessor"].is_null() { String::new() } else { format!(", taking over from {}", self.user(&s["predecessor"])) };
                format!("made {} {} SER{from}", self.user(&s["successor"]), possessive(&self.party(&s["party"])))
            }
            EventKind::InvitationCreated => format!("invited someone to join {} as {}", self.party(&s["party"]), role_as(&s["role"])),
            EventKind::InvitationAccepted => match self.actor_party() {
                Some(party) => format!("accepted an invitation and joined {party}"),
                None => "accepted an invitation".to_owned(),
            },
            EventKind::InvitationRevoked => format!("withdrew an invitation to join {}", self.party(&s["party"])),
            EventKind::ObjectiveCreated => format!("added objective {}", self.titled(&self.names.objectives, &s["title"], "an objective")),
            EventKind::ObjectiveReviewed => {
                let title = |side: &str| quoted(text(&s[side]["title"]), "");
                match text(&s["verdict"]) {
                    "revised" => format!("revised objective {} to {}", title("before"), title("after")),
                    "retired" => format!("retired objective {}", title("before")),
                    _ => format!("reviewed objective {}: still relevant", title("after")),
                }
            }
            EventKind::KpiCreated => {
                let (unit, t) = (text(&s["unit"]), &s["thresholds"]);
                let target = format!("target {}", with_unit(text(&t["target"]), unit));
                format!("defined KPI {} ({}, {target})", quoted(text(&s["name"]), ""), text(&s["cadence"]))
            }
            EventKind::KpiThresholdsChanged => {
                let kpi = self.kpi();
                let unit = kpi.map_or("", |k| k.unit.as_str());
                let levels =
                    |side: &Value| ["target", "amber", "red"].map(|k| format!("{k} {}", with_unit(text(&side[k]), unit))).join(", ");
                format!(
                    "set new thresholds for {} from {}: {} (were {})",
                    self.kpi_name(),
                    self.period(kpi, &s["effective_from"]),
                    levels(&s["after"]),
                    levels(&s["before"])
                )
            }
            EventKind::MeasurementRecorded => {
                let kpi = self.kpi();
                format!("recorded {} for {} in {}", self.value(kpi, s), self.kpi_name(), self.period(kpi, &s["period"]))
            }
            EventKind::MeasurementCorrected => {
                let kpi = self.kpi();
                let (name, period) = (self.kpi_name(), self.period(kpi, &s["period"]));
                format!("corrected {name} in {period} from {} to {}", self.value(kpi, &s["before"]), self.value(kpi, s))
            }
            EventKind::MeasurementRetracted => {
                let kpi = self.kpi();
                let (name, period) = (self.kpi_name(), self.period(kpi, &s["period"]));
                format!("retracted {} for {name} in {period}: {}", self.value(kpi, s), text(&s["reason"]))
            }
            EventKind::MeasurementsImported => {
                let n = |key: &str| s[key].as_u64().unwrap_or(0);
                let rows = n("rows");
                let values = if rows == 1 { "1 value".to_owned() } else { format!("{rows} values") };
                format!("imported {values} from a file: {} new, {} corrected, {} unchanged", n("added"), n("corrected"), n("unchanged"))
            }
            EventKind::ObligationCreated => format!(
                "recorded {} obligation {}, due {}",
                possessive(&self.party(&s["party"])),
                self.titled(&self.names.obligations, &s["title"], "an obligation"),
                day_words(&s["due_date"])
            ),
            EventKind::ObligationUpdated => {
                let (before, after) = (&s["before"], &s["after"]);
                let mut changes = Vec::new();
                if before["status"] != after["status"] {
                    let status = ObligationStatus::parse(text(&after["status"])).map_or("changed", |st| st.label());
                    changes.push(format!("now {}", status.to_lowercase()));
                }
                if before["due_date"] != after["due_date"] {
                    changes.push(format!("due {}", day_words(&after["due_date"])));
                }
                if before["evidence"] != after["evidence"] {
                    changes.push("new evidence".to_owned());
                }
                let title = self.titled(&self.names.obligations, &Value::Null, "an obligation");
                format!("updated {} obligation {title}{}", possessive(&self.party(&s["party"])), colon(&changes))
            }
            EventKind::ActionCreated => {
                let owner = if s["owner"].is_null() { String::new() } else { format!(" for {}", self.user(&s["owner"])) };
                let title = self.titled(&self.names.actions, &s["title"], "an action");
                format!("raised action {title}{owner}, due {}{}", day_words(&s["due_date"]), self.source(&s["source"]))
            }
            EventKind::ActionUpdated => {
                let (before, after) = (&s["before"], &s["after"]);
                let title = self.titled(&self.names.actions, &Value::Null, "an action");
                let mut changes = Vec::new();
                if before["status"] != after["status"] {
                    changes.push(format!("now {}", text(&after["status"]).replace('_', " ")));
                }
                if before["owner"] != after["owner"] {
                    changes.push(if after["owner"].is_null() {
                        "no owner".to_owned()
                    } else {
                        format!("owned by {}", self.user(&after["owner"]))
                    });
                }
                if before["due_date"] != after["due_date"] {
                    changes.push(format!("due {}", day_words(&after["due_date"])));
                }
                format!("updated action {title}{}", colon(&changes))
            }
            EventKind::IssueRaised => format!("raised {} ({} severity)", self.issue(), text(&s["severity"])),
            EventKind::IssueCommented => format!("commented on {}", self.issue()),
            EventKind::IssueNoted => format!("added a private note to {}", self.issue()),
            EventKind::IssueEscalated => {
                let to = s["to"].as_u64().unwrap_or(0) as usize;
                let level = self
                    .subject()
                    .and_then(|i| self.names.issues.get(&i))
                    .and_then(|i| i.levels.get(to))
                    .map_or_else(|| format!("level {}", to + 1), Clone::clone);
                let why = if self.event.actor.is_some() { "early" } else { "(time limit passed)" };
                format!("escalated {} to {level} {why}", self.issue())
            }
            EventKind::IssueResolutionProposed => format!("proposed a resolution to {}", self.issue()),
            EventKind::IssueResolutionAccepted => format!("accepted the proposed resolution of {}", self.issue()),
            EventKind::IssueResolutionRejected => format!("rejected the proposed resolution of {}", self.issue()),
            EventKind::IssueResolved => format!("recorded {} resolved: every party accepted the resolution", self.issue()),
            EventKind::IssueWithdrawn => format!("withdrew {}", self.issue()),
            EventKind::LadderSaved => {
                let levels: Vec<&str> = s["levels"].as_array().into_iter().flatten().map(|l| text(&l["name"])).collect();
                format!("changed the escalation ladder to {} (version {})", levels.join(" → "), s["version"].as_i64().unwrap_or(0))
            }
            EventKind::HolidaysSet => {
                let party = possessive(&self.party(&s["party"]));
                match s["holidays"].as_array().map_or(0, Vec::len) {
                    0 => format!("cleared {party} holidays"),
                    1 => format!("set {party} holidays (1 day)"),
                    n => format!("set {party} holidays ({n} days)"),
                }
            }
            EventKind::RecordCreated if !s["parent"].is_null() => {
                format!("added the addendum {} to a sealed record, for every party's signature", quoted(text(&s["title"]), ""))
            }
            EventKind::RecordCreated => format!("put {} for every party's signature", quoted(text(&s["title"]), "a record")),
            EventKind::RecordChanged => {
                let voided = match s["voided"].as_array().map_or(0, Vec::len) {
                    0 => String::new(),
                    1 => ": 1 signature voided, to be given again".to_owned(),
                    n => format!(": {n} signatures voided, to be given again"),
                };
                format!("changed the record {}{voided}", quoted(text(&s["title"]), ""))
            }
            EventKind::RecordSigned => {
                format!("signed {} for {}", quoted(text(&s["title"]), "a record"), self.party(&s["party"]))
            }
            EventKind::RecordSealed => {
                format!("sealed {}: every party signed it", quoted(text(&s["title"]), "a record"))
            }
            EventKind::ReviewSeriesCreated => {
                let cadence = ReviewCadence::parse(text(&s["cadence"]))
                    .map_or_else(|_| String::new(), |c| format!(" ({})", c.label().to_lowercase()));
                format!("set up the review series {}{cadence}", quoted(text(&s["name"]), "a review series"))
            }
            EventKind::ReviewSeriesUpdated => format!("changed the review series {}", quoted(text(&s["name"]), "a review series")),
            EventKind::MeetingScheduled => format!("scheduled a review meeting for {}", when(s)),
            EventKind::MeetingMoved if s["before"] == s["after"] => "changed where a review meeting takes place".to_owned(),
            EventKind::MeetingMoved => format!("moved a review meeting to {}", when(&s["after"])),
            EventKind::MeetingCancelled => "cancelled a review meeting".to_owned(),
            EventKind::MeetingPrepared => {
                let items: u64 = s["items"].as_object().into_iter().flatten().filter_map(|(_, n)| n.as_u64()).sum();
                format!("prepared a review meeting's agenda from the data ({})", counted(items, "item"))
            }
            EventKind::MeetingItemAdded => format!("added {} to a review meeting's agenda", quoted(text(&s["title"]), "an item")),
            EventKind::MeetingItemsReordered => "reordered a review meeting's agenda".to_owned(),
            EventKind::MeetingMinutingStarted => "started the minutes of a review meeting, its data as it then stood".to_owned(),
            EventKind::MeetingAttendanceRecorded => {
                let count = |p: &str| s["attendance"].as_array().into_iter().flatten().filter(|a| text(&a["presence"]) == p).count() as u64;
                format!(
                    "recorded attendance at a review meeting: {} present, {} with apologies, {} absent",
                    count("present"),
                    count("apologies"),
                    count("absent")
                )
            }
            EventKind::MeetingItemMinuted if s["closed"] == true => "minuted an item of a review meeting and closed it".to_owned(),
            EventKind::MeetingItemMinuted => "minuted an item of a review meeting, left open to carry over".to_owned(),
            EventKind::MeetingDecisionRecorded => {
                let aimed = if s["intervention_party"].is_null() {
                    String::new()
                } else {
                    format!(", an intervention aimed at {}", self.party(&s["intervention_party"]))
                };
                format!("recorded the decision {}{aimed}", quoted(text(&s["text"]), "of a review meeting"))
            }
            // The site chain's kinds: their subject is the account, token or organisation.
            EventKind::UserCreated => {
                let organisation = id(&s["organisation"]).and_then(|o| self.names.organisations.get(&o));
                let of = organisation.map_or_else(String::new, |o| format!(" ({o})"));
                let admin = if s["admin"] == Value::Bool(true) { " as a site administrator" } else { "" };
                format!("created an account for {}{of}{admin}", self.subject_user())
            }
            EventKind::UserPasswordSet if self.event.actor.is_some() && self.subject() == self.event.actor => {
                "set a new password".to_owned()
            }
            EventKind::UserPasswordSet => format!("set {} password", possessive(&self.subject_user())),
            EventKind::UserPasswordResetIssued => format!("issued a password reset link for {}", self.subject_user()),
            EventKind::UserDisabled => format!("disabled {} account", possessive(&self.subject_user())),
            EventKind::UserEnabled => format!("enabled {} account", possessive(&self.subject_user())),
            EventKind::OrganisationCreated => format!("added the organisation {}", quoted(text(&s["name"]), "")),
            EventKind::TokenCreated => format!("created the API token {}", quoted(text(&s["name"]), "")),
            EventKind::TokenRevoked => "revoked an API token".to_owned(),
        }
    }

    /// The id the event's subject (`type:id`) names.
    fn subject(&self) -> Option<Uuid> {
        self.event.subject.split_once(':').and_then(|(_, i)| Uuid::parse_str(i).ok())
    }

    fn user(&self, value: &Value) -> String {
        id(value).and_then(|u| self.names.users.get(&u)).cloned().unwrap_or_else(|| "someone".to_owned())
    }

    fn subject_user(&self) -> String {
        self.subject().and_then(|u| self.names.users.get(&u)).cloned().unwrap_or_else(|| "someone".to_owned())
    }

    fn party(&self, value: &Value) -> String {
        id(value).and_then(|p| self.names.parties.get(&p)).cloned().unwrap_or_else(|| "a party".to_owned())
    }

    /// The actor's own party, when they acted as a member.
    fn actor_party(&self) -> Option<&String> {
        self.event.party.and_then(|p| self.names.parties.get(&p))
    }

    /// The subject's title as read now, else as the summary wrote it, quoted; else `fallback`.
    fn titled(&self, titles: &HashMap<Uuid, String>, written: &Value, fallback: &str) -> String {
        let title = self.subject().and_then(|i| titles.get(&i)).map_or(text(written), String::as_str);
        quoted(title, fallback)
    }

    /// The KPI a value event names (`kpi`), or the KPI that is the subject.
    fn kpi(&self) -> Option<&KpiName> {
        id(&self.s["kpi"]).or_else(|| self.subject()).and_then(|k| self.names.kpis.get(&k))
    }

    fn kpi_name(&self) -> String {
        self.kpi().map_or_else(|| "a KPI".to_owned(), |k| quoted(&k.name, ""))
    }

    /// The period starting on the date `value` holds, as people name it for the KPI's cadence.
    fn period(&self, kpi: Option<&KpiName>, value: &Value) -> String {
        match (text(value).parse::<Date>(), kpi) {
            (Ok(start), Some(kpi)) => period_words(kpi.cadence, start),
            (Ok(start), None) => format!("the period from {start}"),
            (Err(_), _) => "a period".to_owned(),
        }
    }

    /// `value (rag)` of an object holding them, with the KPI's unit.
    fn value(&self, kpi: Option<&KpiName>, holder: &Value) -> String {
        let value = with_unit(text(&holder["value"]), kpi.map_or("", |k| k.unit.as_str()));
        match text(&holder["rag"]) {
            "" => value,
            rag => format!("{value} ({rag})"),
        }
    }

    /// `#12 'Title'`: the number the summary holds, the title as read now or as first written.
    fn issue(&self) -> String {
        let found = self.subject().and_then(|i| self.names.issues.get(&i));
        let number = found.map(|i| i.number).or_else(|| self.s["number"].as_i64());
        let title = found.map_or(text(&self.s["title"]), |i| i.title.as_str());
        match (number, title) {
            (Some(n), "") => format!("issue #{n}"),
            (Some(n), title) => format!("issue #{n} {}", quoted(title, "")),
            (None, _) => "an issue".to_owned(),
        }
    }

    /// Where an action came from, when it names something: ` (from 'KPI' in March 2026)`.
    fn source(&self, source: &Value) -> String {
        let Some(source_id) = id(&source["id"]) else { return String::new() };
        match text(&source["kind"]) {
            "kpi_period" => match self.names.kpis.get(&source_id) {
                Some(kpi) => format!(" (from {} in {})", quoted(&kpi.name, ""), self.period(Some(kpi), &source["period"])),
                None => String::new(),
            },
            "obligation" => {
                self.names.obligations.get(&source_id).map_or_else(String::new, |o| format!(" (from obligation {})", quoted(o, "")))
            }
            "issue" => self.names.issues.get(&source_id).map_or_else(String::new, |i| format!(" (from issue #{})", i.number)),
            "review" => " (from a review meeting's agenda)".to_owned(),
            _ => String::new(),
        }
    }
}

/// A meeting's start as its summary holds it: `3 April 2026 at 10:00 (Europe/London)`.
fn when(holder: &Value) -> String {
    match text(&holder["local_start"]).parse::<jiff::civil::DateTime>() {
        Ok(start) => format!("{} at {} ({})", day(start.date()), start.strftime("%H:%M"), text(&holder["time_zone"])),
        Err(_) => "a new time".to_owned(),
    }
}

/// `1 item`, `3 items`.
fn counted(n: u64, what: &str) -> String {
    if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") }
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}

fn id(value: &Value) -> Option<Uuid> {
    value.as_str().and_then(|t| Uuid::parse_str(t).ok())
}

/// The ids an array holds (`None` for an element that is not one).
fn items(value: &Value) -> impl Iterator<Item = Option<Uuid>> + '_ {
    value.as_array().into_iter().flatten().map(id)
}

/// `'title'`, or `fallback` for none.
fn quoted(title: &str, fallback: &str) -> String {
    if title.is_empty() { fallback.to_owned() } else { format!("'{title}'") }
}

fn possessive(name: &str) -> String {
    format!("{name}'s")
}

/// `: a, b` after a sentence, for the changes an update made; nothing for none.
fn colon(changes: &[String]) -> String {
    if changes.is_empty() { String::new() } else { format!(": {}", changes.join(", ")) }
}

/// `a`, `a and b`, `a, b and c`.
fn listed(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn role(value: &Value) -> String {
    match Role::parse(text(value)) {
        Ok(Role::Ser) => "SER".to_owned(),
        Ok(r) => r.label().to_lowercase().replace("jmt", "JMT"),
        Err(_) => "member".to_owned(),
    }
}

/// A role after "as": `its SER`, `a JMT member`, `an observer`.
fn role_as(value: &Value) -> String {
    match Role::parse(text(value)) {
        Ok(Role::Ser) => "its SER".to_owned(),
        Ok(Role::Observer) => "an observer".to_owned(),
        _ => format!("a {}", role(value)),
    }
}

/// A value as the pages write it with a unit: `97.5%`, `12 days`.
fn with_unit(value: &str, unit: &str) -> String {
    match unit {
        "" => value.to_owned(),
        "%" => format!("{value}%"),
        unit => format!("{value} {unit}"),
    }
}

/// A day as people write it, `6 December 2026` (so that it never breaks at a hyphen); as stored
/// when it is not a date.
fn day_words(value: &Value) -> String {
    text(value).parse::<Date>().map_or_else(|_| text(value).to_owned(), day)
}

fn day(d: Date) -> String {
    format!("{} {}", d.day(), d.strftime("%B %Y"))
}

/// A period as people say it: `2 March 2026`, `the week of 2 March 2026`, `March 2026`, `Q1 2026`.
pub fn period_words(cadence: Cadence, start: Date) -> String {
    match cadence {
        Cadence::Daily => day(start),
        Cadence::Weekly => format!("the week of {}", day(Period::containing(cadence, start).start)),
        Cadence::Monthly => start.strftime("%B %Y").to_string(),
        Cadence::Quarterly => format!("Q{} {}", (start.month() - 1) / 3 + 1, start.year()),
    }
}

// A sentence test for every kind, beside this file: a folder would read as a module's.
#[cfg(test)]
#[path = "activity_tests.rs"]
mod tests;
