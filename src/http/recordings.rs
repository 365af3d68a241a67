//! Recordings after (and during) the session: the list, each file with
//! HTTP Range (the replay seeks), deleting one, and what the replay page
//! shows beside the picture.

use actix_files::NamedFile;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::context::AppContext;
use super::error::ApiError;
use super::guard::Caller;
use crate::store::recordings::Recording;

/// One recorded file.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordingView {
    pub id: i64,
    /// `camera` (with the microphone) or `screen`.
    pub source: String,
    /// Who published it (absent: the host key).
    pub participant_id: Option<i64>,
    pub started_at: DateTime<Utc>,
    /// Absent while it is being written.
    pub ended_at: Option<DateTime<Utc>>,
    pub duration_seconds: f64,
    pub bytes: i64,
    pub content_type: String,
    /// The file; the URL carries its own key (a `<video>` element sends no
    /// bearer token), so it is only ever given to those who may list.
    pub url: String,
    /// `recording`, `complete`, `repaired` (after a crash: it plays up to
    /// it) or `failed` (a write error stopped it: it plays up to there).
    pub state: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordingList {
    pub recordings: Vec<RecordingView>,
}

fn view(slug: &str, r: Recording) -> RecordingView {
    RecordingView {
        url: format!(
            "/api/rooms/{slug}/recordings/{}/file?key={}",
            r.id, r.url_key
        ),
        id: r.id,
        source: r.source,
        participant_id: r.participant_id,
        started_at: r.started_at,
        ended_at: r.ended_at,
        duration_seconds: r.duration_ms as f64 / 1000.0,
        bytes: r.bytes,
        content_type: r.content_type,
        state: r.state,
    }
}

/// GET /api/rooms/{slug}/recordings
pub async fn list(ctx: web::Data<AppContext>, who: Caller) -> Result<HttpResponse, ApiError> {
    let rows = ctx.store.recordings(who.room.id).await?;
    let slug = who.room.slug.clone();
    Ok(HttpResponse::Ok().json(RecordingList {
        recordings: rows.into_iter().map(|r| view(&slug, r)).collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileQuery {
    /// The key in the recording's `url`.
    pub key: String,
}

fn no_such() -> ApiError {
    ApiError::NotFound("No such recording.".into())
}

/// GET /api/rooms/{slug}/recordings/{id}/file?key=…: the file, with Range.
pub async fn file(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    path: web::Path<(String, i64)>,
    q: web::Query<FileQuery>,
) -> Result<HttpResponse, ApiError> {
    let (slug, id) = path.into_inner();
    let slug = crate::domain::Slug::parse(&slug)?;
    let room = ctx.store.room(slug.as_str()).await?.ok_or_else(no_such)?;
    let rec = ctx
        .store
        .recording(room.id, id)
        .await?
        .ok_or_else(no_such)?;
    if !crate::secrets::equal(q.key.as_bytes(), rec.url_key.as_bytes()) {
        return Err(no_such());
    }
    let file = NamedFile::open_async(ctx.recordings_dir.join(&rec.file))
        .await
        .map_err(|_| no_such())?
        .set_content_type(
            rec.content_type
                .parse()
                .unwrap_or(actix_web::mime::APPLICATION_OCTET_STREAM),
        )
        .use_etag(true)
        .use_last_modified(true);
    Ok(file.into_response(&req))
}

/// DELETE /api/rooms/{slug}/recordings/{id}: the row, then the file.
pub async fn delete(
    ctx: web::Data<AppContext>,
    who: Caller,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (_, id) = path.into_inner();
    let rec = ctx
        .store
        .recording(who.room.id, id)
        .await?
        .ok_or_else(no_such)?;
    if rec.state == "recording" {
        return Err(ApiError::Conflict(
            "recording",
            "This recording is still being written: stop recording first.".into(),
        ));
    }
    ctx.store.delete_recording(id).await?;
    let path = ctx.recordings_dir.join(&rec.file);
    let removed = web::block(move || std::fs::remove_file(path)).await;
    if let Ok(Err(e)) = removed {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(recording = id, error = %e, "recording file not removed");
        }
    }
    tracing::info!(recording = id, slug = %who.room.slug, "recording deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// A chat message in the replay, at the moment it was sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayMessage {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub name: String,
    pub body: String,
}

/// A question in the replay, at the moment it was asked.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayQuestion {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// Absent for an anonymous question.
    pub author: Option<String>,
    pub body: String,
    pub votes: i32,
    pub pinned: bool,
    pub answered: bool,
    pub answer: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
}

/// What the replay page plays: the recordings, and the conversation with
/// its times.
#[derive(Debug, Serialize, ToSchema)]
pub struct Replay {
    pub title: String,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub recordings: Vec<RecordingView>,
    pub chat: Vec<ReplayMessage>,
    pub questions: Vec<ReplayQuestion>,
}

/// GET /api/rooms/{slug}/replay
pub async fn replay(ctx: web::Data<AppContext>, who: Caller) -> Result<HttpResponse, ApiError> {
    let room = &who.room;
    let rows = ctx.store.recordings(room.id).await?;
    let chat = ctx.store.all_messages(room.id).await?;
    let questions = ctx.store.all_questions(room.id).await?;
    // Attendees see what the room showed them: no hidden question, none
    // waiting for approval.
    let staff = who.role().is_moderator_or_above();
    Ok(HttpResponse::Ok().json(Replay {
        title: room.title.clone(),
        started_at: room.started_at,
        ended_at: room.ended_at,
        recordings: rows.into_iter().map(|r| view(&room.slug, r)).collect(),
        chat: chat
            .into_iter()
            .map(|m| ReplayMessage {
                id: m.id,
                at: m.created_at,
                name: m.name,
                body: m.body,
            })
            .collect(),
        questions: questions
            .into_iter()
            .filter(|q| staff || (!q.hidden && q.approved))
            .map(|q| ReplayQuestion {
                id: q.id,
                at: q.created_at,
                author: (!q.anonymous).then_some(q.author_name),
                body: q.body,
                votes: q.votes,
                pinned: q.pinned,
                answered: q.answered,
                answer: q.answer,
                answered_at: q.answered_at,
            })
            .collect(),
    }))
}
