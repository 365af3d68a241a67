DROP TABLE room_homes;
