//! Who may do what in a room.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Presenter,
    Moderator,
    Attendee,
}

/// Everything a participant can ask the server to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Chat,
    AskQuestion,
    Vote,
    /// Send reactions.
    React,
    /// Delete messages, pin/hide/answer/approve questions, promote messages.
    Moderate,
    SeeHiddenQuestions,
    SeeParticipants,
    Kick,
    ChangeSettings,
    ViewStats,
    Publish,
    EndRoom,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Presenter, Role::Moderator, Role::Attendee];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Presenter => "presenter",
            Role::Moderator => "moderator",
            Role::Attendee => "attendee",
        }
    }

    pub fn is_moderator_or_above(self) -> bool {
        matches!(self, Role::Presenter | Role::Moderator)
    }

    pub fn can(self, action: Action) -> bool {
        use Action::*;
        match action {
            Chat | AskQuestion | Vote | React => true,
            Moderate | SeeHiddenQuestions | SeeParticipants | Kick | ChangeSettings | ViewStats => {
                self.is_moderator_or_above()
            }
            Publish | EndRoom => self == Role::Presenter,
        }
    }
}

/// Whether `actor` may remove `target` from the room: nobody removes the
/// presenter, only the presenter removes a moderator, staff remove
/// attendees.
pub fn may_remove(actor: Role, target: Role) -> bool {
    actor.can(Action::Kick)
        && match target {
            Role::Presenter => false,
            Role::Moderator => actor == Role::Presenter,
            Role::Attendee => true,
        }
}

/// Why a join with `role` is refused, if it is: a locked room admits no
/// new attendees (keys still open it).
pub fn refuses_join(role: Role, locked: bool) -> Option<&'static str> {
    (role == Role::Attendee && locked)
        .then_some("This room is locked: no new attendees can join right now.")
}

/// Whether a removal keeps this role's browser out of the room: everyone's
/// but the presenter's, who cannot be removed.
pub fn removal_binds(role: Role) -> bool {
    role != Role::Presenter
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "presenter" => Ok(Role::Presenter),
            "moderator" => Ok(Role::Moderator),
            "attendee" => Ok(Role::Attendee),
            other => Err(UnknownRole(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Action; 12] = [
        Action::Chat,
        Action::AskQuestion,
        Action::Vote,
        Action::React,
        Action::Moderate,
        Action::SeeHiddenQuestions,
        Action::SeeParticipants,
        Action::Kick,
        Action::ChangeSettings,
        Action::ViewStats,
        Action::Publish,
        Action::EndRoom,
    ];

    #[test]
    fn presenter_can_do_everything() {
        assert!(ALL.iter().all(|a| Role::Presenter.can(*a)));
    }

    #[test]
    fn moderator_moderates_but_neither_publishes_nor_ends() {
        for a in ALL {
            let expected = !matches!(a, Action::Publish | Action::EndRoom);
            assert_eq!(Role::Moderator.can(a), expected, "{a:?}");
        }
    }

    #[test]
    fn attendee_only_takes_part() {
        for a in ALL {
            let expected = matches!(
                a,
                Action::Chat | Action::AskQuestion | Action::Vote | Action::React
            );
            assert_eq!(Role::Attendee.can(a), expected, "{a:?}");
        }
    }

    #[test]
    fn who_may_remove_whom() {
        use Role::*;
        for (actor, target, may) in [
            (Presenter, Moderator, true),
            (Presenter, Attendee, true),
            (Presenter, Presenter, false),
            (Moderator, Attendee, true),
            (Moderator, Moderator, false),
            (Moderator, Presenter, false),
            (Attendee, Attendee, false),
        ] {
            assert_eq!(may_remove(actor, target), may, "{actor} removes {target}");
        }
    }

    #[test]
    fn a_locked_room_refuses_only_new_attendees() {
        assert!(refuses_join(Role::Attendee, true).is_some());
        assert!(refuses_join(Role::Moderator, true).is_none());
        assert!(refuses_join(Role::Presenter, true).is_none());
        assert!(refuses_join(Role::Attendee, false).is_none());
    }

    #[test]
    fn roles_round_trip_through_text() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("admin".parse::<Role>().is_err());
    }
}
