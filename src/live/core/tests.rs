//! The room core, action by action, without a database: inputs in, the
//! writes it asks for answered by hand, and what it sends to whom checked.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};

use super::*;
use crate::domain::qa::{AnswerText, ChatBody, ClientId, QuestionBody};
use crate::live::act::QuestionEdit;
use crate::live::act::SettingsPatch;
use crate::live::views::Welcome;

mod polls;
mod stage;

const PRESENTER: i64 = 1;
const MODERATOR: i64 = 2;
const BEA: i64 = 3;
const CY: i64 = 4;

fn room() -> Room {
    let t = Utc.timestamp_opt(1_900_000_000, 0).unwrap();
    Room {
        id: 7,
        slug: "rust-at-scale-abcdefghij".into(),
        title: "Rust at Scale".into(),
        presenter_name: "Ada".into(),
        password_hash: None,
        host_key_hash: vec![],
        moderator_key_hash: vec![],
        max_participants: 1000,
        status: "open".into(),
        chat_enabled: true,
        questions_enabled: true,
        anonymous_questions: true,
        questions_need_approval: false,
        created_at: t,
        started_at: None,
        ended_at: None,
        locked: false,
        max_speakers: 3,
        erased_at: None,
        recording: false,
        replay_public: false,
    }
}

fn member(id: i64) -> Member {
    let (name, role) = match id {
        PRESENTER => ("Ada", Role::Presenter),
        MODERATOR => ("Mo", Role::Moderator),
        BEA => ("Bea", Role::Attendee),
        _ => ("Cy", Role::Attendee),
    };
    Member {
        participant_id: id,
        name: name.into(),
        role,
    }
}

fn message(id: i64, author: i64, body: &str) -> MessageRow {
    let m = member(author);
    MessageRow {
        id,
        participant_id: author,
        name: m.name,
        role: m.role.as_str().into(),
        body: body.into(),
        created_at: Utc.timestamp_opt(1_900_000_100, 0).unwrap(),
    }
}

fn question(id: i64, author: i64) -> QuestionRow {
    QuestionRow {
        id,
        participant_id: author,
        author_name: member(author).name,
        body: format!("question {id}"),
        anonymous: false,
        votes: 0,
        pinned: false,
        hidden: false,
        approved: true,
        answered: false,
        answer: None,
        created_at: Utc.timestamp_opt(1_900_000_200, 0).unwrap(),
        answered_at: None,
        source_message_id: None,
    }
}

/// A core, its clock, and the effects of its last input.
struct Room7 {
    core: RoomCore,
    mono: Instant,
    next_reply: ReplyId,
}

impl Room7 {
    fn new(questions: Vec<QuestionRow>) -> Self {
        Self::with(room(), questions)
    }

    fn with(room: Room, questions: Vec<QuestionRow>) -> Self {
        let mono = Instant::now();
        let at = At {
            mono,
            wall: Utc::now(),
        };
        let media = MediaState {
            room_id: 7,
            seq: 10,
            ..MediaState::default()
        };
        Self {
            core: RoomCore::new(room, questions, vec![], Lineup::default(), media, at),
            mono,
            next_reply: 1,
        }
    }

    fn at(&self) -> At {
        At {
            mono: self.mono,
            wall: Utc.timestamp_opt(1_900_001_000, 0).unwrap(),
        }
    }

    fn input(&mut self, input: Input) -> Vec<Effect> {
        let at = self.at();
        self.core.handle(at, input)
    }

    fn later(&mut self, by: Duration) {
        self.mono += by;
    }

    /// Connects `who` on socket `conn`; gives the welcome.
    fn connect(&mut self, conn: ConnId, who: i64) -> Welcome {
        let effects = self.input(Input::Connect {
            conn,
            member: member(who),
        });
        let (id, write) = the_write(&effects);
        assert_eq!(write, Write::Snapshot { participant: who });
        let effects = self.written(
            id,
            Written::Snapshot {
                messages: vec![message(1, BEA, "hi")],
                voted: HashSet::new(),
                choices: HashMap::new(),
                session: 100 + conn as i64,
            },
        );
        match effects.as_slice() {
            [Effect::Welcome {
                conn: c,
                frame: ServerFrame::Welcome(w),
            }] if *c == conn => (**w).clone(),
            other => panic!("no welcome: {other:?}"),
        }
    }

