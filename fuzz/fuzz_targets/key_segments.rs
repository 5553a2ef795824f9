#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cache_core::fuzzing::key_segments(data));
