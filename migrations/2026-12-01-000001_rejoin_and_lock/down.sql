DROP INDEX participants_removed_browser_idx;
ALTER TABLE participants DROP COLUMN browser_hash;
ALTER TABLE rooms DROP COLUMN locked;