    /// The usual room: presenter on 1, moderator on 2, Bea on 3, Cy on 4,
    /// with the arrivals flushed.
    fn full() -> Self {
        Self::full_with(vec![question(50, BEA)])
    }

    fn full_with(questions: Vec<QuestionRow>) -> Self {
        let mut r = Self::new(questions);
        for who in [PRESENTER, MODERATOR, BEA, CY] {
            r.connect(who as ConnId, who);
        }
        r.later(Duration::from_secs(1));
        r.input(Input::Tick);
        r
    }

    fn act(&mut self, who: i64, act: Act) -> (ReplyId, Vec<Effect>) {
        let reply = self.next_reply;
        self.next_reply += 1;
        let effects = self.input(Input::Act {
            member: member(who),
            act,
            reply,
        });
        (reply, effects)
    }

    fn written(&mut self, id: WriteId, written: Written) -> Vec<Effect> {
        self.input(Input::Written {
            id,
            result: Ok(written),
        })
    }
}

fn the_write(effects: &[Effect]) -> (WriteId, Write) {
    let writes: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Write { id, write } => Some((*id, write.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(writes.len(), 1, "one write expected: {effects:?}");
    writes.into_iter().next().unwrap()
}

fn no_write(effects: &[Effect]) {
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::Write { .. })),
        "nothing may be written: {effects:?}"
    );
}

/// Who got which frame type, in order.
fn sends(effects: &[Effect]) -> Vec<(&'static str, Vec<ConnId>)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { to, frame } => Some((frame.kind(), to.clone())),
            _ => None,
        })
        .collect()
}

