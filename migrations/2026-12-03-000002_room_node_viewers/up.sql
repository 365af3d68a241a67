-- With several nodes: each node's media viewers of a room now, so that the
-- room's peak counts all of them.
CREATE TABLE room_node_viewers (
    room_id BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    node_id TEXT NOT NULL,
    viewers INTEGER NOT NULL,
    PRIMARY KEY (room_id, node_id)
);
