-- Recording: off unless someone chose it; the replay for attendees too only
-- when chosen.
ALTER TABLE rooms ADD COLUMN recording BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE rooms ADD COLUMN replay_public BOOLEAN NOT NULL DEFAULT false;

-- One file of one published source, from its first frame to its last.
-- `state`: still being written, complete, repaired at a restart after a
-- crash (it plays up to the crash), or stopped by a write error.
CREATE TABLE recordings (
    id BIGSERIAL PRIMARY KEY,
    room_id BIGINT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    -- The publisher (NULL: the host key, which is no participant).
    participant_id BIGINT REFERENCES participants(id) ON DELETE SET NULL,
    source TEXT NOT NULL CHECK (source IN ('camera', 'screen')),
    started_at TIMESTAMPTZ NOT NULL,
    ended_at TIMESTAMPTZ,
    duration_ms BIGINT NOT NULL DEFAULT 0,
    bytes BIGINT NOT NULL DEFAULT 0,
    content_type TEXT NOT NULL,
    -- Relative to the recordings directory.
    file TEXT NOT NULL,
    -- The secret part of the file's URL (a <video> element cannot send a
    -- bearer token).
    url_key TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'recording'
        CHECK (state IN ('recording', 'complete', 'repaired', 'failed'))
);
CREATE INDEX recordings_by_room ON recordings (room_id, started_at);
