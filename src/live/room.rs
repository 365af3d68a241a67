//! One room's task. Every command is decided here in arrival order, written
//! to PostgreSQL, and only then broadcast or acknowledged.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

use super::{close, views, Command, Connected, Hub, Member, Outlet, SESSION_QUEUE};
use crate::domain::qa::{AnswerText, ChatBody, ClientId, QuestionBody, QuestionFacts};
use crate::domain::{stats, Action, Role};
use crate::error::ApiError;
use crate::store::models::Room;
use crate::store::questions::{NewQuestion, QuestionChange, QuestionRow};
use crate::store::{self, PgPool};
use crate::views::RoomView;

/// Vote counts are broadcast at most this often (every changed question of
/// the room in one frame).
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// Presence counts at most this often.
const PRESENCE_EVERY: Duration = Duration::from_millis(500);
/// An attendance sample at least this often while anyone is here.
const SAMPLE_EVERY: Duration = Duration::from_secs(10);
/// A room with nobody connected stops its task after this long.
const IDLE_FOR: Duration = Duration::from_secs(60);
/// Chat history in a snapshot.
const SNAPSHOT_MESSAGES: i64 = 50;

/// What a participant asks the room to do (from WebSocket or REST alike).
#[derive(Debug, Clone)]
pub enum Act {
    Chat {
        body: String,
        client_id: Option<String>,
    },
    DeleteMessage {
        id: i64,
    },
    Ask {
        body: String,
        anonymous: bool,
        client_id: Option<String>,
    },
    Vote {
        id: i64,
        on: bool,
    },
    UpdateQuestion {
        id: i64,
        patch: QuestionPatch,
    },
    Promote {
        message_id: i64,
    },
    Settings(SettingsPatch),
    Kick {
        participant_id: i64,
    },
    End,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionPatch {
    pub pinned: Option<bool>,
    pub hidden: Option<bool>,
    pub answered: Option<bool>,
    pub answer: Option<String>,
    pub approved: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    pub chat_enabled: Option<bool>,
    pub questions_enabled: Option<bool>,
    pub anonymous_questions: Option<bool>,
    pub questions_need_approval: Option<bool>,
    pub locked: Option<bool>,
}

struct Conn {
    member: Member,
    tx: mpsc::Sender<Arc<str>>,
    close: Arc<AtomicU16>,
    session_row: Option<i64>,
}

/// A vote that was checked and waits to be written with others.
struct PendingVote {
    question_id: i64,
    participant_id: i64,
    on: bool,
    reply: oneshot::Sender<Result<Value, ApiError>>,
}

type VoteWrite =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<i32>, ApiError>> + Send>>;

struct RoomTask {
    room: Room,
    pool: PgPool,
    conns: HashMap<u64, Conn>,
    /// Connected participants and how many sockets each has open.
    online: BTreeMap<i64, (usize, Member)>,
    questions: BTreeMap<i64, QuestionRow>,
    dirty_questions: BTreeSet<i64>,
    /// Votes are written in batches (group commit): those that arrive while
    /// one batch is being written go in the next, so a vote storm costs one
    /// transaction per database round trip, not one per vote.
    votes_waiting: Vec<PendingVote>,
    votes_writing: Option<(Vec<PendingVote>, VoteWrite)>,
    presence_dirty: bool,
    last_presence: Instant,
    /// Participants who came or went since the last flush, told to staff
    /// once per flush: a crowd arriving at once is a few frames, not one
    /// per arrival (which would overflow a moderator's queue).
    roster_dirty: BTreeSet<i64>,
    last_sample: Option<(Instant, i32)>,
    idle_since: Option<Instant>,
    next_conn: u64,
    /// A screen is being shared (whether the presenter is live is the
    /// room's stored status).
    screen: bool,
    /// The presenter's camera is on its way back (see `MediaState`).
    reconnecting: bool,
}

pub(super) fn spawn(
    runtime: &tokio::runtime::Handle,
    room_id: i64,
    pool: PgPool,
    mut rx: mpsc::Receiver<Command>,
    hub: Hub,
    screen: bool,
) {
    runtime.spawn(async move {
        match RoomTask::load(room_id, pool).await {
            Ok(mut task) => {
                task.screen = screen;
                task.run(&mut rx).await
            }
            Err(e) => {
                tracing::warn!(room_id, error = %e, "room could not start");
                rx.close();
                while let Ok(cmd) = rx.try_recv() {
                    refuse(cmd, ApiError::db_unavailable);
                }
            }
        }
        hub.forget_closed(room_id);
    });
}

fn refuse(cmd: Command, err: impl Fn() -> ApiError) {
    match cmd {
        Command::Connect { reply, .. } => drop(reply.send(Err(err()))),
        Command::Act { reply, .. } => drop(reply.send(Err(err()))),
        Command::Shutdown { done } => drop(done.send(())),
        Command::Disconnect { .. } | Command::Media { .. } => {}
    }
}

/// The `type` of a serialised server frame: the first `"type":"` key, as
/// user text inside strings has its quotes escaped.
pub fn frame_type(msg: &str) -> &str {
    msg.split_once(r#""type":""#)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map_or("unknown", |(ty, _)| ty)
}

fn text(v: &Value) -> Arc<str> {
    Arc::from(v.to_string())
}

/// `question.updated` for one question, `questions.updated` for several.
fn questions_frame<'a>(questions: impl Iterator<Item = &'a Value>) -> Option<Arc<str>> {
    let mut list: Vec<&Value> = questions.collect();
    match list.len() {
        0 => None,
        1 => Some(text(
            &json!({"type": "question.updated", "question": list.pop()}),
        )),
        _ => Some(text(
            &json!({"type": "questions.updated", "questions": list}),
        )),
    }
}

fn forbidden(what: &str) -> ApiError {
    ApiError::Forbidden(what.to_owned())
}

impl RoomTask {
    async fn load(room_id: i64, pool: PgPool) -> Result<Self, ApiError> {
        let (room, questions) = store::blocking(&pool, move |c| {
            let room = store::rooms::find_by_id(c, room_id)?.ok_or_else(|| {
                ApiError::NotFound("No such room. Check the link you were given.".into())
            })?;
            // Connections a crash left open end now, not never.
            store::presence::close_stale_sessions(c, room_id)?;
            let questions = store::questions::all_in_room(c, room_id)?;
            Ok((room, questions))
        })
        .await?;
        Ok(Self {
            room,
            pool,
            conns: HashMap::new(),
            online: BTreeMap::new(),
            questions: questions.into_iter().map(|q| (q.id, q)).collect(),
            dirty_questions: BTreeSet::new(),
            votes_waiting: Vec::new(),
            votes_writing: None,
            presence_dirty: false,
            last_presence: Instant::now(),
            roster_dirty: BTreeSet::new(),
            last_sample: None,
            idle_since: Some(Instant::now()),
            next_conn: 1,
            screen: false,
            reconnecting: false,
        })
    }

