//! What each write of the issue module decides, written once for both backends: from the state
//! a backend loaded (in its transaction, under its locks) and the command, the rule checks, the
//! issue's next state, its timeline entries, the figures that move, the audit events and the
//! notices. No I/O: the backend applies the [`IssuePlan`] with a few generic writers and commits.
//!
//! Ids come from `ids`, called in the order the rows are written (the backends pass
//! `|| new_id(now)`), so that events of one write keep their order.

use super::*;
use crate::{Member, Notice, Relationship, StoreError};
use accord_domain::audit::Draft;
use accord_domain::escalation::{Calendar, IssueStatus, Limit, Position, Step, due_step, early_step};
use accord_domain::membership::CurrentMember;
use accord_domain::{EventKind, NotificationKind};
use serde_json::json;

type Decided<T> = Result<T, StoreError>;

/// Whether `member` handles `level`: they hold one of its roles, or it names them.
pub fn handles(level: &LadderLevel, member: &CurrentMember) -> bool {
    level.roles.contains(&member.role) || level.members.contains(&member.user_id)
}

/// Who handles `level` now, of the relationship's current members.
pub fn handlers<'a>(level: &'a LadderLevel, members: &'a [CurrentMember]) -> impl Iterator<Item = &'a CurrentMember> + 'a {
    members.iter().filter(move |m| handles(level, m))
}

/// Deadlines per level of one ladder: the relationship's zone, less the holidays of the parties
/// handling each level.
pub struct Clocks {
    calendars: Vec<Calendar>,
    limits: Vec<Limit>,
}

impl Clocks {
    pub fn new(relationship: &Relationship, ladder: &Ladder, members: &[CurrentMember], holidays: &[Holiday]) -> Clocks {
        let calendar = |level: &LadderLevel| {
            let parties: Vec<Uuid> = handlers(level, members).map(|m| m.party_id).collect();
            Calendar::new(relationship.zone(), holidays.iter().filter(|h| parties.contains(&h.party_id)).map(|h| h.date))
        };
        Clocks { calendars: ladder.levels.iter().map(calendar).collect(), limits: ladder.levels.iter().map(|l| l.limit).collect() }
    }

    pub fn deadline(&self, level: usize, start: Timestamp) -> Timestamp {
        self.calendars[level].deadline(start, self.limits[level])
    }

    /// The "one working day before" reminder, when there is time for one.
    pub fn reminder(&self, level: usize, start: Timestamp, deadline: Timestamp) -> Option<Timestamp> {
        let at = self.calendars[level].one_working_day_before(deadline);
        (at > start && matches!(self.limits[level], Limit::WorkingDays(n) if n > 1)).then_some(at)
    }
}

/// What deciding about issues of one ladder version needs: loaded once per request, or once per
/// relationship and version in a sweep.
pub struct IssueRules {
    pub relationship: Relationship,
    pub ladder: Ladder,
    pub members: Vec<CurrentMember>,
    pub clocks: Clocks,
}

impl IssueRules {
    pub fn new(relationship: Relationship, ladder: Ladder, members: Vec<CurrentMember>, holidays: &[Holiday]) -> IssueRules {
        let clocks = Clocks::new(&relationship, &ladder, &members, holidays);
        IssueRules { relationship, ladder, members, clocks }
    }

    fn handler_ids(&self, level: usize) -> Vec<Uuid> {
        handlers(&self.ladder.levels[level], &self.members).map(|m| m.user_id).collect()
    }

    fn level_name(&self, level: i32) -> String {
        self.ladder.levels.get(level as usize).map_or_else(|| format!("level {}", level + 1), |l| l.name.clone())
    }
}

/// The issue's row, as a write changes it.
#[derive(Debug, Clone, PartialEq)]
pub enum IssueWrite {
    /// A new status; leaving the live ones stamps `resolved_at` and drops the reminder.
    Status(IssueStatus),
    /// One level up.
    Climb { level: i32, started_at: Timestamp, deadline: Timestamp, reminder: Option<Timestamp> },
}

/// A change to the issue's proposals and their acceptances.
#[derive(Debug, Clone, PartialEq)]
pub enum ProposalWrite {
    /// A new pending proposal, accepted at once for its proposer's party.
    Propose {
        id: Uuid,
        party_id: Uuid,
        proposed_by: Uuid,
        body: String,
    },
    Accept {
        proposal_id: Uuid,
        party_id: Uuid,
        user_id: Uuid,
    },
    /// The proposal is answered: `accepted` or `rejected`.
    Close {
        proposal_id: Uuid,
        status: &'static str,
    },
    /// The issue is withdrawn: its pending proposal, if any, with it.
    WithdrawPending,
}

