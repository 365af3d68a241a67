//! Arithmetic of a session's statistics: kept apart from storage so the
//! numbers can be checked against each other.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Sample {
    pub at: DateTime<Utc>,
    pub concurrent: i32,
}

/// One connection of an attendee to the live room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stretch {
    pub participant: i64,
    pub from: DateTime<Utc>,
    /// `None` while still connected.
    pub to: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TopQuestion {
    pub id: i64,
    pub body: String,
    /// `None` for anonymous questions.
    pub author_name: Option<String>,
    pub votes: i32,
    pub answered: bool,
    pub answer: Option<String>,
}

/// Shares of the attendees (not staff) who did each thing, 0 to 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Participation {
    pub attendees: i64,
    pub asked: f64,
    pub voted: f64,
    pub chatted: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MediaFigures {
    /// Time the presenter's camera was live, over every stretch.
    pub live_seconds: i64,
    /// Most WHEP viewers at once.
    pub peak_viewers: i32,
}

/// A poll option and its votes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PollOption {
    pub text: String,
    pub votes: i32,
}

/// A poll and its counts, as everyone may read it (who chose what is
/// never part of it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PollResult {
    pub id: i64,
    pub question: String,
    pub options: Vec<PollOption>,
    pub multiple: bool,
    #[schema(schema_with = poll_status)]
    pub status: String,
    pub total_voters: i32,
    pub created_at: DateTime<Utc>,
    pub opened_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

fn poll_status() -> utoipa::openapi::Object {
    crate::views::one_of(["draft", "open", "closed"])
}

/// The reactions of one minute, by emoji.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReactionMinute {
    pub at: DateTime<Utc>,
    pub counts: BTreeMap<String, i64>,
}

/// Raw figures as stored; `summarise` makes them agree with each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawStats {
    pub recorded_peak: i32,
    pub total_participants: i64,
    pub total_messages: i64,
    pub total_questions: i64,
    pub total_votes: i64,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub timeline: Vec<Sample>,
    /// Attendees who joined, and how many of them asked, voted, chatted.
    pub attendees: i64,
    pub askers: i64,
    pub voters: i64,
    pub chatters: i64,
    pub attendee_stretches: Vec<Stretch>,
    pub top_questions: Vec<TopQuestion>,
    pub media_live_seconds: i64,
    /// Start of the live stretch still running, if any.
    pub live_since: Option<DateTime<Utc>>,
    pub peak_viewers: i32,
    pub reactions_timeline: Vec<ReactionMinute>,
    /// Every poll but drafts, with final counts.
    pub polls: Vec<PollResult>,
}

/// Serialised as the contract's `stats` object, plus the report's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SessionStats {
    pub peak_concurrent: i32,
    pub total_participants: i64,
    pub total_messages: i64,
    pub total_questions: i64,
    pub total_votes: i64,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub duration_seconds: i64,
    pub timeline: Vec<Sample>,
    /// Over attendees who connected at all; two tabs at once count once.
    pub average_watch_seconds: i64,
    pub participation: Participation,
    pub top_questions: Vec<TopQuestion>,
    pub media: MediaFigures,
    pub total_reactions: i64,
    /// Reactions by minute.
    pub reactions_timeline: Vec<ReactionMinute>,
    pub polls: Vec<PollResult>,
    /// When the room's personal data was erased: these figures are what
    /// is left (no question texts, no polls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased_at: Option<DateTime<Utc>>,
}

fn share(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        0.0
    } else {
        part.min(whole) as f64 / whole as f64
    }
}

/// Connected time of each participant who connected, up to `end`;
/// overlapping connections of one participant are merged, so a second tab
/// adds nothing.
pub fn watch_seconds(stretches: &[Stretch], end: DateTime<Utc>) -> BTreeMap<i64, i64> {
    let mut sorted: Vec<Stretch> = stretches.to_vec();
    sorted.sort_by_key(|s| (s.participant, s.from));
    let mut out = BTreeMap::new();
    // The participant's merged stretch being built: (who, from, to).
    let mut current: Option<(i64, DateTime<Utc>, DateTime<Utc>)> = None;
    let mut close = |c: (i64, DateTime<Utc>, DateTime<Utc>)| {
        *out.entry(c.0).or_insert(0) += (c.2 - c.1).num_seconds().max(0);
    };
    for s in sorted {
        let to = s.to.unwrap_or(end).min(end);
        let from = s.from.min(to);
        current = match current {
            Some((p, a, b)) if p == s.participant && from <= b => Some((p, a, b.max(to))),
            Some(done) => {
                close(done);
                Some((s.participant, from, to))
            }
            None => Some((s.participant, from, to)),
        };
    }
    if let Some(done) = current {
        close(done);
    }
    out
}

/// Mean connected time per attendee who connected, up to `end`.
pub fn average_watch_seconds(stretches: &[Stretch], end: DateTime<Utc>) -> i64 {
    let each = watch_seconds(stretches, end);
    if each.is_empty() {
        0
    } else {
        (each.values().sum::<i64>() as f64 / each.len() as f64).round() as i64
    }
}

