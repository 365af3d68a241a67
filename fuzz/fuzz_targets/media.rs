#![no_main]

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(
    init: {
        // The server catches the panics str0m may raise on an offer; the
        // fuzzer's hook would abort on those too. Uncaught panics still
        // fail the run.
        let _ = std::panic::take_hook();
    },
    |data: &[u8]| common::media(data)
);
