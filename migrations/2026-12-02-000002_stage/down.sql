ALTER TABLE rooms DROP COLUMN max_speakers;
DROP INDEX participants_hands_idx;
ALTER TABLE participants DROP COLUMN invited_at;
ALTER TABLE participants DROP COLUMN hand_raised_at;
UPDATE participants SET role = 'attendee' WHERE role = 'speaker';
ALTER TABLE participants DROP CONSTRAINT participants_role_check;
ALTER TABLE participants ADD CONSTRAINT participants_role_check
    CHECK (role IN ('presenter', 'moderator', 'attendee'));