/// One entry of the issue's timeline (`issue_event`).
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    pub id: Uuid,
    /// `raised`, `comment`, `note`, `escalated`, `proposed`, `accepted`, `rejected`, `resolved`, `withdrawn`.
    pub kind: &'static str,
    pub actor: Option<Uuid>,
    pub party: Option<Uuid>,
    pub body: String,
    pub from_level: Option<i32>,
    pub to_level: Option<i32>,
    pub private_to: Option<Uuid>,
}

/// A move of one level's figures (`issue_level_stat`): open issues, and a resolution and its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FigureMove {
    pub level: i32,
    pub open: i64,
    pub resolved_after_hours: Option<i64>,
}

/// Everything one write of an issue changes, in the order the backend writes it: the proposals,
/// the issue's row, the timeline, the figures, the audit events, the notices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IssuePlan {
    pub proposals: Vec<ProposalWrite>,
    pub issue: Option<IssueWrite>,
    pub timeline: Vec<TimelineEntry>,
    pub figures: Vec<FigureMove>,
    pub audit: Vec<Draft>,
    pub notices: Vec<Notice>,
}

impl IssuePlan {
    fn entry(&mut self, id: Uuid, kind: &'static str, actor: Option<Uuid>, party: Option<Uuid>, body: &str) -> &mut TimelineEntry {
        self.timeline.push(TimelineEntry {
            id,
            kind,
            actor,
            party,
            body: body.to_owned(),
            from_level: None,
            to_level: None,
            private_to: None,
        });
        self.timeline.last_mut().expect("just pushed")
    }

    fn figure(&mut self, level: i32, open: i64, resolved_after_hours: Option<i64>) {
        self.figures.push(FigureMove { level, open, resolved_after_hours });
    }

    fn notice(&mut self, issue: &Issue, recipients: Vec<Uuid>, kind: NotificationKind, title: String, body: String) {
        self.notices.push(Notice { relationship_id: issue.relationship_id, recipients, kind, title, body, link: issue_path(issue) });
    }
}

/// The issue's page, as a path.
pub fn issue_path(issue: &Issue) -> String {
    format!("/relationships/{}/issues/{}", issue.relationship_id, issue.id)
}

/// The actor's current membership, which every write of an issue needs.
pub fn require_member(me: Option<Member>) -> Decided<Member> {
    me.ok_or_else(|| StoreError::invalid("user", "is not a current member"))
}

fn require_live(issue: &Issue) -> Decided<()> {
    if issue.status.live() {
        Ok(())
    } else {
        Err(StoreError::invalid("status", format!("the issue is {}", issue.status.label().to_lowercase())))
    }
}

fn position(issue: &Issue) -> Position {
    Position { level: issue.level as usize, status: issue.status, level_started_at: issue.level_started_at, deadline: issue.deadline }
}

/// A new issue: its row's decided parts, and the plan that follows its insertion.
#[derive(Debug, Clone, PartialEq)]
pub struct Raised {
    pub id: Uuid,
    pub deadline: Timestamp,
    pub reminder: Option<Timestamp>,
    pub plan: IssuePlan,
}

/// Raising `new` as issue `number`, by `me`, at the lowest level of the ladder in `rules` (the
/// current one, stored).
pub fn raise(rules: &IssueRules, me: &Member, new: &NewIssue, number: i64, now: Timestamp, ids: &mut dyn FnMut() -> Uuid) -> Raised {
    let id = ids();
    let deadline = rules.clocks.deadline(0, now);
    let reminder = rules.clocks.reminder(0, now, deadline);
    let relationship = &rules.relationship;
    let issue_path = format!("/relationships/{}/issues/{id}", relationship.id);
    let mut plan = IssuePlan::default();
    plan.entry(ids(), "raised", Some(me.user_id), Some(me.party_id), &new.description).to_level = Some(0);
    plan.figure(0, 1, None);
    let summary = json!({"number": number, "title": new.title, "category": new.category, "severity": new.severity, "level": 0, "deadline": deadline.to_string(), "ladder_version": rules.ladder.version});
    plan.audit.push(Draft::new(Some(me.user_id), EventKind::IssueRaised, "issue", id, summary));
    let level = &rules.ladder.levels[0];
    plan.notices.push(Notice {
        relationship_id: relationship.id,
        recipients: rules.handler_ids(0).into_iter().filter(|u| *u != me.user_id).collect(),
        kind: NotificationKind::IssueRaised,
        title: format!("New issue #{number} in {}: {}", relationship.name, new.title),
        body: format!(
            "{} raised an issue for {} to handle by {}.\n\n{}",
            me.name,
            level.name,
            relationship.deadline_text(deadline),
            new.description
        ),
        link: issue_path,
    });
    Raised { id, deadline, reminder, plan }
}