fn reply_of(effects: &[Effect], reply: ReplyId) -> Result<Done, RoomError> {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::Reply { to, result } if *to == reply => Some(result.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no reply {reply}: {effects:?}"))
}

fn chat(body: &str) -> Act {
    Act::Chat {
        body: ChatBody::parse(body).unwrap(),
        client_id: None,
    }
}

// ---- chat ---------------------------------------------------------------

#[test]
fn a_chat_message_is_stored_then_sent_to_everyone_then_acknowledged() {
    let mut r = Room7::full();
    let (reply, effects) = r.act(BEA, chat("hello"));
    let (id, write) = the_write(&effects);
    assert_eq!(
        write,
        Write::InsertMessage {
            participant: BEA,
            body: "hello".into(),
            client_id: None,
        }
    );
    assert!(
        sends(&effects).is_empty(),
        "nothing said before it is stored"
    );
    let effects = r.written(
        id,
        Written::Message {
            row: message(9, BEA, "hello"),
            created: true,
        },
    );
    assert_eq!(sends(&effects), [("chat.message", vec![1, 2, 3, 4])]);
    assert!(matches!(reply_of(&effects, reply), Ok(Done::Message(m)) if m.id == 9));
}

#[test]
fn a_retried_chat_send_is_answered_but_not_repeated() {
    let mut r = Room7::full();
    let (reply, effects) = r.act(
        BEA,
        Act::Chat {
            body: ChatBody::parse("once").unwrap(),
            client_id: Some(ClientId::parse("c1").unwrap()),
        },
    );
    let (id, _) = the_write(&effects);
    let effects = r.written(
        id,
        Written::Message {
            row: message(9, BEA, "once"),
            created: false,
        },
    );
    assert!(sends(&effects).is_empty());
    assert!(reply_of(&effects, reply).is_ok());
}

#[test]
fn with_chat_off_attendees_are_refused_and_staff_are_not() {
    let mut off = room();
    off.chat_enabled = false;
    let mut r = Room7::with(off, vec![]);
    let (reply, effects) = r.act(BEA, chat("hi"));
    no_write(&effects);
    assert!(matches!(
        reply_of(&effects, reply),
        Err(RoomError::Forbidden(_))
    ));
    let (_, effects) = r.act(MODERATOR, chat("still here"));
    the_write(&effects);
}

#[test]
fn deleting_a_message_tells_everyone_and_a_missing_one_is_not_found() {
    let mut r = Room7::full();
    let (reply, effects) = r.act(MODERATOR, Act::DeleteMessage { id: 1 });
    let (id, write) = the_write(&effects);
    assert_eq!(write, Write::DeleteMessage { id: 1 });
    let effects = r.written(id, Written::Done(true));
    assert_eq!(sends(&effects), [("chat.deleted", vec![1, 2, 3, 4])]);
    assert_eq!(reply_of(&effects, reply), Ok(Done::Nothing));
    let (reply, effects) = r.act(MODERATOR, Act::DeleteMessage { id: 99 });
    let (id, _) = the_write(&effects);
    let effects = r.written(id, Written::Done(false));
    assert!(sends(&effects).is_empty());
    assert_eq!(
        reply_of(&effects, reply),
        Err(RoomError::NotFound("No such message."))
    );
}

#[test]
fn an_attendee_may_not_moderate_and_nothing_is_written() {
    let mut r = Room7::full();
    for act in [
        Act::DeleteMessage { id: 1 },
        Act::Promote { message_id: 1 },
        Act::UpdateQuestion {
            id: 50,
            change: QuestionEdit {
                hidden: Some(true),
                ..Default::default()
            },
        },
        Act::Settings(SettingsPatch::default()),
        Act::Kick { participant_id: CY },
        Act::End,
    ] {
        let (reply, effects) = r.act(BEA, act.clone());
        no_write(&effects);
        assert!(
            matches!(reply_of(&effects, reply), Err(RoomError::Forbidden(_))),
            "{act:?}"
        );
    }
    let (reply, effects) = r.act(MODERATOR, Act::End);
    no_write(&effects);
    assert!(matches!(
        reply_of(&effects, reply),
        Err(RoomError::Forbidden(_))
    ));
}

// ---- questions ------------------------------------------------------------

#[test]
fn a_question_awaiting_approval_reaches_only_staff_and_its_author() {
    let mut needs = room();
    needs.questions_need_approval = true;
    let mut r = Room7::with(needs, vec![]);
    for who in [PRESENTER, MODERATOR, BEA, CY] {
        r.connect(who as ConnId, who);
    }
    let (reply, effects) = r.act(
        BEA,
        Act::Ask {
            body: QuestionBody::parse("may I?").unwrap(),
            anonymous: false,
            client_id: None,
        },
    );
    let (id, write) = the_write(&effects);
    assert!(matches!(
        write,
        Write::InsertQuestion {
            approved: false,
            ..
        }
    ));
    let mut row = question(60, BEA);
    row.approved = false;
    let effects = r.written(
        id,
        Written::Question {
            row,
            created: true,
            voted: false,
        },
    );
    assert_eq!(sends(&effects), [("question.created", vec![1, 2, 3])]);
    assert!(matches!(reply_of(&effects, reply), Ok(Done::Question(q)) if q.status == "pending"));
}

#[test]
fn anonymous_questions_off_are_refused() {
    let mut strict = room();
    strict.anonymous_questions = false;
    let mut r = Room7::with(strict, vec![]);
    let (reply, effects) = r.act(
        BEA,
        Act::Ask {
            body: QuestionBody::parse("who am I?").unwrap(),
            anonymous: true,
            client_id: None,
        },
    );
    no_write(&effects);
    assert!(matches!(
        reply_of(&effects, reply),
        Err(RoomError::Forbidden(_))
    ));
}

#[test]
fn a_promoted_message_becomes_its_authors_question_once() {
    let mut r = Room7::full();
    let (reply, effects) = r.act(MODERATOR, Act::Promote { message_id: 1 });
    let (id, write) = the_write(&effects);
    assert_eq!(write, Write::FindMessage { id: 1 });
    let effects = r.written(id, Written::Found(Some(message(1, BEA, "why?"))));
    let (id, write) = the_write(&effects);
    assert_eq!(
        write,
        Write::InsertQuestion {
            participant: BEA,
            body: "why?".into(),
            anonymous: false,
            approved: true,
            client_id: Some("promoted:1".into()),
            source_message_id: Some(1),
        }
    );
    let mut row = question(61, BEA);
    row.source_message_id = Some(1);
    let effects = r.written(
        id,
        Written::Question {
            row,
            created: true,
            voted: false,
        },
    );
    assert_eq!(sends(&effects), [("question.created", vec![1, 2, 3, 4])]);
    assert!(reply_of(&effects, reply).is_ok());
    // Too long for a question, or gone: said, nothing stored.
    let (reply, effects) = r.act(MODERATOR, Act::Promote { message_id: 2 });
    let (id, _) = the_write(&effects);
    let effects = r.written(id, Written::Found(Some(message(2, BEA, &"x".repeat(1500)))));
    no_write(&effects);
    assert!(matches!(
        reply_of(&effects, reply),
        Err(RoomError::InvalidInput(_))
    ));
    let (reply, effects) = r.act(MODERATOR, Act::Promote { message_id: 3 });
    let (id, _) = the_write(&effects);
    let effects = r.written(id, Written::Found(None));
    assert_eq!(
        reply_of(&effects, reply),
        Err(RoomError::NotFound("No such message."))
    );
}

#[test]
fn hiding_a_question_removes_it_for_attendees_and_updates_it_for_staff() {
    let mut r = Room7::full();
    let (reply, effects) = r.act(
        MODERATOR,
        Act::UpdateQuestion {
            id: 50,
            change: QuestionEdit {
                hidden: Some(true),
                ..Default::default()
            },
        },
    );
    let (id, write) = the_write(&effects);
    assert!(matches!(
        write,
        Write::UpdateQuestion {
            id: 50,
            viewer: MODERATOR,
            ..
        }
    ));
    let mut row = question(50, BEA);
    row.hidden = true;
    let effects = r.written(
        id,
        Written::Question {
            row,
            created: false,
            voted: false,
        },
    );
    assert_eq!(
        sends(&effects),
        [
            ("question.updated", vec![1, 2]),
            ("question.removed", vec![3, 4])
        ]
    );
    assert!(reply_of(&effects, reply).is_ok());
    // Unhidden, it appears to them again.
    let (_, effects) = r.act(
        MODERATOR,
        Act::UpdateQuestion {
            id: 50,
            change: QuestionEdit {
                hidden: Some(false),
                ..Default::default()
            },
        },
    );
    let (id, _) = the_write(&effects);
    let effects = r.written(
        id,
        Written::Question {
            row: question(50, BEA),
            created: false,
            voted: false,
        },
    );
    assert_eq!(
        sends(&effects),
        [
            ("question.updated", vec![1, 2]),
            ("question.created", vec![3, 4])
        ]
    );
}

#[test]
fn writing_an_answer_answers_the_question_at_that_time() {
    let mut r = Room7::full();
    let (_, effects) = r.act(
        MODERATOR,
        Act::UpdateQuestion {
            id: 50,
            change: QuestionEdit {
                answer: Some(AnswerText::parse("yes").unwrap()),
                ..Default::default()
            },
        },
    );
    let (_, write) = the_write(&effects);
    let Write::UpdateQuestion { change, .. } = write else {
        panic!("{write:?}")
    };
    assert_eq!(change.answer, Some(Some("yes".into())));
    assert_eq!(change.answered, Some(true));
    assert_eq!(change.answered_at, Some(Some(r.at().wall)));
    let (reply, effects) = r.act(
        MODERATOR,
        Act::UpdateQuestion {
            id: 99,
            change: QuestionEdit::default(),
        },
    );
    no_write(&effects);
    assert_eq!(
        reply_of(&effects, reply),
        Err(RoomError::NotFound("No such question."))
    );
}

// ---- votes ----------------------------------------------------------------

#[test]
fn votes_arriving_during_a_write_go_in_the_next_batch_and_counts_are_flushed_once() {
    let mut r = Room7::full_with(vec![question(50, BEA), question(51, CY)]);
    let (first, effects) = r.act(BEA, Act::Vote { id: 50, on: true });
    let (batch, write) = the_write(&effects);
    assert_eq!(
        write,
        Write::Votes {
            ops: vec![(50, BEA, true)]
        }
    );
    // While it is written, two more wait together.
    let (second, effects) = r.act(CY, Act::Vote { id: 50, on: true });
    no_write(&effects);
    let (third, effects) = r.act(BEA, Act::Vote { id: 51, on: true });
    no_write(&effects);
    let effects = r.written(batch, Written::Votes(vec![1]));
    assert!(
        matches!(reply_of(&effects, first), Ok(Done::Vote(v)) if v.votes == 1 && v.voted_by_me)
    );
    let (next, write) = the_write(&effects);
    assert_eq!(
        write,
        Write::Votes {
            ops: vec![(50, CY, true), (51, BEA, true)]
        }
    );
    assert!(sends(&effects).is_empty(), "counts wait for the flush");
    let effects = r.written(next, Written::Votes(vec![2, 1]));
    assert!(matches!(reply_of(&effects, second), Ok(Done::Vote(v)) if v.votes == 2));
    assert!(matches!(reply_of(&effects, third), Ok(Done::Vote(v)) if v.votes == 1));
    r.later(Duration::from_millis(100));
    let effects = r.input(Input::Tick);
    assert_eq!(
        sends(&effects),
        [
            ("questions.updated", vec![1, 2]),
            ("questions.updated", vec![3, 4])
        ]
    );
}

#[test]
fn a_vote_on_a_question_the_voter_cannot_see_is_not_found() {
    let mut hidden = question(50, CY);
    hidden.hidden = true;
    let mut r = Room7::full_with(vec![hidden]);
    let (reply, effects) = r.act(BEA, Act::Vote { id: 50, on: true });
    no_write(&effects);
    assert_eq!(
        reply_of(&effects, reply),
        Err(RoomError::NotFound("No such question."))
    );
}

#[test]
fn a_failed_vote_batch_answers_every_voter_and_counts_nothing() {
    let mut r = Room7::full();
    let (first, effects) = r.act(BEA, Act::Vote { id: 50, on: true });
    let (batch, _) = the_write(&effects);
    let effects = r.input(Input::Written {
        id: batch,
        result: Err(StoreError::Unavailable),
    });
    assert_eq!(reply_of(&effects, first), Err(RoomError::Unavailable));
    r.later(Duration::from_millis(100));
    assert!(sends(&r.input(Input::Tick)).is_empty());
}

// ---- moderation -------------------------------------------------------------

#[test]
fn settings_are_stored_then_everyone_hears_the_room() {
    let mut r = Room7::full();
    let patch = SettingsPatch {
        locked: Some(true),
        ..Default::default()
    };
    let (reply, effects) = r.act(MODERATOR, Act::Settings(patch));
    let (id, write) = the_write(&effects);
    assert!(matches!(
        write,
        Write::Settings(SettingsChange {
            locked: Some(true),
            ..
        })
    ));
    let mut locked = room();
    locked.locked = true;
    let effects = r.written(id, Written::Room(locked));
    assert_eq!(sends(&effects), [("room.updated", vec![1, 2, 3, 4])]);
    assert!(matches!(reply_of(&effects, reply), Ok(Done::Room(v)) if v.settings.locked));
}

#[test]
fn a_removed_attendee_hears_why_and_every_socket_of_theirs_closes() {
    let mut r = Room7::full();
    r.connect(5, CY);
    let (reply, effects) = r.act(MODERATOR, Act::Kick { participant_id: CY });
    let (id, write) = the_write(&effects);
    assert_eq!(write, Write::FindParticipant { id: CY });
    let cy = participant(CY, "attendee");
    let effects = r.written(id, Written::Participant(Some(cy)));
    let (id, write) = the_write(&effects);
    assert_eq!(write, Write::Kick { id: CY });
    let effects = r.written(id, Written::Done(true));
    assert_eq!(sends(&effects)[0], ("kicked", vec![4, 5]));
    let closed: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Close { conn, close } => Some((*conn, *close)),
            _ => None,
        })
        .collect();
    assert_eq!(closed, [(4, Close::Kicked), (5, Close::Kicked)]);
    assert_eq!(reply_of(&effects, reply), Ok(Done::Nothing));
    // Their sessions are closed in the books; the room counts them gone.
    assert!(effects.contains_records(&[Record::CloseSession(104), Record::CloseSession(105)]));
}

