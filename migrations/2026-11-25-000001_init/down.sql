DROP TABLE attendance_samples;
DROP TABLE room_stats;
DROP TABLE question_votes;
DROP TABLE questions;
DROP TABLE messages;
DROP TABLE participant_sessions;
DROP TABLE participants;
DROP TABLE rooms;
