//! A relationship between two or more organisations (its parties).

use crate::invalid::Invalid;
use crate::text::{Name, parse_long_text};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Suspended,
    Exiting,
    Ended,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Suspended => "suspended",
            Status::Exiting => "exiting",
            Status::Ended => "ended",
        }
    }

    pub fn parse(text: &str) -> Result<Status, String> {
        match text {
            "active" => Ok(Status::Active),
            "suspended" => Ok(Status::Suspended),
            "exiting" => Ok(Status::Exiting),
            "ended" => Ok(Status::Ended),
            _ => Err("must be one of active, suspended, exiting, ended".into()),
        }
    }
}

/// A relationship ready to be created: parties already resolved to organisation ids (or, when
/// founded on the web, to what each party will be: `accord_store::FoundingParty`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewRelationship<P = Uuid> {
    pub name: Name,
    pub purpose: String,
    pub start_date: Date,
    pub time_zone: String,
    pub parties: Vec<P>,
}

/// What a person typed, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct RelationshipInput<'a> {
    pub name: &'a str,
    pub purpose: &'a str,
    pub start_date: &'a str,
    pub time_zone: &'a str,
}

pub fn parse_date(text: &str) -> Result<Date, String> {
    text.trim().parse::<Date>().map_err(|_| format!("{text:?} is not a date in the form YYYY-MM-DD"))
}

/// An IANA time zone name such as `Europe/London`.
pub fn parse_time_zone(text: &str) -> Result<String, String> {
    let text = text.trim();
    match jiff::tz::TimeZone::get(text) {
        Ok(_) if !text.is_empty() => Ok(text.to_owned()),
        _ => Err(format!("{text:?} is not an IANA time zone such as Europe/London")),
    }
}

/// A relationship needs at least two distinct organisations.
pub fn check_parties<P: PartialEq>(parties: &[P]) -> Result<(), String> {
    if parties.iter().enumerate().any(|(i, p)| parties[..i].contains(p)) {
        return Err("names the same organisation twice".into());
    }
    if parties.len() < 2 {
        return Err("a relationship needs at least two parties".into());
    }
    Ok(())
}

impl<P: PartialEq> NewRelationship<P> {
    /// Checks every field, reporting all that are wrong. `parties` is `None` when the caller could
    /// not resolve them (it has reported that under `parties` in `invalid` already).
    pub fn parse(input: RelationshipInput<'_>, parties: Option<Vec<P>>, mut invalid: Invalid) -> Result<NewRelationship<P>, Invalid> {
        let name = invalid.check("name", Name::parse(input.name));
        let purpose = invalid.check("purpose", parse_long_text(input.purpose, 4000));
        let start_date = invalid.check("start_date", parse_date(input.start_date));
        let time_zone = invalid.check("time_zone", parse_time_zone(input.time_zone));
        let parties = parties.and_then(|p| invalid.check("parties", check_parties(&p).map(|_| p)));
        match (name, purpose, start_date, time_zone, parties) {
            (Some(name), Some(purpose), Some(start_date), Some(time_zone), Some(parties)) if invalid.0.is_empty() => {
                Ok(NewRelationship { name, purpose, start_date, time_zone, parties })
            }
            _ => Err(invalid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_field_is_named() {
        let input = RelationshipInput { name: " ", purpose: "", start_date: "2026-13-01", time_zone: "Mars/Olympus" };
        let err = NewRelationship::<Uuid>::parse(input, Some(vec![Uuid::from_u128(1)]), Invalid::default()).unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "start_date", "time_zone", "parties"]);
    }

    #[test]
    fn a_good_relationship_parses() {
        let input = RelationshipInput { name: "Harbour", purpose: "Build it", start_date: "2026-01-05", time_zone: "Europe/London" };
        let r = NewRelationship::<Uuid>::parse(input, Some(vec![Uuid::from_u128(1), Uuid::from_u128(2)]), Invalid::default()).unwrap();
        assert_eq!(r.time_zone, "Europe/London");
        assert!(check_parties(&[Uuid::from_u128(1), Uuid::from_u128(1)]).is_err());
    }
}
