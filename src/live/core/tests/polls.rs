//! Polls and reactions in the room core.

use super::*;
use crate::domain::polls::{PollOptions, PollQuestion, PollStatus};
use crate::domain::reactions::Emoji;
use crate::store::polls::{PollRow, PollTally};

fn tally(id: i64, status: &str, counts: Vec<i32>, voters: i32) -> PollTally {
    PollTally {
        row: PollRow {
            id,
            question: "Tabs or spaces?".into(),
            options: (0..counts.len()).map(|i| format!("option {i}")).collect(),
            multiple: false,
            status: status.into(),
            created_at: Utc.timestamp_opt(1_900_000_300, 0).unwrap(),
            opened_at: None,
            closed_at: None,
        },
        counts,
        voters,
    }
}

fn create() -> Act {
    Act::CreatePoll {
        question: PollQuestion::parse("Tabs or spaces?").unwrap(),
        options: PollOptions::parse(&["tabs".into(), "spaces".into(), "both".into()]).unwrap(),
        multiple: false,
    }
}

fn poll_in(effects: &[Effect], reply: ReplyId) -> PollView {
    match reply_of(effects, reply) {
        Ok(Done::Poll(p)) => p,
        other => panic!("no poll: {other:?}"),
    }
}

/// A room with poll 9 created and answered by the store, in `status`.
fn with_poll(status: &str) -> Room7 {
    let mut r = Room7::full();
    let (_, effects) = r.act(MODERATOR, create());
    let (id, _) = the_write(&effects);
    r.written(id, Written::Poll(Some(tally(9, "draft", vec![0, 0, 0], 0))));
    if status != "draft" {
        let (_, effects) = r.act(
            MODERATOR,
            Act::UpdatePoll {
                id: 9,
                status: PollStatus::Open,
            },
        );
        let (id, _) = the_write(&effects);
        r.written(id, Written::Poll(Some(tally(9, "open", vec![0, 0, 0], 0))));
    }
    r
}

fn vote(options: &[usize]) -> Act {
    Act::VotePoll {
        id: 9,
        options: options.to_vec(),
    }
}

#[test]
fn a_draft_is_for_staff_and_opening_it_shows_it_to_everyone() {
    let mut r = Room7::full();
    let (reply, effects) = r.act(MODERATOR, create());
    let (id, write) = the_write(&effects);
    assert_eq!(
        write,
        Write::CreatePoll {
            question: "Tabs or spaces?".into(),
            options: vec!["tabs".into(), "spaces".into(), "both".into()],
            multiple: false,
        }
    );
    let effects = r.written(id, Written::Poll(Some(tally(9, "draft", vec![0, 0, 0], 0))));
    assert_eq!(sends(&effects), [("poll.created", vec![1, 2])]);
    assert_eq!(poll_in(&effects, reply).poll.status, "draft");
    // Attendees cannot see, let alone vote on, a draft.
    let (reply, effects) = r.act(BEA, vote(&[0]));
    no_write(&effects);
    assert_eq!(
        reply_of(&effects, reply),
        Err(RoomError::NotFound("No such poll."))
    );
    // Nor may they open it.
    let open = Act::UpdatePoll {
        id: 9,
        status: PollStatus::Open,
    };
    let (reply, effects) = r.act(BEA, open.clone());
    assert!(matches!(
        reply_of(&effects, reply),
        Err(RoomError::Forbidden(_))
    ));
    let (_, effects) = r.act(MODERATOR, open);
    let (id, write) = the_write(&effects);
    assert_eq!(
        write,
        Write::UpdatePoll {
            id: 9,
            status: "open"
        }
    );
    let effects = r.written(id, Written::Poll(Some(tally(9, "open", vec![0, 0, 0], 0))));
    assert_eq!(
        sends(&effects),
        [("poll.updated", vec![1, 2]), ("poll.created", vec![3, 4])]
    );
    // A reconnecting attendee finds it in the welcome, with no choice yet.
    let w = r.connect(5, BEA);
    assert_eq!(w.polls.len(), 1);
    assert_eq!(w.polls[0].my_choice, Some(None));
}

#[test]
fn a_vote_is_stored_then_answered_with_the_choice_and_counts_go_out_once_per_flush() {
    let mut r = with_poll("open");
    let (reply, effects) = r.act(BEA, vote(&[1]));
    let (id, write) = the_write(&effects);
    assert_eq!(
        write,
        Write::PollVotes {
            ops: vec![(9, BEA, vec![1])]
        }
    );
    // A vote arriving meanwhile waits for the next batch.
    let (cy, effects) = r.act(CY, vote(&[2]));
    no_write(&effects);
    let effects = r.written(
        id,
        Written::PollVotes {
            stored: vec![true],
            tallies: vec![tally(9, "open", vec![0, 1, 0], 1)],
        },
    );
    let mine = poll_in(&effects, reply);
    assert_eq!(mine.my_choice, Some(Some(vec![1])));
    assert_eq!(mine.poll.options[1].votes, 1);
    assert!(sends(&effects).is_empty(), "counts wait for the flush");
    let (id, write) = the_write(&effects);
    assert_eq!(
        write,
        Write::PollVotes {
            ops: vec![(9, CY, vec![2])]
        }
    );
    let effects = r.written(
        id,
        Written::PollVotes {
            stored: vec![true],
            tallies: vec![tally(9, "open", vec![0, 1, 1], 2)],
        },
    );
    assert_eq!(poll_in(&effects, cy).poll.total_voters, 2);
    r.later(Duration::from_millis(100));
    let effects = r.input(Input::Tick);
    assert_eq!(sends(&effects), [("poll.updated", vec![1, 2, 3, 4])]);
    let effects = r.input(Input::Tick);
    assert!(sends(&effects).is_empty(), "nothing changed since");
}

