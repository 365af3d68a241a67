//! The integration tests: one binary, a module per area, one kit
//! (tests/kit) that every module shares. One binary links once, and any
//! part of the kit no test uses is reported as dead code.
//!
//! `cargo test --test api live::` runs one area.

#[path = "../kit/mod.rs"]
mod kit;

mod churn;
mod cluster;
mod cors;
mod database;
mod export;
mod fuzz_corpus;
mod health;
mod hostile_text;
mod idle_connections;
mod interop_webrtc;
mod join;
mod live;
mod media_core;
mod media_http;
mod media_reach;
mod metrics;
mod nginx;
mod openapi;
mod polls;
mod privacy;
mod rate_limits;
mod reactions;
mod recordings;
mod rooms;
mod shutdown;
mod site;
mod stage;
mod stats;
