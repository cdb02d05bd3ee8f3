//! A meeting's record: what its signatories sign. One pure function from the meeting and its
//! series to the record's content, in the order a reader expects (the meeting, who attended per
//! party, the agenda with its data as the meeting saw it and its notes, the decisions, the
//! actions as raised). The signed-record module builds its canonical serialisation, hash,
//! signatures and seal on this value.
//!
//! What is left out, on purpose: the meeting's version and status (signing changes them, not
//! the record), and the raised actions' later progress (the action log's, voiding nothing).

use super::{Meeting, Series};
use serde_json::{Value, json};

/// The record's content.
pub fn record(meeting: &Meeting, series: &Series) -> Value {
    let m = &meeting.minutes;
    json!({
        "record": "review_meeting",
        "meeting": {
            "id": meeting.line.id,
            "relationship": meeting.relationship_id,
            "series": {"id": series.id, "name": series.name, "kind": series.kind.as_str()},
            "local_start": meeting.line.local_start.to_string(),
            "time_zone": meeting.line.time_zone,
            "starts_at": meeting.line.starts_at.to_string(),
            "duration_minutes": meeting.line.duration_minutes,
            "place": meeting.place.place,
            "call_link": meeting.place.call_link,
        },
        "chairs": series.chairs.iter().map(|c| json!({"party": c.party_id, "user": c.user_id, "name": c.name})).collect::<Vec<_>>(),
        "attendance": m.attendance.iter().map(|a| json!({
            "party": a.party_id, "party_name": a.party_name, "user": a.user_id, "name": a.name, "presence": a.presence.as_str(),
        })).collect::<Vec<_>>(),
        "data_as_of": m.frozen_at.map(|t| t.to_string()),
        "agenda": m.items.iter().enumerate().map(|(n, i)| json!({
            "number": n + 1,
            "id": i.id,
            "title": i.title,
            "source": i.source.as_str(),
            "source_id": i.source_id,
            "carried_from": i.carried_from,
            "data": i.data,
            "notes": i.notes,
            "outcome": match i.outcome { super::ItemOutcome::Open => "open", super::ItemOutcome::Closed => "closed" },
            "decisions": m.decisions.iter().filter(|d| d.item_id == i.id).map(|d| json!({
                "id": d.id,
                "text": d.text,
                "agreed": d.agreed.iter().map(|a| json!({"party": a.party_id, "user": a.user_id, "name": a.name})).collect::<Vec<_>>(),
                "intervention_party": d.intervention_party,
                "decided_at": d.decided_at.to_string(),
            })).collect::<Vec<_>>(),
            "actions": m.actions.iter().filter(|a| a.item_id == i.id).map(|a| json!({
                "id": a.action_id, "title": a.title, "owner": a.owner_id, "owner_name": a.owner_name,
                "party": a.party_id, "party_name": a.party_name, "due_date": a.due_date.to_string(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::agenda::tests::meeting;
    use super::super::*;
    use super::*;
    use accord_domain::review::{AgendaSource, Cadence, Presence, ReviewKind};
    use jiff::Timestamp;
    use uuid::Uuid;

    #[test]
    fn the_record_reads_in_order_and_ignores_what_signing_changes() {
        let series = Series {
            id: Uuid::from_u128(1),
            relationship_id: Uuid::nil(),
            name: "JMT".into(),
            kind: ReviewKind::Jmt,
            cadence: Cadence::MONTHLY,
            chairs: vec![],
            invited_roles: vec![],
            invitees: vec![],
            version: 1,
            created_at: Timestamp::UNIX_EPOCH,
        };
        let item = AgendaItem {
            id: Uuid::from_u128(2),
            source: AgendaSource::Kpi,
            source_id: Some(Uuid::from_u128(3)),
            carried_from: None,
            title: "On-time berths".into(),
            data: json!({"value": 61.0, "rag": "red"}),
            notes: "Agreed a recovery plan".into(),
            outcome: ItemOutcome::Closed,
            added_by: None,
        };
        let mut m = meeting(vec![item]);
        m.minutes.attendance.push(Attendance {
            user_id: Uuid::from_u128(4),
            name: "Priya".into(),
            party_id: Uuid::from_u128(5),
            party_name: "Keystone".into(),
            presence: Presence::Apologies,
        });
        let content = record(&m, &series);
        let keys: Vec<&str> = content.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        // serde_json's map keeps keys sorted unless preserve_order: the canonical form sorts anyway.
        assert!(keys.contains(&"agenda") && keys.contains(&"attendance") && keys.contains(&"meeting"));
        assert_eq!(content["agenda"][0]["data"]["value"], json!(61.0));
        assert_eq!(content["agenda"][0]["outcome"], "closed");
        assert_eq!(content["attendance"][0]["presence"], "apologies");
        let mut later = m.clone();
        later.version += 5;
        later.line.status = accord_domain::review::MeetingStatus::Signing;
        assert_eq!(record(&later, &series), content, "signing changes no content");
        later.minutes.items[0].notes.push('!');
        assert_ne!(record(&later, &series), content, "a note does");
    }
}