#[test]
fn a_choice_must_fit_the_poll() {
    let mut r = with_poll("open");
    for bad in [vec![], vec![0, 1], vec![3]] {
        let (reply, effects) = r.act(BEA, vote(&bad));
        no_write(&effects);
        assert!(
            matches!(reply_of(&effects, reply), Err(RoomError::InvalidInput(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn closing_waits_for_votes_in_flight_and_then_refuses_more() {
    let mut r = with_poll("open");
    let (_, effects) = r.act(BEA, vote(&[0]));
    let (batch, _) = the_write(&effects);
    let close = Act::UpdatePoll {
        id: 9,
        status: PollStatus::Closed,
    };
    let (_, effects) = r.act(MODERATOR, close);
    no_write(&effects);
    let effects = r.written(
        batch,
        Written::PollVotes {
            stored: vec![true],
            tallies: vec![tally(9, "open", vec![1, 0, 0], 1)],
        },
    );
    let (id, write) = the_write(&effects);
    assert_eq!(
        write,
        Write::UpdatePoll {
            id: 9,
            status: "closed"
        },
        "the close comes once the vote is stored"
    );
    let effects = r.written(
        id,
        Written::Poll(Some(tally(9, "closed", vec![1, 0, 0], 1))),
    );
    assert_eq!(sends(&effects), [("poll.updated", vec![1, 2, 3, 4])]);
    let (reply, effects) = r.act(CY, vote(&[1]));
    no_write(&effects);
    assert!(matches!(
        reply_of(&effects, reply),
        Err(RoomError::Conflict("poll_not_open", _))
    ));
    // Never back.
    let reopen = Act::UpdatePoll {
        id: 9,
        status: PollStatus::Open,
    };
    let (reply, effects) = r.act(MODERATOR, reopen);
    no_write(&effects);
    assert!(matches!(
        reply_of(&effects, reply),
        Err(RoomError::Conflict("poll_status", _))
    ));
}

#[test]
fn a_vote_the_store_did_not_take_because_the_poll_closed_is_refused() {
    let mut r = with_poll("open");
    let (reply, effects) = r.act(BEA, vote(&[0]));
    let (batch, _) = the_write(&effects);
    let effects = r.written(
        batch,
        Written::PollVotes {
            stored: vec![false],
            tallies: vec![tally(9, "closed", vec![0, 0, 0], 0)],
        },
    );
    assert!(matches!(
        reply_of(&effects, reply),
        Err(RoomError::Conflict("poll_not_open", _))
    ));
}

#[test]
fn a_removed_poll_goes_from_everyone_who_saw_it() {
    let mut r = with_poll("draft");
    let (reply, effects) = r.act(MODERATOR, Act::DeletePoll { id: 9 });
    let (id, write) = the_write(&effects);
    assert_eq!(write, Write::DeletePoll { id: 9 });
    let effects = r.written(id, Written::Done(true));
    assert_eq!(sends(&effects), [("poll.removed", vec![1, 2])]);
    assert_eq!(reply_of(&effects, reply), Ok(Done::Nothing));
    let (reply, effects) = r.act(MODERATOR, Act::DeletePoll { id: 9 });
    no_write(&effects);
    assert!(reply_of(&effects, reply).is_err());
}

// ---- reactions ----------------------------------------------------------

fn react(e: Emoji) -> Act {
    Act::React { emoji: e }
}

#[test]
fn reactions_are_counted_once_stored_and_told_as_counts_at_most_four_times_a_second() {
    let mut r = Room7::full();
    let (first, effects) = r.act(BEA, react(Emoji::Clap));
    let (batch, write) = the_write(&effects);
    let minute = Utc.timestamp_opt(1_900_000_980, 0).unwrap();
    assert_eq!(
        write,
        Write::Reactions {
            minute,
            counts: vec![("👏".into(), 1)]
        }
    );
    // While it is written, more wait for the next batch.
    let mut waiting = Vec::new();
    for e in [Emoji::Clap, Emoji::Heart, Emoji::Clap] {
        let (reply, effects) = r.act(CY, react(e));
        no_write(&effects);
        waiting.push(reply);
    }
    let effects = r.written(batch, Written::Done(true));
    assert_eq!(reply_of(&effects, first), Ok(Done::Nothing));
    let (batch, write) = the_write(&effects);
    assert_eq!(
        write,
        Write::Reactions {
            minute,
            counts: vec![("👏".into(), 2), ("❤️".into(), 1)]
        }
    );
    let effects = r.input(Input::Tick);
    let frames: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send {
                frame: ServerFrame::Reactions { counts },
                to,
            } => Some((counts.clone(), to.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        frames,
        [(BTreeMap::from([("👏", 1)]), vec![1, 2, 3, 4])],
        "only what is stored is told"
    );
    let effects = r.written(batch, Written::Done(true));
    for reply in waiting {
        assert_eq!(reply_of(&effects, reply), Ok(Done::Nothing));
    }
    // Too soon for another frame; then the rest in one.
    r.later(Duration::from_millis(100));
    assert!(sends(&r.input(Input::Tick)).is_empty());
    r.later(Duration::from_millis(200));
    let effects = r.input(Input::Tick);
    let frame = effects.iter().find_map(|e| match e {
        Effect::Send {
            frame: ServerFrame::Reactions { counts },
            ..
        } => Some(counts.clone()),
        _ => None,
    });
    assert_eq!(frame, Some(BTreeMap::from([("👏", 2), ("❤️", 1)])));
}

#[test]
fn a_participant_sends_a_burst_of_ten_then_five_a_second() {
    let mut r = Room7::full();
    let mut refused = 0;
    for _ in 0..15 {
        let (reply, effects) = r.act(BEA, react(Emoji::Party));
        if let Some(Effect::Reply {
            result: Err(RoomError::RateLimited(wait)),
            ..
        }) = effects
            .iter()
            .find(|e| matches!(e, Effect::Reply { to, .. } if *to == reply))
        {
            assert!(*wait <= Duration::from_millis(200));
            refused += 1;
        }
    }
    assert_eq!(refused, 5);
    // Someone else is not held back by Bea.
    let (reply, effects) = r.act(CY, react(Emoji::Party));
    assert!(!effects
        .iter()
        .any(|e| matches!(e, Effect::Reply { to, result: Err(_) } if *to == reply)));
    r.later(Duration::from_secs(1));
    let accepted = (0..6)
        .filter(|_| {
            let (reply, effects) = r.act(BEA, react(Emoji::Party));
            !effects
                .iter()
                .any(|e| matches!(e, Effect::Reply { to, result: Err(_) } if *to == reply))
        })
        .count();
    assert_eq!(accepted, 5);
}

#[test]
fn two_polls_changing_at_once_take_turns_and_the_room_hears_at_most_ten_frames_a_second() {
    let mut r = with_poll("open");
    let (_, effects) = r.act(MODERATOR, create());
    let (id, _) = the_write(&effects);
    r.written(
        id,
        Written::Poll(Some(tally(10, "draft", vec![0, 0, 0], 0))),
    );
    let (_, effects) = r.act(
        MODERATOR,
        Act::UpdatePoll {
            id: 10,
            status: PollStatus::Open,
        },
    );
    let (id, _) = the_write(&effects);
    r.written(id, Written::Poll(Some(tally(10, "open", vec![0, 0, 0], 0))));
    let (_, effects) = r.act(BEA, vote(&[0]));
    let (batch, _) = the_write(&effects);
    r.written(
        batch,
        Written::PollVotes {
            stored: vec![true, true],
            tallies: vec![
                tally(9, "open", vec![1, 0, 0], 1),
                tally(10, "open", vec![0, 1, 0], 1),
            ],
        },
    );
    let told = |effects: &[Effect]| -> Vec<i64> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send {
                    frame: ServerFrame::PollUpdated { poll },
                    ..
                } => Some(poll.poll.id),
                _ => None,
            })
            .collect()
    };
    r.later(Duration::from_millis(100));
    assert_eq!(told(&r.input(Input::Tick)), [9]);
    // A tick that comes early (a late one before it) sends nothing.
    r.later(Duration::from_millis(60));
    assert_eq!(told(&r.input(Input::Tick)), Vec::<i64>::new());
    r.later(Duration::from_millis(40));
    assert_eq!(told(&r.input(Input::Tick)), [10]);
    r.later(Duration::from_millis(100));
    assert!(told(&r.input(Input::Tick)).is_empty());
}

#[test]
fn a_storm_cannot_hold_the_end_back() {
    let mut r = Room7::full();
    let (_, effects) = r.act(BEA, react(Emoji::Clap));
    let (batch, _) = the_write(&effects);
    let (_, effects) = r.act(PRESENTER, Act::End);
    no_write(&effects);
    // Reactions keep coming: they wait behind the end, not before it.
    let (late, effects) = r.act(CY, react(Emoji::Heart));
    no_write(&effects);
    let effects = r.written(batch, Written::Done(true));
    let writes: Vec<&Write> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Write { write, .. } => Some(write),
            _ => None,
        })
        .collect();
    assert_eq!(
        writes.first(),
        Some(&&Write::End),
        "the end goes as soon as the earlier batch is stored: {writes:?}"
    );
    // The late reaction is taken after it (its own batch, beside the end).
    let batches: Vec<_> = effects
        .iter()
        .filter(|e| {
            matches!(
                e,
                Effect::Write {
                    write: Write::Reactions { .. },
                    ..
                }
            )
        })
        .collect();
    assert!(batches.len() <= 1);
    let _ = late;
}
