//! Roles and the rules of membership: each party has at most one current SER, and once it has
//! one it always has exactly one (a change of SER is a succession, never an edit or a departure).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Senior Executive Responsible: one per party, accountable for the relationship.
    Ser,
    /// Joint Management Team member.
    Jmt,
    Contributor,
    /// Reads everything, changes nothing (an auditor, an assurance team).
    Observer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Ser, Role::Jmt, Role::Contributor, Role::Observer];

    pub fn parse(text: &str) -> Result<Role, String> {
        match text.trim().to_lowercase().as_str() {
            "ser" => Ok(Role::Ser),
            "jmt" => Ok(Role::Jmt),
            "contributor" => Ok(Role::Contributor),
            "observer" => Ok(Role::Observer),
            _ => Err("must be one of ser, jmt, contributor, observer".into()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ser => "ser",
            Role::Jmt => "jmt",
            Role::Contributor => "contributor",
            Role::Observer => "observer",
        }
    }

    /// How the role is shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Role::Ser => "SER",
            Role::Jmt => "JMT member",
            Role::Contributor => "Contributor",
            Role::Observer => "Observer",
        }
    }

    /// SERs and JMT members run the relationship: they define and manage.
    pub fn manages(self) -> bool {
        matches!(self, Role::Ser | Role::Jmt)
    }

    /// Everyone but observers may record things.
    pub fn writes(self) -> bool {
        self != Role::Observer
    }
}

/// A current (not yet ended) membership, as the rules need to see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentMember {
    pub user_id: Uuid,
    pub party_id: Uuid,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MembershipError {
    #[error("is already a member of this relationship")]
    AlreadyMember,
    #[error("is not a current member of this relationship")]
    NotMember,
    #[error("this party already has an SER; a new SER takes over by succession")]
    SecondSer,
    #[error("is the party's SER; name a successor first")]
    SerMustHandOver,
    #[error("a successor must be a current member of the same party")]
    SuccessorNotInParty,
    #[error("is already the party's SER")]
    AlreadySer,
}

fn find(current: &[CurrentMember], user_id: Uuid) -> Option<&CurrentMember> {
    current.iter().find(|m| m.user_id == user_id)
}

fn ser_of(current: &[CurrentMember], party_id: Uuid) -> Option<&CurrentMember> {
    current.iter().find(|m| m.party_id == party_id && m.role == Role::Ser)
}

/// May `user_id` join `party_id` with `role`?
pub fn check_join(current: &[CurrentMember], user_id: Uuid, party_id: Uuid, role: Role) -> Result<(), MembershipError> {
    if find(current, user_id).is_some() {
        return Err(MembershipError::AlreadyMember);
    }
    if role == Role::Ser && ser_of(current, party_id).is_some() {
        return Err(MembershipError::SecondSer);
    }
    Ok(())
}

/// May `user_id` change to `role`? Becoming or ceasing to be SER goes through succession.
pub fn check_role_change(current: &[CurrentMember], user_id: Uuid, role: Role) -> Result<(), MembershipError> {
    let member = find(current, user_id).ok_or(MembershipError::NotMember)?;
    if member.role == Role::Ser && role != Role::Ser {
        return Err(MembershipError::SerMustHandOver);
    }
    if role == Role::Ser && member.role != Role::Ser && ser_of(current, member.party_id).is_some() {
        return Err(MembershipError::SecondSer);
    }
    Ok(())
}

/// May `user_id` leave? An SER leaves only after handing over.
pub fn check_leave(current: &[CurrentMember], user_id: Uuid) -> Result<(), MembershipError> {
    let member = find(current, user_id).ok_or(MembershipError::NotMember)?;
    if member.role == Role::Ser {
        return Err(MembershipError::SerMustHandOver);
    }
    Ok(())
}

/// The outcome of a succession: who becomes SER, and who stops being SER (staying on as JMT member).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Succession {
    pub party_id: Uuid,
    pub successor: Uuid,
    pub predecessor: Option<Uuid>,
}

/// `successor`, a current member of a party, becomes its SER; the previous SER stays as JMT member.
pub fn check_succession(current: &[CurrentMember], successor: Uuid) -> Result<Succession, MembershipError> {
    let member = find(current, successor).ok_or(MembershipError::NotMember)?;
    if member.role == Role::Ser {
        return Err(MembershipError::AlreadySer);
    }
    Ok(Succession { party_id: member.party_id, successor, predecessor: ser_of(current, member.party_id).map(|m| m.user_id) })
}

/// Why a party-scoped write was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartyWriteError {
    NotManager,
    OtherParty,
}

impl PartyWriteError {
    /// The refusal as the web layer answers it (a 403's message).
    pub fn message(self) -> &'static str {
        match self {
            PartyWriteError::NotManager => "Only an SER or a JMT member may do this.",
            PartyWriteError::OtherParty => "Only the party's own SER and JMT members may do this for it.",
        }
    }
}