/// `now` stands in for the end of a session still running.
pub fn summarise(raw: RawStats, now: DateTime<Utc>) -> SessionStats {
    let started_at = raw.started_at.unwrap_or(raw.created_at);
    let end = raw.ended_at.unwrap_or(now);
    let duration_seconds = (end - started_at).num_seconds().max(0);
    let sample_peak = raw.timeline.iter().map(|s| s.concurrent).max().unwrap_or(0);
    let running = raw
        .live_since
        .map_or(0, |since| (end - since).num_seconds().max(0));
    SessionStats {
        peak_concurrent: raw.recorded_peak.max(sample_peak),
        total_participants: raw.total_participants,
        total_messages: raw.total_messages,
        total_questions: raw.total_questions,
        total_votes: raw.total_votes,
        started_at,
        ended_at: raw.ended_at,
        duration_seconds,
        timeline: raw.timeline,
        average_watch_seconds: average_watch_seconds(&raw.attendee_stretches, end),
        participation: Participation {
            attendees: raw.attendees,
            asked: share(raw.askers, raw.attendees),
            voted: share(raw.voters, raw.attendees),
            chatted: share(raw.chatters, raw.attendees),
        },
        top_questions: raw.top_questions,
        media: MediaFigures {
            live_seconds: raw.media_live_seconds + running,
            peak_viewers: raw.peak_viewers,
        },
        total_reactions: raw
            .reactions_timeline
            .iter()
            .flat_map(|m| m.counts.values())
            .sum(),
        reactions_timeline: raw.reactions_timeline,
        polls: raw.polls,
        erased_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
    }

    fn raw() -> RawStats {
        RawStats {
            recorded_peak: 3,
            total_participants: 7,
            total_messages: 10,
            total_questions: 2,
            total_votes: 5,
            created_at: t(0),
            started_at: Some(t(60)),
            ended_at: Some(t(3660)),
            timeline: vec![
                Sample {
                    at: t(60),
                    concurrent: 1,
                },
                Sample {
                    at: t(70),
                    concurrent: 5,
                },
            ],
            attendees: 4,
            askers: 1,
            voters: 2,
            chatters: 4,
            attendee_stretches: vec![],
            top_questions: vec![],
            media_live_seconds: 100,
            live_since: None,
            peak_viewers: 3,
            reactions_timeline: vec![
                ReactionMinute {
                    at: t(60),
                    counts: BTreeMap::from([("👍".into(), 3), ("🎉".into(), 1)]),
                },
                ReactionMinute {
                    at: t(120),
                    counts: BTreeMap::from([("👍".into(), 2)]),
                },
            ],
            polls: vec![],
        }
    }

    #[test]
    fn total_reactions_add_up_the_timeline() {
        assert_eq!(summarise(raw(), t(9999)).total_reactions, 6);
    }

    fn stretch(participant: i64, from: i64, to: Option<i64>) -> Stretch {
        Stretch {
            participant,
            from: t(from),
            to: to.map(t),
        }
    }

    #[test]
    fn watch_time_merges_one_attendees_overlapping_tabs() {
        let stretches = [
            // Attendee 1: 0-100 and a second tab 50-150: 150 s, not 200.
            stretch(1, 0, Some(100)),
            stretch(1, 50, Some(150)),
            // Attendee 2: two separate visits, 10 s and 20 s.
            stretch(2, 0, Some(10)),
            stretch(2, 100, Some(120)),
        ];
        assert_eq!(average_watch_seconds(&stretches, t(1000)), (150 + 30) / 2);
        let each = watch_seconds(&stretches, t(1000));
        assert_eq!(each.into_iter().collect::<Vec<_>>(), [(1, 150), (2, 30)]);
    }

    #[test]
    fn watch_time_counts_open_connections_to_the_end_only() {
        let stretches = [stretch(1, 0, None), stretch(2, 10, Some(5000))];
        // Both are cut at the end (t = 100): 100 s and 90 s.
        assert_eq!(average_watch_seconds(&stretches, t(100)), 95);
        assert_eq!(average_watch_seconds(&[], t(100)), 0);
    }

    #[test]
    fn shares_are_of_attendees_and_media_time_includes_the_running_stretch() {
        let mut r = raw();
        r.ended_at = None;
        r.live_since = Some(t(9000));
        let s = summarise(r, t(9060));
        assert_eq!(s.participation.asked, 0.25);
        assert_eq!(s.participation.voted, 0.5);
        assert_eq!(s.participation.chatted, 1.0);
        assert_eq!(s.media.live_seconds, 160);
        let mut none = raw();
        none.attendees = 0;
        assert_eq!(summarise(none, t(9999)).participation.asked, 0.0);
    }

    #[test]
    fn peak_is_never_below_a_sample() {
        let s = summarise(raw(), t(9999));
        assert_eq!(s.peak_concurrent, 5);
        assert!(s.timeline.iter().all(|x| x.concurrent <= s.peak_concurrent));
    }

    #[test]
    fn duration_runs_from_start_to_end() {
        let s = summarise(raw(), t(9999));
        assert_eq!(s.duration_seconds, 3600);
        assert_eq!(s.started_at, t(60));
    }

    #[test]
    fn running_session_counts_to_now_from_creation_when_never_started() {
        let mut r = raw();
        r.started_at = None;
        r.ended_at = None;
        let s = summarise(r, t(120));
        assert_eq!(s.started_at, t(0));
        assert_eq!(s.duration_seconds, 120);
        assert_eq!(s.ended_at, None);
    }
}
