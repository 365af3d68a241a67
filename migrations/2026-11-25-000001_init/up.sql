-- Rooms: one webinar session each. Secrets are stored only as hashes.
CREATE TABLE rooms (
    id BIGSERIAL PRIMARY KEY,
    slug TEXT NOT NULL,
    title TEXT NOT NULL,
    presenter_name TEXT NOT NULL,
    password_hash TEXT,
    host_key_hash BYTEA NOT NULL,
    moderator_key_hash BYTEA NOT NULL,
    max_participants INTEGER NOT NULL CHECK (max_participants > 0),
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'live', 'ended')),
    chat_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    questions_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    anonymous_questions BOOLEAN NOT NULL DEFAULT TRUE,
    questions_need_approval BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at TIMESTAMPTZ,
    ended_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX rooms_slug_idx ON rooms (slug);

-- Participants: one row per issued bearer token.
CREATE TABLE participants (
    id BIGSERIAL PRIMARY KEY,
    room_id BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('presenter', 'moderator', 'attendee')),
    token_hash BYTEA NOT NULL,
    joined_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    kicked_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX participants_token_hash_idx ON participants (token_hash);
CREATE INDEX participants_room_idx ON participants (room_id, role);

-- Each live connection of a participant: watch time and attendance come from here.
CREATE TABLE participant_sessions (
    id BIGSERIAL PRIMARY KEY,
    room_id BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    participant_id BIGINT NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    connected_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    disconnected_at TIMESTAMPTZ
);
CREATE INDEX participant_sessions_room_idx ON participant_sessions (room_id, connected_at);

CREATE TABLE messages (
    id BIGSERIAL PRIMARY KEY,
    room_id BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    participant_id BIGINT NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    client_id TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at TIMESTAMPTZ
);
-- History pages walk a room's messages by id.
CREATE INDEX messages_room_id_idx ON messages (room_id, id);
-- A retried send with the same client_id finds the first one.
CREATE UNIQUE INDEX messages_client_id_idx ON messages (participant_id, client_id);

CREATE TABLE questions (
    id BIGSERIAL PRIMARY KEY,
    room_id BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    participant_id BIGINT NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    anonymous BOOLEAN NOT NULL DEFAULT FALSE,
    client_id TEXT,
    -- Kept equal to the count of question_votes rows, in the same transaction.
    votes INTEGER NOT NULL DEFAULT 0 CHECK (votes >= 0),
    pinned BOOLEAN NOT NULL DEFAULT FALSE,
    hidden BOOLEAN NOT NULL DEFAULT FALSE,
    approved BOOLEAN NOT NULL DEFAULT TRUE,
    answered BOOLEAN NOT NULL DEFAULT FALSE,
    answer TEXT,
    source_message_id BIGINT REFERENCES messages (id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    answered_at TIMESTAMPTZ
);
CREATE INDEX questions_room_votes_idx ON questions (room_id, votes DESC, id);
CREATE UNIQUE INDEX questions_client_id_idx ON questions (participant_id, client_id);

CREATE TABLE question_votes (
    question_id BIGINT NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    participant_id BIGINT NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (question_id, participant_id)
);
CREATE INDEX question_votes_participant_idx ON question_votes (participant_id);

-- Running statistics of a session, kept as it goes so they survive a restart.
CREATE TABLE room_stats (
    room_id BIGINT PRIMARY KEY REFERENCES rooms (id) ON DELETE CASCADE,
    peak_concurrent INTEGER NOT NULL DEFAULT 0,
    votes_cast BIGINT NOT NULL DEFAULT 0,
    media_live_seconds BIGINT NOT NULL DEFAULT 0,
    peak_viewers INTEGER NOT NULL DEFAULT 0,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The attendance timeline: a sample on change and at least every few seconds.
CREATE TABLE attendance_samples (
    id BIGSERIAL PRIMARY KEY,
    room_id BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    at TIMESTAMPTZ NOT NULL,
    concurrent INTEGER NOT NULL CHECK (concurrent >= 0)
);
CREATE INDEX attendance_samples_room_idx ON attendance_samples (room_id, at);
