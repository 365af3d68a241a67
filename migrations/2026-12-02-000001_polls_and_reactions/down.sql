DROP TABLE reaction_counts;
DROP TABLE poll_votes;
DROP TABLE polls;
