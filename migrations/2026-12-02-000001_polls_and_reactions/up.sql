-- Polls: prepared as drafts, opened and closed once. Votes are anonymous
-- to everyone reading the API; the row ties a choice to its voter only so
-- that a change of mind replaces it and a voter sees their own.
CREATE TABLE polls (
    id BIGSERIAL PRIMARY KEY,
    room_id BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    question TEXT NOT NULL,
    options TEXT[] NOT NULL,
    multiple BOOLEAN NOT NULL DEFAULT false,
    status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'open', 'closed')),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    opened_at TIMESTAMPTZ,
    closed_at TIMESTAMPTZ
);
CREATE INDEX polls_room_idx ON polls (room_id, id);

CREATE TABLE poll_votes (
    poll_id BIGINT NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    participant_id BIGINT NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    choice SMALLINT[] NOT NULL,
    PRIMARY KEY (poll_id, participant_id)
);

-- Reactions are counted, never tied to who sent them: per room, minute
-- and emoji.
CREATE TABLE reaction_counts (
    room_id BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    minute TIMESTAMPTZ NOT NULL,
    emoji TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (room_id, minute, emoji)
);
