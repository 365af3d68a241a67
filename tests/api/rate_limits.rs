//! governor limits: per client IP, per room, per token; 429 with Retry-After.

use serde_json::json;

use crate::kit;

fn retry_after(r: &kit::Resp) -> u64 {
    r.headers
        .get("retry-after")
        .expect("429 carries Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[actix_rt::test]
async fn room_creation_is_limited_per_ip() {
    let app = kit::spawn_app_with(|c| c.limits.create_per_minute = 2).await;
    app.room().await;
    app.room().await;
    let r = app
        .post(
            "/api/rooms",
            None,
            &json!({"title": "T", "presenter_name": "P"}),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (429, "rate_limited"));
    let wait = retry_after(&r);
    assert!((1..=30).contains(&wait), "{wait}");
}

#[actix_rt::test]
async fn joins_are_limited_per_ip() {
    let app = kit::spawn_app_with(|c| c.limits.join_per_minute = 3).await;
    let room = app.room().await;
    for _ in 0..3 {
        room.attendee("Bob").await;
    }
    let r = room.join(json!({"name": "Bob"})).await;
    assert_eq!((r.status.as_u16(), r.code()), (429, "rate_limited"));
    assert!(retry_after(&r) >= 1);
}

/// A join with `password`, through a proxy that says it came from `ip`.
async fn join_from(app: &kit::TestApp, room: &kit::Room, ip: &str, password: &str) -> kit::Resp {
    let req = app
        .request(awc::http::Method::POST, &room.path("/join"), None)
        .insert_header(("X-Forwarded-For", ip));
    app.send(req, Some(&json!({"name": "Guess", "password": password})))
        .await
}

#[actix_rt::test]
async fn password_guessing_is_throttled_per_ip_and_others_still_get_in() {
    let app = kit::spawn_app_with(|c| {
        c.limits.password_per_minute = 3;
        c.trusted_proxy = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let room = app
        .create_room(json!({"title": "T", "presenter_name": "P", "password": "right"}))
        .await;
    for _ in 0..3 {
        let r = join_from(&app, &room, "203.0.113.5", "wrong").await;
        assert_eq!(r.code(), "bad_password");
    }
    let r = join_from(&app, &room, "203.0.113.5", "wrong").await;
    assert_eq!((r.status.as_u16(), r.code()), (429, "rate_limited"));
    // Throttled even when the guess is finally right.
    let r = join_from(&app, &room, "203.0.113.5", "right").await;
    assert_eq!(r.status, 429);
    let r = join_from(&app, &room, "198.51.100.7", "right").await;
    assert_eq!(r.status, 200, "another address is not punished: {}", r.body);
}

/// A class or an office behind one address: the right password is never
/// throttled, however many type it, while wrong guesses still are (the
/// server's default budget: 10 wrong passwords a minute per address).
#[actix_rt::test]
async fn one_address_full_of_people_with_the_right_password_gets_in() {
    let defaults = podium::config::Config::from_args(Vec::<String>::new())
        .unwrap()
        .limits;
    let app = kit::spawn_app_with(|c| {
        c.limits.password_per_minute = defaults.password_per_minute;
        c.limits.room_password_per_minute = defaults.room_password_per_minute;
        c.limits.join_per_minute = defaults.join_per_minute;
        c.trusted_proxy = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    assert_eq!(defaults.password_per_minute, 10);
    let room = app
        .create_room(json!({"title": "T", "presenter_name": "P", "password": "right"}))
        .await;
    let office = "203.0.113.5";
    let started = std::time::Instant::now();
    let (mut wrong, mut refused) = (0, 0);
    for i in 0..50 {
        let r = join_from(&app, &room, office, "right").await;
        assert_eq!(r.status, 200, "right password {i}: {}", r.body);
        // Colleagues mistype in between: 40 wrong guesses in all.
        if i % 5 < 4 {
            let r = join_from(&app, &room, office, "wrong").await;
            match (r.status.as_u16(), r.code()) {
                (401, "bad_password") => wrong += 1,
                (429, "rate_limited") => refused += 1,
                other => panic!("a wrong password got {other:?}"),
            }
        }
    }
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
    // The room's first right password was checked in full (nothing was
    // remembered yet) and took one cell of the ten; after it, only wrong
    // guesses count.
    assert_eq!((wrong, refused), (9, 31), "wrong guesses are throttled");
}

/// A guesser who keeps going once throttled is shut out altogether, so the
/// throttled guesses cannot tell the right password by which gets in.
#[actix_rt::test]
async fn a_throttled_guesser_who_goes_on_is_shut_out() {
    let app = kit::spawn_app_with(|c| {
        c.limits.password_per_minute = 3;
        c.trusted_proxy = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let room = app
        .create_room(json!({"title": "T", "presenter_name": "P", "password": "right"}))
        .await;
    // Someone got in, so the right password is remembered.
    assert_eq!(
        join_from(&app, &room, "198.51.100.7", "right").await.status,
        200
    );
    let guesser = "203.0.113.5";
    for _ in 0..3 {
        assert_eq!(
            join_from(&app, &room, guesser, "wrong").await.code(),
            "bad_password"
        );
    }
    for _ in 0..12 {
        assert_eq!(join_from(&app, &room, guesser, "wrong").await.status, 429);
        let r = join_from(&app, &room, guesser, "right").await;
        assert_eq!(
            r.status, 200,
            "throttled, but the right password still gets in"
        );
    }
    assert_eq!(join_from(&app, &room, guesser, "wrong").await.status, 429);
    let r = join_from(&app, &room, guesser, "right").await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (429, "rate_limited"),
        "shut out"
    );
    let r = join_from(&app, &room, "198.51.100.8", "right").await;
    assert_eq!(r.status, 200, "others are not: {}", r.body);
}

#[actix_rt::test]
async fn password_guessing_is_capped_per_room_across_ips() {
    let app = kit::spawn_app_with(|c| {
        c.limits.room_password_per_minute = 4;
        c.trusted_proxy = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let room = app
        .create_room(json!({"title": "T", "presenter_name": "P", "password": "right"}))
        .await;
    for i in 0..4 {
        let r = join_from(&app, &room, &format!("203.0.113.{i}"), "wrong").await;
        assert_eq!(r.code(), "bad_password");
    }
    let r = join_from(&app, &room, "203.0.113.99", "wrong").await;
    assert_eq!((r.status.as_u16(), r.code()), (429, "rate_limited"));
    let other = app
        .create_room(json!({"title": "T2", "presenter_name": "P", "password": "right"}))
        .await;
    let r = join_from(&app, &other, "203.0.113.99", "right").await;
    assert_eq!(r.status, 200, "another room has its own budget");
}

#[actix_rt::test]
async fn forwarded_for_is_ignored_from_untrusted_peers() {
    let app = kit::spawn_app_with(|c| c.limits.join_per_minute = 2).await;
    let room = app.room().await;
    for i in 0..2 {
        let r = join_from(&app, &room, &format!("203.0.113.{i}"), "x").await;
        assert_eq!(r.status, 200);
    }
    let r = join_from(&app, &room, "203.0.113.77", "x").await;
    assert_eq!(r.status, 429, "a client cannot pick its own address");
}

#[actix_rt::test]
async fn requests_are_limited_per_token() {
    let app = kit::spawn_app_with(|c| c.limits.token_per_second = 1).await;
    let room = app.room().await;
    let bob = room.attendee("Bob").await;
    let eve = room.attendee("Eve").await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(bob.get("/me").await.status.as_u16());
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(
        eve.get("/me").await.status,
        200,
        "each token has its own budget"
    );
}
