-- Erasure: a room's personal data goes (its participants with their
-- names, chat, questions, votes, polls), its numbers stay, frozen as the
-- statistics they made at that moment.
ALTER TABLE rooms ADD COLUMN erased_at TIMESTAMPTZ;
ALTER TABLE room_stats ADD COLUMN frozen JSONB;
CREATE INDEX rooms_erasable_idx ON rooms (ended_at) WHERE erased_at IS NULL AND ended_at IS NOT NULL;