fn participant(id: i64, role: &str) -> Participant {
    Participant {
        id,
        room_id: 7,
        name: member(id).name,
        role: role.into(),
        token_hash: vec![],
        joined_at: Utc::now(),
        kicked_at: None,
    }
}

trait Records {
    fn contains_records(&self, want: &[Record]) -> bool;
}

impl Records for Vec<Effect> {
    fn contains_records(&self, want: &[Record]) -> bool {
        want.iter().all(|w| {
            self.iter()
                .any(|e| matches!(e, Effect::Record(r) if r == w))
        })
    }
}

#[test]
fn who_may_remove_whom_is_the_domains_rule() {
    let mut r = Room7::full();
    let (reply, effects) = r.act(
        MODERATOR,
        Act::Kick {
            participant_id: MODERATOR,
        },
    );
    no_write(&effects);
    assert!(matches!(
        reply_of(&effects, reply),
        Err(RoomError::InvalidInput(_))
    ));
    let (reply, effects) = r.act(
        MODERATOR,
        Act::Kick {
            participant_id: PRESENTER,
        },
    );
    let (id, _) = the_write(&effects);
    let effects = r.written(
        id,
        Written::Participant(Some(participant(PRESENTER, "presenter"))),
    );
    no_write(&effects);
    assert!(matches!(
        reply_of(&effects, reply),
        Err(RoomError::Forbidden(_))
    ));
    let (reply, effects) = r.act(MODERATOR, Act::Kick { participant_id: 99 });
    let (id, _) = the_write(&effects);
    let effects = r.written(id, Written::Participant(None));
    assert_eq!(
        reply_of(&effects, reply),
        Err(RoomError::NotFound("No such participant."))
    );
}

