//! Arithmetic of a session's statistics: kept apart from storage so the
//! numbers can be checked against each other.

use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Sample {
    pub at: DateTime<Utc>,
    pub concurrent: i32,
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
}

/// Serialised as the contract's `stats` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
}

/// `now` stands in for the end of a session still running.
pub fn summarise(raw: RawStats, now: DateTime<Utc>) -> SessionStats {
    let started_at = raw.started_at.unwrap_or(raw.created_at);
    let end = raw.ended_at.unwrap_or(now);
    let duration_seconds = (end - started_at).num_seconds().max(0);
    let sample_peak = raw.timeline.iter().map(|s| s.concurrent).max().unwrap_or(0);
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
        }
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
