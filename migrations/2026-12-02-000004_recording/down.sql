DROP TABLE recordings;
ALTER TABLE rooms DROP COLUMN replay_public;
ALTER TABLE rooms DROP COLUMN recording;
