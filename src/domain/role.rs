//! Who may do what in a room.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Presenter,
    Moderator,
    /// An attendee invited on stage who accepted: publishes camera and
    /// microphone until taken off.
    Speaker,
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
    /// Raise and lower one's own hand.
    RaiseHand,
    /// Accept or decline an invitation on stage.
    JoinStage,
    /// Invite on stage, take off stage, lower others' hands.
    RunStage,
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
    pub const ALL: [Role; 4] = [
        Role::Presenter,
        Role::Moderator,
        Role::Speaker,
        Role::Attendee,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Presenter => "presenter",
            Role::Moderator => "moderator",
            Role::Speaker => "speaker",
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
            RaiseHand | JoinStage => self == Role::Attendee,
            Moderate | SeeHiddenQuestions | SeeParticipants | Kick | ChangeSettings | ViewStats
            | RunStage => self.is_moderator_or_above(),
            // A speaker publishes their own camera and microphone only
            // (the WHIP handler keeps the screen to the presenter).
            Publish => matches!(self, Role::Presenter | Role::Speaker),
            EndRoom => self == Role::Presenter,
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
            Role::Speaker | Role::Attendee => true,
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
            "speaker" => Ok(Role::Speaker),
            "attendee" => Ok(Role::Attendee),
            other => Err(UnknownRole(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Action; 15] = [
        Action::Chat,
        Action::AskQuestion,
        Action::Vote,
        Action::React,
        Action::RaiseHand,
        Action::JoinStage,
        Action::RunStage,
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
    fn presenter_can_do_everything_but_raise_a_hand() {
        for a in ALL {
            let expected = !matches!(a, Action::RaiseHand | Action::JoinStage);
            assert_eq!(Role::Presenter.can(a), expected, "{a:?}");
        }
    }

    #[test]
    fn moderator_moderates_but_neither_publishes_nor_ends() {
        for a in ALL {
            let expected = !matches!(
                a,
                Action::Publish | Action::EndRoom | Action::RaiseHand | Action::JoinStage
            );
            assert_eq!(Role::Moderator.can(a), expected, "{a:?}");
        }
    }

    #[test]
    fn attendee_only_takes_part() {
        for a in ALL {
            let expected = matches!(
                a,
                Action::Chat
                    | Action::AskQuestion
                    | Action::Vote
                    | Action::React
                    | Action::RaiseHand
                    | Action::JoinStage
            );
            assert_eq!(Role::Attendee.can(a), expected, "{a:?}");
        }
    }

    #[test]
    fn a_speaker_takes_part_and_publishes() {
        for a in ALL {
            let expected = matches!(
                a,
                Action::Chat | Action::AskQuestion | Action::Vote | Action::React | Action::Publish
            );
            assert_eq!(Role::Speaker.can(a), expected, "{a:?}");
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
