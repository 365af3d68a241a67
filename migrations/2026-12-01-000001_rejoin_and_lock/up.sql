-- A locked room admits no new attendees (keys still work).
ALTER TABLE rooms ADD COLUMN locked BOOLEAN NOT NULL DEFAULT false;
-- The browser a participant joined from, as the SHA-256 of a random mark
-- kept in a cookie scoped to the room: a removed person's browser is
-- refused at join.
ALTER TABLE participants ADD COLUMN browser_hash BYTEA;
CREATE INDEX participants_removed_browser_idx ON participants (room_id, browser_hash)
    WHERE kicked_at IS NOT NULL AND browser_hash IS NOT NULL;
-- Links are lower case and looked up in any case.
UPDATE rooms SET slug = lower(slug) WHERE slug <> lower(slug);
