//! The stage in the room core: hands, invitations, the stage's seats.

use super::*;
use crate::store::models::Participant as Row;

fn row(id: i64, role: &str) -> Row {
    Row {
        id,
        room_id: 7,
        name: member(id).name,
        role: role.into(),
        token_hash: vec![],
        joined_at: Utc.timestamp_opt(1_900_000_000, 0).unwrap(),
        kicked_at: None,
    }
}

#[test]
fn hands_go_to_staff_in_the_order_raised_once_per_flush() {
    let mut r = Room7::full();
    let mut writes = Vec::new();
    for who in [CY, BEA] {
        let (reply, effects) = r.act(who, Act::RaiseHand);
        let (id, write) = the_write(&effects);
        assert!(matches!(write, Write::SetHand { participant, at: Some(_) } if participant == who));
        writes.push((id, reply, who));
    }
    for (id, reply, who) in writes {
        let effects = r.written(id, Written::Done(true));
        assert_eq!(sends(&effects), [("hand.state", vec![who as ConnId])]);
        assert_eq!(reply_of(&effects, reply), Ok(Done::Hand { raised: true }));
    }
    let effects = r.input(Input::Tick);
    let hands: Vec<i64> = effects
        .iter()
        .find_map(|e| match e {
            Effect::Send {
                frame: ServerFrame::Hands { hands },
                to,
            } => {
                assert_eq!(to, &vec![1, 2], "staff only");
                Some(hands.iter().map(|h| h.participant_id).collect())
            }
            _ => None,
        })
        .expect("one hands frame");
    assert_eq!(hands, [CY, BEA], "in the order raised");
    assert!(sends(&r.input(Input::Tick)).is_empty(), "nothing new");
    // Staff do not raise hands; attendees do not lower others'.
    let (reply, _) = r.act(MODERATOR, Act::RaiseHand);
    let _ = reply;
    let (reply, effects) = r.act(BEA, Act::LowerHand { id: Some(CY) });
    assert!(matches!(
        reply_of(&effects, reply),
        Err(RoomError::Forbidden(_))
    ));
}

#[test]
fn an_accepted_invitation_puts_the_attendee_on_stage_until_the_seats_are_full() {
    let mut room = room();
    room.max_speakers = 1;
    let mut r = Room7::with(room, vec![]);
    for who in [PRESENTER, MODERATOR, BEA, CY] {
        r.connect(who as ConnId, who);
    }
    for who in [BEA, CY] {
        let (_, effects) = r.act(
            MODERATOR,
            Act::Invite {
                participant_id: who,
            },
        );
        let (id, _) = the_write(&effects);
        let effects = r.written(id, Written::Participant(Some(row(who, "attendee"))));
        assert_eq!(sends(&effects), [("stage.invited", vec![who as ConnId])]);
    }
    let (reply, effects) = r.act(BEA, Act::AcceptStage);
    let (id, write) = the_write(&effects);
    assert_eq!(write, Write::MakeSpeaker { participant: BEA });
    // Cy accepts while Bea's acceptance is being stored: the one seat is
    // taken already.
    let (cy, effects) = r.act(CY, Act::AcceptStage);
    no_write(&effects);
    assert!(matches!(
        reply_of(&effects, cy),
        Err(RoomError::Conflict("stage_full", _))
    ));
    let effects = r.written(id, Written::Participant(Some(row(BEA, "speaker"))));
    assert_eq!(sends(&effects), [("stage.updated", vec![1, 2, 3, 4])]);
    assert!(matches!(reply_of(&effects, reply), Ok(Done::Participant(p)) if p.role == "speaker"));
    // Her socket still says attendee; the room knows better.
    let (reply, effects) = r.act(BEA, Act::RaiseHand);
    assert!(matches!(
        reply_of(&effects, reply),
        Err(RoomError::Forbidden(_))
    ));
    // An attendee cannot take her off; she can step down.
    let (reply, effects) = r.act(
        CY,
        Act::RemoveFromStage {
            participant_id: BEA,
        },
    );
    assert!(matches!(
        reply_of(&effects, reply),
        Err(RoomError::Forbidden(_))
    ));
    let (_, effects) = r.act(
        BEA,
        Act::RemoveFromStage {
            participant_id: BEA,
        },
    );
    let (id, write) = the_write(&effects);
    assert_eq!(write, Write::MakeAttendee { participant: BEA });
    let effects = r.written(id, Written::Participant(Some(row(BEA, "attendee"))));
    assert_eq!(sends(&effects), [("stage.updated", vec![1, 2, 3, 4])]);
    // Now the seat is free for Cy.
    let (_, effects) = r.act(CY, Act::AcceptStage);
    assert!(matches!(
        the_write(&effects).1,
        Write::MakeSpeaker { participant: CY }
    ));
}
