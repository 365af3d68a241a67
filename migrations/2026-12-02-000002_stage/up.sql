-- The stage: a speaker is an attendee invited on and accepted; a raised
-- hand and a pending invitation are stamped on the participant, so both
-- outlive a restart.
ALTER TABLE participants DROP CONSTRAINT participants_role_check;
ALTER TABLE participants ADD CONSTRAINT participants_role_check
    CHECK (role IN ('presenter', 'moderator', 'speaker', 'attendee'));
ALTER TABLE participants ADD COLUMN hand_raised_at TIMESTAMPTZ;
ALTER TABLE participants ADD COLUMN invited_at TIMESTAMPTZ;
CREATE INDEX participants_hands_idx ON participants (room_id, hand_raised_at)
    WHERE hand_raised_at IS NOT NULL;
-- Speakers besides the presenter.
ALTER TABLE rooms ADD COLUMN max_speakers INTEGER NOT NULL DEFAULT 3
    CHECK (max_speakers BETWEEN 0 AND 10);