/// One step up: the issue's row, its figures, its timeline, the audit trail and the new handlers.
fn climb(
    rules: &IssueRules, issue: &Issue, step: Step, reason: &str, actor: Option<Uuid>, party: Option<Uuid>, ids: &mut dyn FnMut() -> Uuid,
) -> IssuePlan {
    let to_level = step.level as i32;
    let reminder = rules.clocks.reminder(step.level, step.started_at, step.deadline);
    let mut plan = IssuePlan {
        issue: Some(IssueWrite::Climb { level: to_level, started_at: step.started_at, deadline: step.deadline, reminder }),
        ..IssuePlan::default()
    };
    plan.figure(issue.level, -1, None);
    plan.figure(to_level, 1, None);
    let entry = plan.entry(ids(), "escalated", actor, party, reason);
    (entry.from_level, entry.to_level) = (Some(issue.level), Some(to_level));
    let summary =
        json!({"number": issue.number, "from": issue.level, "to": step.level, "reason": reason, "deadline": step.deadline.to_string()});
    plan.audit.push(Draft::new(actor, EventKind::IssueEscalated, "issue", issue.id, summary));
    let to = rules.level_name(to_level);
    let mut recipients = rules.handler_ids(step.level);
    recipients.push(issue.raised_by);
    let title = format!("Issue #{} escalated to {to}: {}", issue.number, issue.title);
    let body = format!("{reason}\n\n{to} now handles it, by {}.", rules.relationship.deadline_text(step.deadline));
    plan.notice(issue, recipients, NotificationKind::IssueEscalated, title, body);
    plan
}

/// A handler's early escalation, one level up from now, giving a reason.
pub fn escalate(
    rules: &IssueRules, issue: &Issue, actor: Uuid, reason: &str, now: Timestamp, ids: &mut dyn FnMut() -> Uuid,
) -> Decided<IssuePlan> {
    let step = early_step(&position(issue), rules.ladder.levels.len(), now, |l, s| rules.clocks.deadline(l, s))
        .map_err(|m| StoreError::invalid("level", m))?;
    // The actor's party, when they are a member (the web layer admits only handlers).
    let party = rules.members.iter().find(|m| m.user_id == actor).map(|m| m.party_id);
    Ok(climb(rules, issue, step, &format!("Escalated early: {reason}"), Some(actor), party, ids))
}

/// The sweep's escalations of one issue at `now`: a step for each deadline that has passed, each
/// from where the one before left it (`issue` follows them).
pub fn overdue(rules: &IssueRules, issue: &mut Issue, now: Timestamp, ids: &mut dyn FnMut() -> Uuid) -> Vec<IssuePlan> {
    let mut plans = Vec::new();
    while let Some(step) = due_step(&position(issue), rules.ladder.levels.len(), now, |l, s| rules.clocks.deadline(l, s)) {
        let reason = format!(
            "Not resolved at {} by the deadline, {}.",
            rules.level_name(issue.level),
            rules.relationship.deadline_text(issue.deadline)
        );
        plans.push(climb(rules, issue, step, &reason, None, None, ids));
        issue.level = step.level as i32;
        issue.level_started_at = step.started_at;
        issue.deadline = step.deadline;
        issue.version += 1;
    }
    plans
}

/// The sweep's "due tomorrow" to the handlers of the issue's level; none when a late sweep finds
/// the deadline passed too (at the top, where nothing escalates it): "due tomorrow" would be wrong.
pub fn reminder(rules: &IssueRules, issue: &Issue, now: Timestamp) -> Option<Notice> {
    if issue.deadline <= now {
        return None;
    }
    let level = &rules.ladder.levels[issue.level as usize];
    Some(Notice {
        relationship_id: issue.relationship_id,
        recipients: rules.handler_ids(issue.level as usize),
        kind: NotificationKind::IssueReminder,
        title: format!("Issue #{} is due tomorrow at {}: {}", issue.number, level.name, issue.title),
        body: format!("Unless it is resolved by {}, it escalates to the next level.", rules.relationship.deadline_text(issue.deadline)),
        link: issue_path(issue),
    })
}

