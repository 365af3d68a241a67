-- When the room's current live stretch began (NULL while not live): the
-- stretch is added to room_stats.media_live_seconds when it ends.
ALTER TABLE rooms ADD COLUMN live_since TIMESTAMPTZ;
