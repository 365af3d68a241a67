//! CSV exports of a session: attendance, participants, chat and questions.
//! Times are ISO 8601 in UTC to the second; user text is neutralised for
//! spreadsheets.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, SecondsFormat, Utc};

use super::context::AppContext;
use super::guard::Caller;
use crate::domain::spreadsheet::neutralise;
use crate::domain::stats::watch_seconds;
use crate::http::error::ApiError;

fn csv_response(filename: String, rows: Vec<Vec<String>>) -> Result<HttpResponse, ApiError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        w.write_record(&row).map_err(ApiError::internal)?;
    }
    let body = w
        .into_inner()
        .map_err(|e| ApiError::internal(anyhow::anyhow!("{e}")))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .body(body))
}

fn header_row(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// `2026-12-01T13:38:46Z`: what spreadsheets read as a time.
fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn iso_or_empty(t: Option<DateTime<Utc>>) -> String {
    t.map(iso).unwrap_or_default()
}

/// GET /api/rooms/{slug}/stats.csv: one row per attendance sample.
pub async fn attendance(ctx: web::Data<AppContext>, who: Caller) -> Result<HttpResponse, ApiError> {
    let raw = ctx.store.stats(who.room.clone()).await?;
    let mut rows = vec![header_row(&["at", "concurrent"])];
    rows.extend(
        raw.timeline
            .iter()
            .map(|s| vec![iso(s.at), s.concurrent.to_string()]),
    );
    csv_response(format!("{}-attendance.csv", who.room.slug), rows)
}

/// GET /api/rooms/{slug}/participants.csv: one row per person who joined,
/// with their watch time (overlapping tabs merged) and what they did.
pub async fn participants(
    ctx: web::Data<AppContext>,
    who: Caller,
) -> Result<HttpResponse, ApiError> {
    let (people, stretches) = ctx.store.people(who.room.id).await?;
    let end = who.room.ended_at.unwrap_or_else(Utc::now);
    let watched = watch_seconds(&stretches, end);
    let mut rows = vec![header_row(&[
        "name",
        "role",
        "first_joined",
        "last_left",
        "watch_seconds",
        "messages",
        "questions",
        "votes",
        "removed_at",
    ])];
    for p in &people {
        rows.push(vec![
            neutralise(&p.name),
            p.role.clone(),
            iso(p.joined_at),
            iso_or_empty(p.last_left),
            watched.get(&p.id).copied().unwrap_or(0).to_string(),
            p.messages.to_string(),
            p.questions.to_string(),
            p.votes.to_string(),
            iso_or_empty(p.removed_at),
        ]);
    }
    csv_response(format!("{}-participants.csv", who.room.slug), rows)
}

/// GET /api/rooms/{slug}/chat.csv: the chat as it stands (deleted
/// messages are gone from it, as from the room).
pub async fn chat(ctx: web::Data<AppContext>, who: Caller) -> Result<HttpResponse, ApiError> {
    let list = ctx.store.all_messages(who.room.id).await?;
    let mut rows = vec![header_row(&["id", "sent_at", "name", "role", "message"])];
    for m in &list {
        rows.push(vec![
            m.id.to_string(),
            iso(m.created_at),
            neutralise(&m.name),
            m.role.clone(),
            neutralise(&m.body),
        ]);
    }
    csv_response(format!("{}-chat.csv", who.room.slug), rows)
}

/// GET /api/rooms/{slug}/questions.csv: every question with its votes and
/// answer, most voted first.
pub async fn questions(ctx: web::Data<AppContext>, who: Caller) -> Result<HttpResponse, ApiError> {
    let mut list = ctx.store.all_questions(who.room.id).await?;
    list.sort_by_key(|q| (std::cmp::Reverse(q.votes), q.id));
    let mut rows = vec![header_row(&[
        "id",
        "question",
        "author",
        "votes",
        "status",
        "pinned",
        "hidden",
        "answer",
        "created_at",
        "answered_at",
    ])];
    for q in &list {
        let status = crate::live::views::facts(q).status().as_str();
        rows.push(vec![
            q.id.to_string(),
            neutralise(&q.body),
            if q.anonymous {
                "Anonymous".to_owned()
            } else {
                neutralise(&q.author_name)
            },
            q.votes.to_string(),
            status.to_owned(),
            q.pinned.to_string(),
            q.hidden.to_string(),
            neutralise(q.answer.as_deref().unwrap_or("")),
            iso(q.created_at),
            iso_or_empty(q.answered_at),
        ]);
    }
    csv_response(format!("{}-questions.csv", who.room.slug), rows)
}

/// GET /api/rooms/{slug}/polls.csv: one row per option of every poll,
/// with its votes (never who chose it).
pub async fn polls(ctx: web::Data<AppContext>, who: Caller) -> Result<HttpResponse, ApiError> {
    let polls = ctx.store.all_polls(who.room.id).await?;
    let mut rows = vec![header_row(&[
        "poll",
        "question",
        "status",
        "multiple",
        "option_number",
        "option",
        "votes",
        "total_voters",
        "opened_at",
        "closed_at",
    ])];
    for (n, p) in polls.iter().enumerate() {
        let r = p.result();
        for (i, o) in r.options.iter().enumerate() {
            rows.push(vec![
                (n + 1).to_string(),
                neutralise(&r.question),
                r.status.to_owned(),
                r.multiple.to_string(),
                (i + 1).to_string(),
                neutralise(&o.text),
                o.votes.to_string(),
                r.total_voters.to_string(),
                iso_or_empty(r.opened_at),
                iso_or_empty(r.closed_at),
            ]);
        }
    }
    csv_response(format!("{}-polls.csv", who.room.slug), rows)
}
