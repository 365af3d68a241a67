DROP INDEX rooms_erasable_idx;
ALTER TABLE room_stats DROP COLUMN frozen;
ALTER TABLE rooms DROP COLUMN erased_at;