/// May `actor` (their current membership, if any) make a party-scoped write for `party_id`: its
/// holidays, its invitations (create, revoke), its members' roles and removal? Only that party's
/// own SER and JMT members may, so that one party never acts for another. Joint writes (actions,
/// obligations, KPI values, decisions about any party) are not party-scoped and do not ask this.
pub fn check_party_write(actor: Option<&CurrentMember>, party_id: Uuid) -> Result<(), PartyWriteError> {
    let actor = actor.filter(|a| a.role.manages()).ok_or(PartyWriteError::NotManager)?;
    if actor.party_id != party_id {
        return Err(PartyWriteError::OtherParty);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Join(u8, u8, Role),
        Change(u8, Role),
        Leave(u8),
        Succeed(u8),
    }

    fn role() -> impl Strategy<Value = Role> {
        prop::sample::select(Role::ALL.to_vec())
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..8u8, 0..3u8, role()).prop_map(|(u, p, r)| Op::Join(u, p, r)),
            (0..8u8, role()).prop_map(|(u, r)| Op::Change(u, r)),
            (0..8u8).prop_map(Op::Leave),
            (0..8u8).prop_map(Op::Succeed),
        ]
    }

    fn id(n: u8) -> Uuid {
        Uuid::from_u128(n as u128 + 1)
    }

    fn apply(current: &mut Vec<CurrentMember>, op: &Op) {
        match *op {
            Op::Join(u, p, role) => {
                if check_join(current, id(u), id(100 + p), role).is_ok() {
                    current.push(CurrentMember { user_id: id(u), party_id: id(100 + p), role });
                }
            }
            Op::Change(u, role) => {
                if check_role_change(current, id(u), role).is_ok() {
                    current.iter_mut().find(|m| m.user_id == id(u)).unwrap().role = role;
                }
            }
            Op::Leave(u) => {
                if check_leave(current, id(u)).is_ok() {
                    current.retain(|m| m.user_id != id(u));
                }
            }
            Op::Succeed(u) => {
                if let Ok(s) = check_succession(current, id(u)) {
                    for m in current.iter_mut() {
                        if Some(m.user_id) == s.predecessor {
                            m.role = Role::Jmt;
                        }
                        if m.user_id == s.successor {
                            m.role = Role::Ser;
                        }
                    }
                }
            }
        }
    }

    fn sers(current: &[CurrentMember], party: Uuid) -> usize {
        current.iter().filter(|m| m.party_id == party && m.role == Role::Ser).count()
    }

    proptest! {
        #[test]
        fn a_party_never_has_two_sers_and_never_loses_its_ser(ops in prop::collection::vec(op(), 0..60)) {
            let mut current = Vec::new();
            let mut had_ser = [false; 3];
            for op in &ops {
                apply(&mut current, op);
                for p in 0..3u8 {
                    let n = sers(&current, id(100 + p));
                    prop_assert!(n <= 1, "party {p} has {n} SERs after {op:?}");
                    if had_ser[p as usize] {
                        prop_assert_eq!(n, 1, "party {} lost its SER after {:?}", p, op);
                    }
                    had_ser[p as usize] |= n == 1;
                }
                let mut users: Vec<_> = current.iter().map(|m| m.user_id).collect();
                users.sort();
                users.dedup();
                prop_assert_eq!(users.len(), current.len(), "a user holds two memberships");
            }
        }
    }

    proptest! {
        #[test]
        fn only_a_partys_own_managers_write_for_it(
            members in prop::collection::vec((0..3u8, role()), 1..12),
            party in 0..3u8,
        ) {
            for (i, &(p, role)) in members.iter().enumerate() {
                let actor = CurrentMember { user_id: id(i as u8), party_id: id(100 + p), role };
                let verdict = check_party_write(Some(&actor), id(100 + party));
                match verdict {
                    Ok(()) => prop_assert!(p == party && role.manages(), "{actor:?} wrote for party {party}"),
                    Err(PartyWriteError::NotManager) => prop_assert!(!role.manages()),
                    Err(PartyWriteError::OtherParty) => prop_assert!(role.manages() && p != party),
                }
                // Whatever the party, a manager may always write for their own.
                prop_assert_eq!(check_party_write(Some(&actor), actor.party_id).is_ok(), role.manages());
            }
        }
    }

    #[test]
    fn another_partys_managers_are_refused_their_own_are_not() {
        let (a, b) = (id(100), id(101));
        let member = |party, role| CurrentMember { user_id: id(1), party_id: party, role };
        assert_eq!(check_party_write(Some(&member(a, Role::Jmt)), a), Ok(()));
        assert_eq!(check_party_write(Some(&member(a, Role::Ser)), a), Ok(()));
        assert_eq!(check_party_write(Some(&member(b, Role::Jmt)), a), Err(PartyWriteError::OtherParty));
        assert_eq!(check_party_write(Some(&member(b, Role::Ser)), a), Err(PartyWriteError::OtherParty));
        assert_eq!(check_party_write(Some(&member(a, Role::Contributor)), a), Err(PartyWriteError::NotManager));
        assert_eq!(check_party_write(Some(&member(a, Role::Observer)), a), Err(PartyWriteError::NotManager));
        assert_eq!(check_party_write(None, a), Err(PartyWriteError::NotManager), "not a member at all");
    }

    #[test]
    fn a_second_ser_is_refused_with_a_reason() {
        let party = id(100);
        let current = vec![CurrentMember { user_id: id(1), party_id: party, role: Role::Ser }];
        assert_eq!(check_join(&current, id(2), party, Role::Ser), Err(MembershipError::SecondSer));
        assert_eq!(check_join(&current, id(2), id(101), Role::Ser), Ok(()));
        assert_eq!(check_leave(&current, id(1)), Err(MembershipError::SerMustHandOver));
    }
}