    async fn run(mut self, rx: &mut mpsc::Receiver<Command>) {
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(Command::Shutdown { done }) => {
                        self.shut_down().await;
                        let _ = done.send(());
                        break;
                    }
                    Some(cmd) => self.handle(cmd).await,
                    None => break,
                },
                written = async { (&mut self.votes_writing.as_mut().expect("guarded").1).await },
                    if self.votes_writing.is_some() => {
                    let (batch, _) = self.votes_writing.take().expect("just finished");
                    self.votes_written(batch, written);
                    self.start_votes();
                }
                _ = tick.tick() => {
                    self.flush();
                    let idle = self.idle_since.is_some_and(|t| t.elapsed() > IDLE_FOR);
                    if idle || (self.room.is_ended() && self.conns.is_empty()) {
                        break;
                    }
                }
            }
        }
        // Whatever arrived while stopping is still answered.
        rx.close();
        while let Ok(cmd) = rx.try_recv() {
            self.handle(cmd).await;
        }
        self.settle_votes().await;
        self.flush();
    }

    async fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Connect { member, reply } => {
                let result = self.connect(member).await;
                if let Err(Ok(connected)) = reply.send(result) {
                    // The session gave up waiting: undo.
                    self.disconnect(connected.conn_id);
                }
            }
            Command::Disconnect { conn_id } => self.disconnect(conn_id),
            Command::Act {
                member,
                act: Act::Vote { id, on },
                reply,
            } => self.vote(&member, id, on, reply),
            Command::Act { member, act, reply } => {
                if matches!(act, Act::End) {
                    // The final statistics count every acknowledged vote.
                    self.settle_votes().await;
                }
                let chat = matches!(act, Act::Chat { .. });
                let t0 = Instant::now();
                let result = self.act(&member, act).await;
                if chat && result.is_ok() {
                    crate::metrics::chat_delivered(t0.elapsed());
                }
                let _ = reply.send(result);
            }
            Command::Media {
                live,
                screen,
                reconnecting,
            } => self.media_changed(live, screen, reconnecting).await,
            // Taken by `run` before it gets here.
            Command::Shutdown { done } => drop(done.send(())),
        }
    }

    /// The server stops: every socket hears `server.restarting` and is
    /// closed with 1012, so clients reconnect quietly; open sessions and a
    /// running live stretch are stored before the task ends. Actions were
    /// stored when they were acknowledged, so nothing else is pending.
    async fn shut_down(&mut self) {
        self.settle_votes().await;
        self.flush();
        self.broadcast(&json!({"type": "server.restarting"}));
        let rows: Vec<i64> = self
            .conns
            .values_mut()
            .filter_map(|c| {
                c.close.store(close::RESTARTING, Ordering::Relaxed);
                c.session_row.take()
            })
            .collect();
        let ids: Vec<u64> = self.conns.keys().copied().collect();
        for id in ids {
            self.disconnect(id);
        }
        let (room_id, live) = (self.room.id, self.live());
        let stored = store::blocking(&self.pool, move |c| {
            for row in rows {
                store::presence::close_session(c, row)?;
            }
            if live {
                store::rooms::set_live(c, room_id, false)?;
            }
            Ok(())
        })
        .await;
        if let Err(e) = stored {
            tracing::warn!(room_id, error = %e, "sessions not stored at shutdown");
        }
    }

    fn count(&self) -> i32 {
        i32::try_from(self.online.len()).unwrap_or(i32::MAX)
    }

    fn room_view(&self) -> Value {
        serde_json::to_value(RoomView::new(&self.room, i64::from(self.count())))
            .unwrap_or(Value::Null)
    }

    // ---- connections -------------------------------------------------

    async fn connect(&mut self, member: Member) -> Result<Connected, ApiError> {
        if self.room.is_ended() {
            return Err(ApiError::RoomEnded);
        }
        let (room_id, pid) = (self.room.id, member.participant_id);
        let (messages, voted, session_row) = store::blocking(&self.pool, move |c| {
            let (messages, _) = store::messages::page(c, room_id, SNAPSHOT_MESSAGES, None)?;
            let voted = store::questions::voted_by(c, room_id, pid)?;
            let row = store::presence::open_session(c, room_id, pid)?;
            Ok((messages, voted, row))
        })
        .await?;

        let conn_id = self.next_conn;
        self.next_conn += 1;
        let (tx, rx) = mpsc::channel(SESSION_QUEUE);
        let close_code = Arc::new(AtomicU16::new(close::NORMAL));
        let first = {
            let entry = self.online.entry(pid).or_insert((0, member.clone()));
            entry.0 += 1;
            entry.0 == 1
        };
        if first {
            self.presence_dirty = true;
            self.roster_dirty.insert(pid);
        }
        self.idle_since = None;

        let mut questions: Vec<&QuestionRow> = self
            .questions
            .values()
            .filter(|q| views::facts(q).visible_to(pid, member.role))
            .collect();
        questions.sort_by_key(|q| views::facts(q).top_key());
        let mut welcome = json!({
            "type": "welcome",
            "participant": participant_json(&member),
            "room": self.room_view(),
            "messages": messages.iter().map(views::message).collect::<Vec<_>>(),
            "questions": questions.iter().map(|q| views::question(q, Some(voted.contains(&q.id)))).collect::<Vec<_>>(),
            "presence": {"count": self.count()},
            "media": {"live": self.live(), "screen": self.screen},
        });
        if member.role.can(Action::SeeParticipants) {
            welcome["participants"] = self
                .online
                .values()
                .map(|(_, m)| participant_json(m))
                .collect();
        }
        crate::metrics::participants(member.role.as_str(), 1.0);
        crate::metrics::ws_out("welcome".to_owned(), 1);
        self.conns.insert(
            conn_id,
            Conn {
                member,
                tx,
                close: close_code.clone(),
                session_row: Some(session_row),
            },
        );
        Ok(Connected {
            conn_id,
            welcome: text(&welcome),
            outlet: Outlet {
                rx,
                close: close_code,
            },
        })
    }

    fn disconnect(&mut self, conn_id: u64) {
        let Some(conn) = self.conns.remove(&conn_id) else {
            return;
        };
        crate::metrics::participants(conn.member.role.as_str(), -1.0);
        if let Some(row) = conn.session_row {
            let pool = self.pool.clone();
            // Bookkeeping off the room's path: the room never waits for it.
            tokio::task::spawn_blocking(move || {
                if let Ok(mut c) = pool.get() {
                    let _ = store::presence::close_session(&mut c, row);
                }
            });
        }
        let pid = conn.member.participant_id;
        let last = match self.online.get_mut(&pid) {
            Some(entry) => {
                entry.0 -= 1;
                entry.0 == 0
            }
            None => false,
        };
        if last {
            self.online.remove(&pid);
            self.presence_dirty = true;
            self.roster_dirty.insert(pid);
        }
        if self.conns.is_empty() {
            self.idle_since = Some(Instant::now());
        }
    }

    /// Queues `msg` for every session whose member passes `to`. A session
    /// whose queue is full is stuck: it is cut off (4008) and will come back
    /// to a fresh snapshot, so it never slows the others.
    fn send_where(&mut self, to: impl Fn(&Member) -> bool, msg: &Arc<str>) {
        let mut dropped = Vec::new();
        let mut sent = 0;
        for (id, conn) in &self.conns {
            if !to(&conn.member) {
                continue;
            }
            match conn.tx.try_send(msg.clone()) {
                Ok(()) => sent += 1,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    conn.close.store(close::TOO_SLOW, Ordering::Relaxed);
                    dropped.push(*id);
                }
                Err(mpsc::error::TrySendError::Closed(_)) => dropped.push(*id),
            }
        }
        if sent > 0 {
            crate::metrics::ws_out(frame_type(msg).to_owned(), sent);
        }
        for id in dropped {
            self.disconnect(id);
        }
    }

    fn broadcast(&mut self, msg: &Value) {
        self.send_where(|_| true, &text(msg));
    }

    fn live(&self) -> bool {
        self.room.status() == crate::domain::RoomStatus::Live
    }

    async fn media_changed(&mut self, live: bool, screen: bool, reconnecting: bool) {
        if (self.live(), self.screen, self.reconnecting) == (live, screen, reconnecting)
            || self.room.is_ended()
        {
            return;
        }
        self.screen = screen;
        self.reconnecting = reconnecting;
        let status_changes = live != self.live();
        if status_changes {
            let room_id = self.room.id;
            match store::blocking(&self.pool, move |c| {
                Ok(store::rooms::set_live(c, room_id, live)?)
            })
            .await
            {
                Ok(Some(room)) => self.room = room,
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "room status not stored"),
            }
        }
        self.broadcast(&json!({
            "type": "media.state",
            "live": live,
            "screen": screen,
            "reconnecting": reconnecting,
        }));
        if status_changes {
            let view = self.room_view();
            self.broadcast(&json!({"type": "room.updated", "room": view}));
        }
    }

    // ---- votes -----------------------------------------------------

    fn vote(
        &mut self,
        member: &Member,
        id: i64,
        on: bool,
        reply: oneshot::Sender<Result<Value, ApiError>>,
    ) {
        let pid = member.participant_id;
        let checked = if self.room.is_ended() {
            Err(ApiError::RoomEnded)
        } else if !self
            .questions
            .get(&id)
            .is_some_and(|q| views::facts(q).visible_to(pid, member.role))
        {
            Err(ApiError::NotFound("No such question.".into()))
        } else {
            Ok(())
        };
        if let Err(e) = checked {
            let _ = reply.send(Err(e));
            return;
        }
        self.votes_waiting.push(PendingVote {
            question_id: id,
            participant_id: pid,
            on,
            reply,
        });
        self.start_votes();
    }

    /// Writes the waiting votes unless a write is under way (its end starts
    /// the next).
    fn start_votes(&mut self) {
        if self.votes_writing.is_some() || self.votes_waiting.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.votes_waiting);
        let ops: Vec<_> = batch
            .iter()
            .map(|v| (v.question_id, v.participant_id, v.on))
            .collect();
        let (pool, room_id) = (self.pool.clone(), self.room.id);
        let write = Box::pin(async move {
            store::blocking(&pool, move |c| {
                Ok(store::questions::set_votes(c, room_id, &ops)?)
            })
            .await
        });
        self.votes_writing = Some((batch, write));
    }

    /// Answers each vote of a written batch: its exact count once stored,
    /// or why not (nothing of a failed batch was stored).
    fn votes_written(&mut self, batch: Vec<PendingVote>, written: Result<Vec<i32>, ApiError>) {
        let counts = match written {
            Ok(counts) => counts,
            Err(e) => {
                // The cause is logged once, with the error itself; every
                // voter hears the same answer.
                let unavailable = matches!(e, ApiError::Unavailable(_));
                let mut first = Some(e);
                for v in batch {
                    let err = first.take().unwrap_or_else(|| {
                        if unavailable {
                            ApiError::db_unavailable()
                        } else {
                            ApiError::internal(anyhow::anyhow!("vote batch not stored"))
                        }
                    });
                    let _ = v.reply.send(Err(err));
                }
                return;
            }
        };
        for (v, votes) in batch.into_iter().zip(counts) {
            if let Some(q) = self.questions.get_mut(&v.question_id) {
                if q.votes != votes {
                    q.votes = votes;
                    self.dirty_questions.insert(v.question_id);
                }
            }
            let _ = v.reply.send(Ok(
                json!({"id": v.question_id, "votes": votes, "voted_by_me": v.on}),
            ));
        }
    }

    /// Waits until every vote received so far is written and answered.
    async fn settle_votes(&mut self) {
        loop {
            self.start_votes();
            let Some((batch, write)) = self.votes_writing.take() else {
                return;
            };
            let written = write.await;
            self.votes_written(batch, written);
        }
    }

    /// Changed vote counts, one frame per receiver per flush: staff get
    /// every changed question, others those everyone may see, and the
    /// author of a question still awaiting approval gets it on its own.
    fn send_dirty_questions(&mut self) {
        let dirty: Vec<(QuestionFacts, Value)> = std::mem::take(&mut self.dirty_questions)
            .iter()
            .filter_map(|id| self.questions.get(id))
            .map(|q| (views::facts(q), views::question(q, None)))
            .collect();
        if let Some(all) = questions_frame(dirty.iter().map(|(_, v)| v)) {
            self.send_where(|m| m.role.is_moderator_or_above(), &all);
        }
        let public = dirty.iter().filter(|(f, _)| f.visible_to_all());
        if let Some(msg) = questions_frame(public.map(|(_, v)| v)) {
            self.send_where(|m| !m.role.is_moderator_or_above(), &msg);
        }
        for (f, v) in dirty.iter().filter(|(f, _)| !f.visible_to_all()) {
            if let Some(msg) = questions_frame(std::iter::once(v)) {
                self.send_where(
                    |m| !m.role.is_moderator_or_above() && f.visible_to(m.participant_id, m.role),
                    &msg,
                );
            }
        }
    }

    // ---- periodic work ---------------------------------------------

    /// Tells staff who came and went: `participant.joined` or
    /// `participant.left` for one change, `participants.updated` for more.
    fn send_roster_changes(&mut self) {
        if self.roster_dirty.is_empty() {
            return;
        }
        let (mut joined, mut left) = (Vec::new(), Vec::new());
        for pid in std::mem::take(&mut self.roster_dirty) {
            match self.online.get(&pid) {
                Some((_, m)) => joined.push((pid, participant_json(m))),
                None => left.push(pid),
            }
        }
        // Whoever's only news is their own arrival has it in their welcome.
        let (frame, alone) = match (joined.as_mut_slice(), left.as_slice()) {
            ([(pid, p)], []) => (
                json!({"type": "participant.joined", "participant": p.take()}),
                Some(*pid),
            ),
            ([], [pid]) => (json!({"type": "participant.left", "id": pid}), None),
            _ => {
                let joined: Vec<Value> = joined.into_iter().map(|(_, p)| p).collect();
                let frame = json!({"type": "participants.updated", "joined": joined, "left": left});
                (frame, None)
            }
        };
        self.send_where(
            |m| m.role.is_moderator_or_above() && alone != Some(m.participant_id),
            &text(&frame),
        );
    }

    fn flush(&mut self) {
        let closed: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| c.tx.is_closed())
            .map(|(id, _)| *id)
            .collect();
        for id in closed {
            self.disconnect(id);
        }
        self.send_dirty_questions();
        self.send_roster_changes();
        let now = Instant::now();
        if self.presence_dirty && now.duration_since(self.last_presence) >= PRESENCE_EVERY {
            self.presence_dirty = false;
            self.last_presence = now;
            let count = self.count();
            self.broadcast(&json!({"type": "presence", "count": count}));
        }
        let count = self.count();
        let due = match self.last_sample {
            None => count > 0,
            Some((at, last)) => {
                last != count || (count > 0 && now.duration_since(at) >= SAMPLE_EVERY)
            }
        };
        if due && !self.presence_dirty {
            self.last_sample = Some((now, count));
            let (pool, room_id) = (self.pool.clone(), self.room.id);
            tokio::task::spawn_blocking(move || {
                if let Ok(mut c) = pool.get() {
                    if let Err(e) = store::presence::sample(&mut c, room_id, Utc::now(), count) {
                        tracing::warn!(error = %e, "attendance sample not stored");
                    }
                }
            });
        }
    }

    // ---- actions ------------------------------------------------------

    async fn act(&mut self, member: &Member, act: Act) -> Result<Value, ApiError> {
        if self.room.is_ended() {
            return Err(ApiError::RoomEnded);
        }
        let staff = member.role.is_moderator_or_above();
        let require = |action: Action| {
            if member.role.can(action) {
                Ok(())
            } else {
                Err(forbidden(&format!("A {} may not do this.", member.role)))
            }
        };
        match act {
            Act::Chat { body, client_id } => {
                if !self.room.chat_enabled && !staff {
                    return Err(forbidden("Chat is turned off in this room."));
                }
                let body = ChatBody::parse(&body)?.into_inner();
                let client_id = client_id
                    .as_deref()
                    .map(ClientId::parse)
                    .transpose()?
                    .map(ClientId::into_inner);
                let (room_id, pid) = (self.room.id, member.participant_id);
                let (row, created) = store::blocking(&self.pool, move |c| {
                    Ok(store::messages::insert(
                        c,
                        room_id,
                        pid,
                        &body,
                        client_id.as_deref(),
                    )?)
                })
                .await?;
                let view = views::message(&row);
                if created {
                    self.broadcast(&json!({"type": "chat.message", "message": view}));
                }
                Ok(view)
            }
            Act::DeleteMessage { id } => {
                require(Action::Moderate)?;
                let room_id = self.room.id;
                let deleted = store::blocking(&self.pool, move |c| {
                    Ok(store::messages::delete(c, room_id, id)?)
                })
                .await?;
                if !deleted {
                    return Err(ApiError::NotFound("No such message.".into()));
                }
                self.broadcast(&json!({"type": "chat.deleted", "id": id}));
                Ok(Value::Null)
            }
            Act::Ask {
                body,
                anonymous,
                client_id,
            } => {
                if !self.room.questions_enabled && !staff {
                    return Err(forbidden("Questions are turned off in this room."));
                }
                if anonymous && !self.room.anonymous_questions {
                    return Err(forbidden(
                        "Anonymous questions are turned off in this room.",
                    ));
                }
                let body = QuestionBody::parse(&body)?.into_inner();
                let client_id = client_id
                    .as_deref()
                    .map(ClientId::parse)
                    .transpose()?
                    .map(ClientId::into_inner);
                let approved = !self.room.questions_need_approval || staff;
                let (room_id, pid) = (self.room.id, member.participant_id);
                let (row, created) = store::blocking(&self.pool, move |c| {
                    Ok(store::questions::insert(
                        c,
                        &NewQuestion {
                            room_id,
                            participant_id: pid,
                            body: &body,
                            anonymous,
                            approved,
                            client_id: client_id.as_deref(),
                            source_message_id: None,
                        },
                    )?)
                })
                .await?;
                Ok(self.question_created(row, created, member).await)
            }
            Act::Promote { message_id } => {
                require(Action::Moderate)?;
                let room_id = self.room.id;
                let (row, created) = store::blocking(&self.pool, move |c| {
                    let m = store::messages::find(c, room_id, message_id)?
                        .ok_or_else(|| ApiError::NotFound("No such message.".into()))?;
                    let body = QuestionBody::parse(&m.body)?.into_inner();
                    // One question per message, however often it is promoted.
                    let client_id = format!("promoted:{message_id}");
                    Ok(store::questions::insert(
                        c,
                        &NewQuestion {
                            room_id,
                            participant_id: m.participant_id,
                            body: &body,
                            anonymous: false,
                            approved: true,
                            client_id: Some(&client_id),
                            source_message_id: Some(message_id),
                        },
                    )?)
                })
                .await?;
                Ok(self.question_created(row, created, member).await)
            }
            // Taken by `handle` to be written in a batch.
            Act::Vote { .. } => Err(ApiError::internal(anyhow::anyhow!(
                "vote outside its batch"
            ))),
            Act::UpdateQuestion { id, patch } => {
                require(Action::Moderate)?;
                let before = self
                    .questions
                    .get(&id)
                    .map(views::facts)
                    .ok_or_else(|| ApiError::NotFound("No such question.".into()))?;
                let change = question_change(patch, before.answered)?;
                let pid = member.participant_id;
                let room_id = self.room.id;
                let (row, mine) = store::blocking(&self.pool, move |c| {
                    let row = store::questions::update(c, id, &change)?;
                    let mine = store::questions::voted_by(c, room_id, pid)?.contains(&id);
                    Ok((row, mine))
                })
                .await?;
                let after = views::facts(&row);
                let shown = views::question(&row, None);
                let updated = text(&json!({"type": "question.updated", "question": shown}));
                let created = text(&json!({"type": "question.created", "question": shown}));
                let removed = text(&json!({"type": "question.removed", "id": id}));
                let mut dropped = Vec::new();
                for (cid, conn) in &self.conns {
                    let (m, now) = (
                        &conn.member,
                        after.visible_to(conn.member.participant_id, conn.member.role),
                    );
                    let was = before.visible_to(m.participant_id, m.role);
                    let msg = match (was, now) {
                        (true, true) => &updated,
                        (false, true) => &created,
                        (true, false) => &removed,
                        (false, false) => continue,
                    };
                    if conn.tx.try_send(msg.clone()).is_err() {
                        conn.close.store(close::TOO_SLOW, Ordering::Relaxed);
                        dropped.push(*cid);
                    }
                }
                for cid in dropped {
                    self.disconnect(cid);
                }
                self.dirty_questions.remove(&id);
                let view = views::question(&row, Some(mine));
                self.questions.insert(id, row);
                Ok(view)
            }
            Act::Settings(patch) => {
                require(Action::ChangeSettings)?;
                let change = store::rooms::SettingsChange {
                    chat_enabled: patch.chat_enabled,
                    questions_enabled: patch.questions_enabled,
                    anonymous_questions: patch.anonymous_questions,
                    questions_need_approval: patch.questions_need_approval,
                    locked: patch.locked,
                };
                let room_id = self.room.id;
                self.room = store::blocking(&self.pool, move |c| {
                    Ok(store::rooms::update_settings(c, room_id, &change)?)
                })
                .await?;
                let view = self.room_view();
                self.broadcast(&json!({"type": "room.updated", "room": view}));
                Ok(view)
            }
            Act::Kick { participant_id } => {
                require(Action::Kick)?;
                if participant_id == member.participant_id {
                    return Err(ApiError::InvalidInput("You cannot remove yourself.".into()));
                }
                let room_id = self.room.id;
                let target = store::blocking(&self.pool, move |c| {
                    let target = store::participants::find_by_id(c, room_id, participant_id)?
                        .ok_or_else(|| ApiError::NotFound("No such participant.".into()))?;
                    Ok(target)
                })
                .await?;
                let may = match target.role() {
                    Role::Presenter => false,
                    Role::Moderator => member.role == Role::Presenter,
                    Role::Attendee => true,
                };
                if !may {
                    return Err(forbidden(&format!(
                        "A {} may not remove a {}.",
                        member.role,
                        target.role()
                    )));
                }
                store::blocking(&self.pool, move |c| {
                    Ok(store::participants::kick(c, room_id, participant_id)?)
                })
                .await?;
                let kicked = text(&json!({"type": "kicked"}));
                let ids: Vec<u64> = self
                    .conns
                    .iter()
                    .filter(|(_, c)| c.member.participant_id == participant_id)
                    .map(|(id, _)| *id)
                    .collect();
                for id in ids {
                    if let Some(conn) = self.conns.get(&id) {
                        let _ = conn.tx.try_send(kicked.clone());
                        conn.close.store(close::KICKED, Ordering::Relaxed);
                    }
                    self.disconnect(id);
                }
                Ok(Value::Null)
            }
            Act::End => {
                require(Action::EndRoom)?;
                let room_id = self.room.id;
                let (room, raw) = store::blocking(&self.pool, move |c| {
                    let room =
                        store::rooms::end(c, room_id, Utc::now())?.ok_or(ApiError::RoomEnded)?;
                    let raw = store::stats::load(c, &room)?;
                    Ok((room, raw))
                })
                .await?;
                self.room = room;
                let stats = stats::summarise(raw, Utc::now());
                let stats = serde_json::to_value(stats).unwrap_or(Value::Null);
                self.broadcast(&json!({"type": "room.ended", "stats": stats}));
                // Closing the channels ends every session with a normal close.
                let ids: Vec<u64> = self.conns.keys().copied().collect();
                for id in ids {
                    self.disconnect(id);
                }
                Ok(json!({"stats": stats}))
            }
        }
    }

    async fn question_created(
        &mut self,
        row: QuestionRow,
        created: bool,
        member: &Member,
    ) -> Value {
        let view = views::question(&row, Some(false));
        if created {
            let facts = views::facts(&row);
            let msg =
                text(&json!({"type": "question.created", "question": views::question(&row, None)}));
            self.send_where(|m| facts.visible_to(m.participant_id, m.role), &msg);
            self.questions.insert(row.id, row);
            view
        } else {
            // A retried send: answer as the first time, with today's votes.
            let (room_id, pid, id) = (self.room.id, member.participant_id, row.id);
            let mine = store::blocking(&self.pool, move |c| {
                Ok(store::questions::voted_by(c, room_id, pid)?.contains(&id))
            })
            .await
            .unwrap_or(false);
            views::question(&row, Some(mine))
        }
    }
}

fn participant_json(m: &Member) -> Value {
    json!({"id": m.participant_id, "name": m.name, "role": m.role.as_str()})
}

fn question_change(patch: QuestionPatch, was_answered: bool) -> Result<QuestionChange, ApiError> {
    let mut change = QuestionChange {
        pinned: patch.pinned,
        hidden: patch.hidden,
        approved: patch.approved,
        answered: patch.answered,
        ..Default::default()
    };
    if let Some(answer) = patch.answer {
        let answer = AnswerText::parse(&answer)?.into_inner();
        if answer.is_empty() {
            change.answer = Some(None);
        } else {
            change.answer = Some(Some(answer));
            // Writing an answer answers the question, unless told otherwise.
            change.answered = change.answered.or(Some(true));
        }
    }
    match change.answered {
        Some(true) if !was_answered => change.answered_at = Some(Some(Utc::now())),
        Some(false) => change.answered_at = Some(None),
        _ => {}
    }
    Ok(change)
}
