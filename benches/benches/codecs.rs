//! Encode + decode time and encoded size of a typical five-field record, for choosing the
//! default codec: postcard, bincode 2 (serde), bincode 1, MessagePack (rmp-serde) and JSON.
//!
//! `cargo bench -p benches --bench codecs`

use std::hint::black_box;
use std::time::Duration;

use benches::Record;
use criterion::{Criterion, criterion_group, criterion_main};

fn record() -> Record {
    Record {
        user_id: 184_467,
        email: "priya.sharma@example.com".into(),
        role: "merchant_admin".into(),
        cashback: 7.25,
        login_at: 1_764_072_000,
    }
}

type RoundTrip = fn(&Record) -> (Record, usize);

fn postcard(r: &Record) -> (Record, usize) {
    let bytes = postcard::to_stdvec(r).unwrap();
    (postcard::from_bytes(&bytes).unwrap(), bytes.len())
}

fn bincode2(r: &Record) -> (Record, usize) {
    let config = bincode::config::standard();
    let bytes = bincode::serde::encode_to_vec(r, config).unwrap();
    (
        bincode::serde::decode_from_slice(&bytes, config).unwrap().0,
        bytes.len(),
    )
}

fn bincode1(r: &Record) -> (Record, usize) {
    let bytes = bincode1::serialize(r).unwrap();
    (bincode1::deserialize(&bytes).unwrap(), bytes.len())
}

fn msgpack(r: &Record) -> (Record, usize) {
    let bytes = rmp_serde::to_vec(r).unwrap();
    (rmp_serde::from_slice(&bytes).unwrap(), bytes.len())
}

fn json(r: &Record) -> (Record, usize) {
    let bytes = serde_json::to_vec(r).unwrap();
    (serde_json::from_slice(&bytes).unwrap(), bytes.len())
}

fn codecs(c: &mut Criterion) {
    let r = record();
    let candidates: [(&str, RoundTrip); 5] = [
        ("postcard", postcard),
        ("bincode2", bincode2),
        ("bincode1", bincode1),
        ("rmp_serde", msgpack),
        ("json", json),
    ];
    for (name, f) in candidates {
        let (back, size) = f(&r);
        assert_eq!(back, r);
        println!("encoded size {name}: {size} bytes");
    }
    let mut group = c.benchmark_group("codec_round_trip");
    for (name, f) in candidates {
        group.bench_function(name, |b| b.iter(|| black_box(f(black_box(&r)))));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = codecs
}
criterion_main!(benches);
