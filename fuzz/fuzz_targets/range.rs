#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cache_tower::fuzzing::range(data));