#[test]
fn the_end_waits_for_votes_in_flight_then_closes_every_socket() {
    let mut r = Room7::full();
    let (_, effects) = r.act(BEA, Act::Vote { id: 50, on: true });
    let (batch, _) = the_write(&effects);
    let (reply, effects) = r.act(PRESENTER, Act::End);
    no_write(&effects);
    let effects = r.written(batch, Written::Votes(vec![1]));
    let (id, write) = the_write(&effects);
    assert_eq!(write, Write::End, "the end comes once the vote is stored");
    let mut ended = room();
    ended.status = "ended".into();
    let raw = crate::domain::stats::RawStats {
        recorded_peak: 4,
        total_participants: 4,
        total_messages: 1,
        total_questions: 1,
        total_votes: 1,
        created_at: ended.created_at,
        started_at: None,
        ended_at: Some(Utc.timestamp_opt(1_900_000_900, 0).unwrap()),
        timeline: vec![],
        attendees: 2,
        askers: 1,
        voters: 1,
        chatters: 1,
        attendee_stretches: vec![],
        top_questions: vec![],
        media_live_seconds: 0,
        live_since: None,
        peak_viewers: 0,
        reactions_timeline: vec![],
        polls: vec![],
    };
    let effects = r.written(
        id,
        Written::Ended {
            room: ended,
            raw: Box::new(raw),
        },
    );
    assert_eq!(sends(&effects), [("room.ended", vec![1, 2, 3, 4])]);
    let closes = effects
        .iter()
        .filter(|e| {
            matches!(
                e,
                Effect::Close {
                    close: Close::Normal,
                    ..
                }
            )
        })
        .count();
    assert_eq!(closes, 4);
    assert!(
        matches!(reply_of(&effects, reply), Ok(Done::Ended { stats }) if stats.total_votes == 1)
    );
    // Ended: nothing more is done, nobody more gets in.
    let (reply, effects) = r.act(BEA, chat("late"));
    assert_eq!(reply_of(&effects, reply), Err(RoomError::Ended));
    let effects = r.input(Input::Connect {
        conn: 9,
        member: member(CY),
    });
    assert!(matches!(
        effects.as_slice(),
        [Effect::Refuse {
            conn: 9,
            error: RoomError::Ended
        }]
    ));
    // Empty and ended: the task may stop.
    assert!(r
        .input(Input::Tick)
        .iter()
        .any(|e| matches!(e, Effect::Stop)));
}

