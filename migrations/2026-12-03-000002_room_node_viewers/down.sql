DROP TABLE room_node_viewers;