/// A comment for everyone, or (`private`) a note only the actor's party sees: the entry's id
/// and the plan.
pub fn comment(issue: &Issue, me: Option<Member>, body: &str, private: bool, ids: &mut dyn FnMut() -> Uuid) -> Decided<(Uuid, IssuePlan)> {
    let me = require_member(me)?;
    let mut plan = IssuePlan::default();
    let id = ids();
    plan.entry(id, if private { "note" } else { "comment" }, Some(me.user_id), Some(me.party_id), body).private_to =
        private.then_some(me.party_id);
    // Partners read the audit trail too: a private note's text stays out of it.
    let summary = json!({"number": issue.number, "event": id, "private": private});
    let kind = if private { EventKind::IssueNoted } else { EventKind::IssueCommented };
    plan.audit.push(Draft::new(Some(me.user_id), kind, "issue", issue.id, summary));
    Ok((id, plan))
}

/// A proposed resolution, by `me` for their party, to the handlers of the issue's level in the
/// other parties and to its raiser (never to the proposer).
pub fn propose(
    level: &LadderLevel, members: &[CurrentMember], issue: &Issue, pending: Option<&Proposal>, me: Option<Member>, body: &str,
    ids: &mut dyn FnMut() -> Uuid,
) -> Decided<IssuePlan> {
    require_live(issue)?;
    if pending.is_some() {
        return Err(StoreError::invalid("proposal", "a proposed resolution is already waiting for an answer"));
    }
    let me = require_member(me)?;
    let id = ids();
    let mut plan = IssuePlan {
        proposals: vec![ProposalWrite::Propose { id, party_id: me.party_id, proposed_by: me.user_id, body: body.to_owned() }],
        issue: Some(IssueWrite::Status(IssueStatus::ResolutionProposed)),
        ..IssuePlan::default()
    };
    plan.entry(ids(), "proposed", Some(me.user_id), Some(me.party_id), body);
    let summary = json!({"number": issue.number, "proposal": id});
    plan.audit.push(Draft::new(Some(me.user_id), EventKind::IssueResolutionProposed, "issue", issue.id, summary));
    let mut recipients: Vec<Uuid> = handlers(level, members).filter(|m| m.party_id != me.party_id).map(|m| m.user_id).collect();
    recipients.push(issue.raised_by);
    recipients.retain(|u| *u != me.user_id);
    let title = format!("Resolution proposed for issue #{}: {}", issue.number, issue.title);
    let body =
        format!("{} proposes, for {}:\n\n{body}\n\nIt takes effect when every other party accepts it.", me.name, me.organisation_name);
    plan.notice(issue, recipients, NotificationKind::ResolutionProposed, title, body);
    Ok(plan)
}

/// `me`'s answer for their party to the pending proposal: a rejection opens the issue again at
/// the same level; an acceptance resolves it once every one of `parties` has accepted.
#[allow(clippy::too_many_arguments)]
pub fn respond(
    issue: &Issue, pending: Option<&Proposal>, me: Option<Member>, parties: &[Uuid], accept: bool, reason: &str, now: Timestamp,
    ids: &mut dyn FnMut() -> Uuid,
) -> Decided<IssuePlan> {
    let proposal = pending.ok_or_else(|| StoreError::invalid("proposal", "no proposed resolution is waiting for an answer"))?;
    let me = require_member(me)?;
    if proposal.accepted_by.contains(&me.party_id) {
        return Err(StoreError::invalid("proposal", format!("{} has already accepted this proposal", me.organisation_name)));
    }
    let (actor, party) = (Some(me.user_id), Some(me.party_id));
    let notify_to = vec![proposal.proposed_by, issue.raised_by];
    let mut plan = IssuePlan::default();
    if !accept {
        plan.proposals.push(ProposalWrite::Close { proposal_id: proposal.id, status: "rejected" });
        plan.issue = Some(IssueWrite::Status(IssueStatus::Open));
        plan.entry(ids(), "rejected", actor, party, reason);
        let summary = json!({"number": issue.number, "proposal": proposal.id, "reason": reason});
        plan.audit.push(Draft::new(actor, EventKind::IssueResolutionRejected, "issue", issue.id, summary));
        let title = format!("Resolution rejected for issue #{}: {}", issue.number, issue.title);
        let body = format!(
            "{} rejected the proposed resolution for {}:\n\n{reason}\n\nThe issue is open again at the same level.",
            me.name, me.organisation_name
        );
        plan.notice(issue, notify_to, NotificationKind::ResolutionRejected, title, body);
        return Ok(plan);
    }
    plan.proposals.push(ProposalWrite::Accept { proposal_id: proposal.id, party_id: me.party_id, user_id: me.user_id });
    plan.entry(ids(), "accepted", actor, party, reason);
    let summary = json!({"number": issue.number, "proposal": proposal.id});
    plan.audit.push(Draft::new(actor, EventKind::IssueResolutionAccepted, "issue", issue.id, summary));
    let resolved = parties.iter().all(|p| proposal.accepted_by.contains(p) || *p == me.party_id);
    if resolved {
        plan.proposals.push(ProposalWrite::Close { proposal_id: proposal.id, status: "accepted" });
        plan.issue = Some(IssueWrite::Status(IssueStatus::Resolved));
        plan.entry(ids(), "resolved", None, None, &proposal.body).from_level = Some(issue.level);
        plan.figure(issue.level, -1, Some(now.duration_since(issue.created_at).as_hours()));
        let summary = json!({"number": issue.number, "level": issue.level, "proposal": proposal.id});
        plan.audit.push(Draft::new(None, EventKind::IssueResolved, "issue", issue.id, summary));
        let title = format!("Issue #{} resolved: {}", issue.number, issue.title);
        let body = format!("Every party accepted the resolution:\n\n{}", proposal.body);
        plan.notice(issue, notify_to, NotificationKind::IssueResolved, title, body);
    } else {
        let title = format!("{} accepted the resolution of issue #{}", me.organisation_name, issue.number);
        let body = format!("{} accepted for {}. Other parties still have to answer.", me.name, me.organisation_name);
        plan.notice(issue, notify_to, NotificationKind::ResolutionAccepted, title, body);
    }
    Ok(plan)
}

