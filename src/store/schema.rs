// @generated automatically by Diesel CLI.

diesel::table! {
    attendance_samples (id) {
        id -> Int8,
        room_id -> Int8,
        at -> Timestamptz,
        concurrent -> Int4,
    }
}

diesel::table! {
    messages (id) {
        id -> Int8,
        room_id -> Int8,
        participant_id -> Int8,
        body -> Text,
        client_id -> Nullable<Text>,
        created_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    participant_sessions (id) {
        id -> Int8,
        room_id -> Int8,
        participant_id -> Int8,
        connected_at -> Timestamptz,
        disconnected_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    participants (id) {
        id -> Int8,
        room_id -> Int8,
        name -> Text,
        role -> Text,
        token_hash -> Bytea,
        joined_at -> Timestamptz,
        kicked_at -> Nullable<Timestamptz>,
        browser_hash -> Nullable<Bytea>,
        hand_raised_at -> Nullable<Timestamptz>,
        invited_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    poll_votes (poll_id, participant_id) {
        poll_id -> Int8,
        participant_id -> Int8,
        choice -> Array<Int2>,
    }
}

diesel::table! {
    polls (id) {
        id -> Int8,
        room_id -> Int8,
        question -> Text,
        options -> Array<Text>,
        multiple -> Bool,
        status -> Text,
        created_at -> Timestamptz,
        opened_at -> Nullable<Timestamptz>,
        closed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    question_votes (question_id, participant_id) {
        question_id -> Int8,
        participant_id -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    questions (id) {
        id -> Int8,
        room_id -> Int8,
        participant_id -> Int8,
        body -> Text,
        anonymous -> Bool,
        client_id -> Nullable<Text>,
        votes -> Int4,
        pinned -> Bool,
        hidden -> Bool,
        approved -> Bool,
        answered -> Bool,
        answer -> Nullable<Text>,
        source_message_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        answered_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    reaction_counts (room_id, minute, emoji) {
        room_id -> Int8,
        minute -> Timestamptz,
        emoji -> Text,
        count -> Int8,
    }
}

diesel::table! {
    room_stats (room_id) {
        room_id -> Int8,
        peak_concurrent -> Int4,
        votes_cast -> Int8,
        media_live_seconds -> Int8,
        peak_viewers -> Int4,
        updated_at -> Timestamptz,
        frozen -> Nullable<Jsonb>,
    }
}

diesel::table! {
    room_node_viewers (room_id, node_id) {
        room_id -> Int8,
        node_id -> Text,
        viewers -> Int4,
    }
}

diesel::table! {
    room_homes (room_id) {
        room_id -> Int8,
        node_id -> Text,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    rooms (id) {
        id -> Int8,
        slug -> Text,
        title -> Text,
        presenter_name -> Text,
        password_hash -> Nullable<Text>,
        host_key_hash -> Bytea,
        moderator_key_hash -> Bytea,
        max_participants -> Int4,
        status -> Text,
        chat_enabled -> Bool,
        questions_enabled -> Bool,
        anonymous_questions -> Bool,
        questions_need_approval -> Bool,
        created_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        ended_at -> Nullable<Timestamptz>,
        live_since -> Nullable<Timestamptz>,
        locked -> Bool,
        max_speakers -> Int4,
        erased_at -> Nullable<Timestamptz>,
        recording -> Bool,
        replay_public -> Bool,
    }
}

diesel::table! {
    recordings (id) {
        id -> Int8,
        room_id -> Int8,
        participant_id -> Nullable<Int8>,
        source -> Text,
        started_at -> Timestamptz,
        ended_at -> Nullable<Timestamptz>,
        duration_ms -> Int8,
        bytes -> Int8,
        content_type -> Text,
        file -> Text,
        url_key -> Text,
        state -> Text,
    }
}

diesel::joinable!(attendance_samples -> rooms (room_id));
diesel::joinable!(messages -> participants (participant_id));
diesel::joinable!(messages -> rooms (room_id));
diesel::joinable!(participant_sessions -> participants (participant_id));
diesel::joinable!(participant_sessions -> rooms (room_id));
diesel::joinable!(participants -> rooms (room_id));
diesel::joinable!(poll_votes -> participants (participant_id));
diesel::joinable!(poll_votes -> polls (poll_id));
diesel::joinable!(polls -> rooms (room_id));
diesel::joinable!(question_votes -> participants (participant_id));
diesel::joinable!(question_votes -> questions (question_id));
diesel::joinable!(questions -> messages (source_message_id));
diesel::joinable!(questions -> participants (participant_id));
diesel::joinable!(questions -> rooms (room_id));
diesel::joinable!(reaction_counts -> rooms (room_id));
diesel::joinable!(recordings -> rooms (room_id));
diesel::joinable!(room_homes -> rooms (room_id));
diesel::joinable!(room_node_viewers -> rooms (room_id));
diesel::joinable!(room_stats -> rooms (room_id));

diesel::allow_tables_to_appear_in_same_query!(
    attendance_samples,
    messages,
    participant_sessions,
    participants,
    poll_votes,
    polls,
    question_votes,
    questions,
    reaction_counts,
    recordings,
    room_homes,
    room_node_viewers,
    room_stats,
    rooms,
);