// ---- presence ---------------------------------------------------------------

#[test]
fn a_welcome_holds_what_its_receiver_may_see() {
    let mut hidden = question(51, CY);
    hidden.hidden = true;
    let mut pending = question(52, CY);
    pending.approved = false;
    let mut r = Room7::new(vec![question(50, BEA), hidden, pending]);
    let staff = r.connect(1, MODERATOR);
    let ids = |w: &Welcome| w.questions.iter().map(|q| q.id).collect::<Vec<_>>();
    assert_eq!(ids(&staff), [50, 51, 52]);
    assert_eq!(staff.participants.as_ref().map(Vec::len), Some(1));
    let bea = r.connect(2, BEA);
    assert_eq!(ids(&bea), [50]);
    assert!(bea.participants.is_none(), "attendees get no roster");
    let cy = r.connect(3, CY);
    assert_eq!(ids(&cy), [50, 52], "an author sees their pending question");
    assert_eq!(cy.messages.len(), 1);
}

#[test]
fn arrivals_and_departures_reach_staff_once_per_flush_and_presence_is_paced() {
    let mut r = Room7::new(vec![]);
    r.connect(1, MODERATOR);
    r.later(Duration::from_secs(1));
    r.input(Input::Tick);
    r.connect(2, BEA);
    r.later(Duration::from_millis(500));
    let effects = r.input(Input::Tick);
    assert_eq!(
        sends(&effects),
        [("participant.joined", vec![1]), ("presence", vec![1, 2])]
    );
    // A second arrival within half a second: the roster now, the count later.
    r.connect(3, CY);
    r.later(Duration::from_millis(100));
    let effects = r.input(Input::Tick);
    assert_eq!(sends(&effects), [("participant.joined", vec![1])]);
    r.later(Duration::from_millis(500));
    let effects = r.input(Input::Tick);
    assert_eq!(sends(&effects), [("presence", vec![1, 2, 3])]);
    // Bea leaves; her session is closed in the books.
    let effects = r.input(Input::Disconnect { conn: 2 });
    assert!(effects.contains_records(&[Record::CloseSession(102)]));
    r.later(Duration::from_millis(500));
    let effects = r.input(Input::Tick);
    assert_eq!(
        sends(&effects),
        [("participant.left", vec![1]), ("presence", vec![1, 3])]
    );
}