/// The issue withdrawn by `me`, with its pending proposal; nobody is notified.
pub fn withdraw(issue: &Issue, me: Option<Member>, reason: &str, ids: &mut dyn FnMut() -> Uuid) -> Decided<IssuePlan> {
    require_live(issue)?;
    let me = require_member(me)?;
    let mut plan = IssuePlan {
        proposals: vec![ProposalWrite::WithdrawPending],
        issue: Some(IssueWrite::Status(IssueStatus::Withdrawn)),
        ..IssuePlan::default()
    };
    plan.figure(issue.level, -1, None);
    plan.entry(ids(), "withdrawn", Some(me.user_id), Some(me.party_id), reason);
    let summary = json!({"number": issue.number, "reason": reason});
    plan.audit.push(Draft::new(Some(me.user_id), EventKind::IssueWithdrawn, "issue", issue.id, summary));
    Ok(plan)
}

/// The roles of a level as one stored, comma-separated word list.
pub fn role_list(roles: &[accord_domain::membership::Role]) -> String {
    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
}

/// Saving `levels` as the ladder after `current`, if the caller saw `expected_version` and every
/// named handler (`members`: the current members' ids) is a member: the new version and its event.
pub fn save_ladder(
    relationship_id: Uuid, current: &Ladder, levels: &[LadderLevel], expected_version: i32, members: &[Uuid], actor: Uuid,
) -> Decided<(i32, Draft)> {
    if current.version != expected_version {
        return Err(StoreError::Stale { current: current.version as i64 });
    }
    if levels.is_empty() {
        return Err(StoreError::invalid("levels", "a ladder needs at least one level"));
    }
    // Every level's problems at once, so that one answer says all of them.
    let mut invalid = accord_domain::Invalid::default();
    for (i, level) in levels.iter().enumerate() {
        invalid.check(&format!("levels[{i}].handlers"), accord_domain::escalation::check_handlers(&level.roles, &level.members));
        if let Some(m) = level.members.iter().find(|m| !members.contains(m)) {
            invalid.check::<()>(&format!("levels[{i}].members"), Err(format!("{m} is not a current member")));
        }
    }
    invalid.finish().map_err(StoreError::Invalid)?;
    let version = current.version.max(0) + 1;
    let summary = json!({"version": version, "levels": levels.iter().map(|l| json!({"name": l.name, "roles": role_list(&l.roles), "members": l.members, "limit": l.limit.label()})).collect::<Vec<_>>()});
    Ok((version, Draft::new(Some(actor), EventKind::LadderSaved, "ladder", relationship_id, summary)))
}

/// The event of a party's holidays replaced by `list`.
pub fn holidays_set(party_id: Uuid, list: &[(Date, String)], actor: Uuid) -> Draft {
    let summary =
        json!({"party": party_id, "holidays": list.iter().map(|(d, n)| json!({"date": d.to_string(), "name": n})).collect::<Vec<_>>()});
    Draft::new(Some(actor), EventKind::HolidaysSet, "party", party_id, summary)
}

#[cfg(test)]
mod tests;
