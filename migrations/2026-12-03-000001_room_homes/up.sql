-- The node that runs each active room's core, for as long as it keeps
-- renewing (several nodes on one database; one node alone never reads it).
CREATE TABLE room_homes (
    room_id BIGINT PRIMARY KEY REFERENCES rooms (id) ON DELETE CASCADE,
    node_id TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