#[test]
fn media_states_come_in_order_and_the_stored_status_follows() {
    let mut r = Room7::full();
    let state = |seq, live| MediaState {
        room_id: 7,
        seq,
        live,
        ..MediaState::default()
    };
    // Older than what the room asked the engine as it started: ignored.
    assert!(r.input(Input::Media(state(9, true))).is_empty());
    let effects = r.input(Input::Media(state(11, true)));
    assert_eq!(sends(&effects), [("media.state", vec![1, 2, 3, 4])]);
    let (id, write) = the_write(&effects);
    assert_eq!(write, Write::SetLive { live: true });
    let mut live = room();
    live.status = "live".into();
    let effects = r.written(id, Written::Room(live));
    assert_eq!(sends(&effects), [("room.updated", vec![1, 2, 3, 4])]);
    // The same state again changes nothing.
    assert!(r.input(Input::Media(state(12, true))).is_empty());
}

#[test]
fn an_idle_room_stops_but_not_while_a_write_is_pending() {
    let mut r = Room7::new(vec![]);
    let (_, effects) = r.act(BEA, chat("anyone?"));
    let (id, _) = the_write(&effects);
    r.later(IDLE_FOR + Duration::from_secs(1));
    assert!(!r
        .input(Input::Tick)
        .iter()
        .any(|e| matches!(e, Effect::Stop)));
    r.written(
        id,
        Written::Message {
            row: message(9, BEA, "anyone?"),
            created: true,
        },
    );
    assert!(r
        .input(Input::Tick)
        .iter()
        .any(|e| matches!(e, Effect::Stop)));
}

#[test]
fn a_shutdown_stores_the_votes_then_says_goodbye_and_closes_every_socket() {
    let mut r = Room7::full();
    let (vote, effects) = r.act(BEA, Act::Vote { id: 50, on: true });
    let (batch, _) = the_write(&effects);
    let effects = r.input(Input::Shutdown);
    assert!(sends(&effects).is_empty(), "the vote first");
    let effects = r.written(batch, Written::Votes(vec![1]));
    assert!(reply_of(&effects, vote).is_ok());
    // The last counts go out first, then the goodbye.
    assert_eq!(
        sends(&effects),
        [
            ("question.updated", vec![1, 2]),
            ("question.updated", vec![3, 4]),
            ("server.restarting", vec![1, 2, 3, 4])
        ]
    );
    let restarting = effects
        .iter()
        .filter(|e| {
            matches!(
                e,
                Effect::Close {
                    close: Close::Restarting,
                    ..
                }
            )
        })
        .count();
    assert_eq!(restarting, 4);
    let (id, write) = the_write(&effects);
    assert_eq!(
        write,
        Write::Shutdown {
            sessions: vec![101, 102, 103, 104],
            live: false
        }
    );
    let effects = r.written(id, Written::Done(true));
    assert!(matches!(effects.as_slice(), [Effect::Stop]));
}

#[test]
fn a_room_started_while_live_stores_the_status_the_engine_reports() {
    let live = MediaState {
        room_id: 7,
        seq: 3,
        live: true,
        ..MediaState::default()
    };
    let mut core = RoomCore::new(room(), vec![], vec![], Lineup::default(), live, At::now());
    let effects = core.handle(At::now(), Input::Tick);
    let (_, write) = the_write(&effects);
    assert_eq!(write, Write::SetLive { live: true });
}
