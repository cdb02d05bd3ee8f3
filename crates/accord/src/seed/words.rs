//! The names and words seeded relationships are made of.

use super::*;

pub(super) const PLACES: [&str; 30] = [
    "Northshore",
    "Keystone",
    "Tidewater",
    "Ashford",
    "Brightwater",
    "Calder",
    "Dunmore",
    "Eastgate",
    "Fairhaven",
    "Glenrock",
    "Harrowgate",
    "Ironbridge",
    "Juniper",
    "Kingsmere",
    "Lakeside",
    "Marlow",
    "Newbury",
    "Oakridge",
    "Pembrook",
    "Queensway",
    "Redcliffe",
    "Stonehaven",
    "Thornbury",
    "Upton",
    "Valemont",
    "Westbrook",
    "Yarrow",
    "Zenith",
    "Ashgrove",
    "Blackwater",
];

pub(super) const TRADES: [&str; 20] = [
    "Port Authority",
    "Construction",
    "Marine Engineering",
    "Rail",
    "Water",
    "Energy",
    "Facilities Management",
    "Logistics",
    "Health Trust",
    "County Council",
    "Digital Services",
    "Civil Engineering",
    "Housing",
    "Telecom",
    "Consulting",
    "Airports",
    "Highways",
    "Environmental Services",
    "Software",
    "Aerospace",
];

pub(super) const WORKS: [&str; 10] = [
    "Harbour Renewal",
    "Rail Upgrade",
    "Flood Defence",
    "Hospital Estates",
    "Digital Transformation",
    "Highways Maintenance",
    "Water Network",
    "Airport Expansion",
    "Housing Retrofit",
    "Energy Transition",
];

pub(super) const KINDS: [&str; 4] = ["Programme", "Alliance", "Partnership", "Framework"];

pub(super) const FIRST_NAMES: [&str; 40] = [
    "Alex", "Priya", "Tom", "Hannah", "Gareth", "Sofia", "Daniel", "Aisha", "Liam", "Mei", "Erik", "Grace", "Noah", "Olivia", "Ravi",
    "Chloe", "Marcus", "Yuki", "Fatima", "Owen", "Isla", "Mateo", "Zara", "Ben", "Nadia", "Samuel", "Elena", "Kwame", "Lucy", "Jonas",
    "Amara", "Patrick", "Ingrid", "Tariq", "Rosa", "Felix", "Leah", "Omar", "Hugo", "Maya",
];

pub(super) const LAST_NAMES: [&str; 40] = [
    "Morgan",
    "Raman",
    "Fletcher",
    "Okafor",
    "Lewis",
    "Marquez",
    "Brooks",
    "Khan",
    "O'Connor",
    "Chen",
    "Johansson",
    "Adeyemi",
    "Williams",
    "Taylor",
    "Patel",
    "Dubois",
    "Schmidt",
    "Tanaka",
    "Hassan",
    "Evans",
    "Murray",
    "Garcia",
    "Ali",
    "Wright",
    "Novak",
    "Mensah",
    "Rossi",
    "Boateng",
    "Walsh",
    "Berg",
    "Nwosu",
    "Kelly",
    "Larsen",
    "Aziz",
    "Santos",
    "Weber",
    "Cohen",
    "Farouk",
    "Laurent",
    "Singh",
];

pub(super) struct KpiSpec {
    pub(super) name: &'static str,
    pub(super) unit: &'static str,
    pub(super) direction: Direction,
    /// Target, amber and red.
    pub(super) t: (f64, f64, f64),
    /// A typical value and how far months swing around it.
    pub(super) base: f64,
    pub(super) swing: f64,
}

pub(super) const fn kpi(
    name: &'static str, unit: &'static str, direction: Direction, t: (f64, f64, f64), base: f64, swing: f64,
) -> KpiSpec {
    KpiSpec { name, unit, direction, t, base, swing }
}

pub(super) const KPIS: [KpiSpec; 12] = [
    kpi("Lost-time injury frequency rate", "", Direction::Lower, (0.5, 1.0, 2.0), 0.9, 0.5),
    kpi("Safety observations closed on time", "%", Direction::Higher, (95.0, 90.0, 80.0), 91.0, 6.0),
    kpi("Service disruptions caused by works", "events", Direction::Lower, (2.0, 5.0, 10.0), 4.0, 4.0),
    kpi("Asset availability", "%", Direction::Higher, (98.0, 95.0, 90.0), 96.5, 2.5),
    kpi("Programme milestones met", "%", Direction::Higher, (95.0, 85.0, 75.0), 88.0, 9.0),
    kpi("Cost performance index", "", Direction::Higher, (1.0, 0.95, 0.9), 0.97, 0.05),
    kpi("Design deliverables on time", "%", Direction::Higher, (95.0, 90.0, 80.0), 91.0, 6.0),
    kpi("Open non-conformance reports", "NCRs", Direction::Lower, (5.0, 10.0, 15.0), 8.0, 5.0),
    kpi("Invoices certified within 14 days", "%", Direction::Higher, (100.0, 90.0, 80.0), 92.0, 7.0),
    kpi("Site carbon emissions", "tCO2e", Direction::Lower, (180.0, 220.0, 260.0), 215.0, 35.0),
    kpi("Waste diverted from landfill", "%", Direction::Higher, (90.0, 85.0, 75.0), 85.0, 6.0),
    kpi("Customer satisfaction", "score", Direction::Higher, (8.0, 7.0, 6.0), 7.6, 0.9),
];

