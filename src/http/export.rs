//! CSV exports of a session: the attendance timeline and the questions.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::auth::Authed;
use super::context::AppContext;
use crate::domain::spreadsheet::neutralise;
use crate::domain::Action;
use crate::error::ApiError;
use crate::store::{questions, stats};

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

/// GET /api/rooms/{slug}/stats.csv: one row per attendance sample.
pub async fn attendance(ctx: web::Data<AppContext>, who: Authed) -> Result<HttpResponse, ApiError> {
    who.require(Action::ViewStats)?;
    let room = who.room.clone();
    let raw = ctx.db(move |c| Ok(stats::load(c, &room)?)).await?;
    let mut rows = vec![vec!["at".to_owned(), "concurrent".to_owned()]];
    rows.extend(
        raw.timeline
            .iter()
            .map(|s| vec![s.at.to_rfc3339(), s.concurrent.to_string()]),
    );
    csv_response(format!("{}-attendance.csv", who.room.slug), rows)
}

/// GET /api/rooms/{slug}/questions.csv: every question with its votes and
/// answer, most voted first. User text is neutralised for spreadsheets.
pub async fn questions(ctx: web::Data<AppContext>, who: Authed) -> Result<HttpResponse, ApiError> {
    who.require(Action::ViewStats)?;
    let room_id = who.room.id;
    let mut list = ctx
        .db(move |c| Ok(questions::all_in_room(c, room_id)?))
        .await?;
    list.sort_by_key(|q| (std::cmp::Reverse(q.votes), q.id));
    let mut rows = vec![[
        "id",
        "question",
        "author",
        "votes",
        "status",
        "hidden",
        "answer",
        "created_at",
        "answered_at",
    ]
    .map(str::to_owned)
    .to_vec()];
    for q in &list {
        let status = crate::live::views::facts(q).status().as_str();
        rows.push(vec![
            q.id.to_string(),
            neutralise(&q.body),
            if q.anonymous {
                String::new()
            } else {
                neutralise(&q.author_name)
            },
            q.votes.to_string(),
            status.to_owned(),
            q.hidden.to_string(),
            neutralise(q.answer.as_deref().unwrap_or("")),
            q.created_at.to_rfc3339(),
            q.answered_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        ]);
    }
    csv_response(format!("{}-questions.csv", who.room.slug), rows)
}