pub(super) const ZONES: [&str; 4] = ["North", "South", "East", "Central"];

pub(super) const OBJECTIVES: [(&str, &str); 5] = [
    ("Deliver the works safely", "Zero harm to workers, users and the public."),
    ("Keep services running", "Operations continue throughout the works with minimal disruption."),
    ("Deliver on programme and budget", "Each phase within the agreed programme and the joint cost envelope."),
    ("Leave a lower-carbon asset", "Cut embodied and operational carbon against the baseline."),
    ("Work as one team", "Decisions made jointly, problems raised early, no surprises."),
];

pub(super) const ISSUE_TITLES: [(&str, &str); 24] = [
    ("Site access closed without notice", "delivery"),
    ("Passengers routed through the works zone", "safety"),
    ("Survey vessel berth clashes with the timetable", "delivery"),
    ("Test results missing for a concrete pour", "quality"),
    ("Variation for extra piling not yet priced", "commercial"),
    ("Night works noise complaints from residents", "relationship"),
    ("Licence conditions for spoil disposal unclear", "delivery"),
    ("Scaffold inspections not logged", "safety"),
    ("Interim payment certified late", "commercial"),
    ("Temporary lighting below the agreed standard", "safety"),
    ("Survey data format does not match the model", "quality"),
    ("Programme float consumed by a plant outage", "delivery"),
    ("Waste carrier paperwork incomplete", "quality"),
    ("Design change requests answered late", "relationship"),
    ("Welfare cabins block the fire route", "safety"),
    ("Damages clause read differently by the parties", "commercial"),
    ("Materials delivered damaged", "quality"),
    ("Lane closures exceed the agreed plan", "relationship"),
    ("Data shared later than agreed", "delivery"),
    ("Asbestos found during demolition", "safety"),
    ("Security passes slow to issue", "delivery"),
    ("Disagreement on the valuation of re-work", "commercial"),
    ("Booking system double-booked a crane", "other"),
    ("Inconsistent RAG reporting between the parties", "relationship"),
];

pub(super) const COMMENTS: [&str; 8] = [
    "Photos and the site diary entry are on the shared drive.",
    "Discussed at the morning coordination call; the site team is collecting the facts.",
    "We see the same problem on our side: two more cases last week.",
    "Our commercial team is looking at the contract wording.",
    "A temporary fix is in place; the permanent one needs a decision.",
    "Minutes of the meeting attached to the project record.",
    "Can we have this on the agenda of the next JMT?",
    "The supplier confirmed a new delivery date.",
];

pub(super) const NOTES: [&str; 3] = [
    "Our own view: we can accept a share of the cost if the programme is protected.",
    "Check the emails from March before we answer.",
    "Legal advice says our reading of the clause holds; keep this between us for now.",
];

pub(super) const PROPOSALS: [&str; 5] = [
    "Agreed at the weekly coordination meeting; actions recorded in the minutes.",
    "Costs shared equally; the programme is re-baselined by two weeks.",
    "Procedure changed and briefed to every site team.",
    "Replacement delivered and accepted; no further action.",
    "Joint review held; lessons learned added to the register.",
];

pub(super) const REJECTIONS: [&str; 3] =
    ["This does not address the cost of the delay.", "We need the root cause first.", "The proposed date is too late for our operations."];

pub(super) const ACTIONS: [&str; 12] = [
    "Recovery plan for the missed milestones",
    "Agree timetable changes for the crane works",
    "Add a second certifier to speed up payments",
    "Bring the risk register review into the JMT agenda",
    "Agree a 48-hour turnaround for survey data",
    "Carbon dashboard for plant fuel use",
    "Refresh the joint communication plan",
    "Brief site teams on the new permit process",
    "Close out the open non-conformance reports",
    "Update the stakeholder map",
    "Review the interface register with the designer",
    "Prepare the quarterly performance review",
];

pub(super) const OBLIGATIONS: [(&str, &str); 6] = [
    ("Provide access windows four weeks ahead", "monthly"),
    ("Certify payment applications within 14 days", "monthly"),
    ("Submit the monthly progress report", "monthly"),
    ("Maintain the joint risk register", "monthly"),
    ("Share lessons learned after each phase", "quarterly"),
    ("Keep public access routes open", "weekly"),
];

pub(super) const SEVERITIES: [&str; 7] = ["low", "medium", "medium", "medium", "high", "high", "critical"];
