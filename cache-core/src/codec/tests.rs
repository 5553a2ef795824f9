use proptest::prelude::*;
use serde::{Deserialize, Serialize};

use super::*;

/// A typical cached record: five fields of common types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Merchant {
    id: u64,
    name: String,
    slug: String,
    cashback: f64,
    tags: Vec<String>,
}

fn merchant() -> impl Strategy<Value = Merchant> {
    (
        any::<u64>(),
        ".*",
        "[a-z-]{0,20}",
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
        prop::collection::vec(".*", 0..4),
    )
        .prop_map(|(id, name, slug, cashback, tags)| Merchant {
            id,
            name,
            slug,
            cashback,
            tags,
        })
}

/// A flat record, as stored in a Redis hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Flat {
    name: String,
    attempts: u32,
    verified: bool,
    note: Option<String>,
}

fn flat() -> impl Strategy<Value = Flat> {
    (
        ".*",
        any::<u32>(),
        any::<bool>(),
        proptest::option::of(".+"),
    )
        .prop_map(|(name, attempts, verified, note)| Flat {
            name,
            attempts,
            verified,
            note,
        })
}

fn round_trip<C: Codec<Merchant>>(m: &Merchant) -> Merchant {
    C::decode(&C::encode(m).unwrap()).unwrap()
}

proptest! {
    #[test]
    fn every_codec_round_trips(m in merchant()) {
        prop_assert_eq!(&round_trip::<Postcard>(&m), &m);
        prop_assert_eq!(&round_trip::<Json>(&m), &m);
        #[cfg(feature = "bincode")]
        prop_assert_eq!(&round_trip::<Bincode>(&m), &m);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = <Postcard as Codec<Merchant>>::decode(&bytes);
        let _ = <Json as Codec<Merchant>>::decode(&bytes);
        let _ = <Text as Codec<u64>>::decode(&bytes);
        let _ = <Text as Codec<String>>::decode(&bytes);
        prop_assert_eq!(<Raw as Codec<Vec<u8>>>::decode(&bytes).unwrap(), bytes.clone());
        #[cfg(feature = "bincode")]
        let _ = <Bincode as Codec<Merchant>>::decode(&bytes);
        let _ = <Fields as Codec<Flat>>::decode(&bytes);
    }

    #[test]
    fn random_hash_fields_never_panic(fields in prop::collection::vec((".{0,12}", ".{0,12}"), 0..8)) {
        let _ = <Fields as Codec<Flat>>::decode_fields(&fields);
        // A codec that is not hash-shaped refuses fields with an error, never a panic.
        prop_assert!(<Json as Codec<Flat>>::decode_fields(&fields).is_err());
    }

    #[test]
    fn fields_round_trip(f in flat()) {
        let fields = <Fields as Codec<Flat>>::encode_fields(&f).unwrap();
        prop_assert_eq!(<Fields as Codec<Flat>>::decode_fields(&fields).unwrap(), f.clone());
        prop_assert_eq!(<Fields as Codec<Flat>>::decode(&<Fields as Codec<Flat>>::encode(&f).unwrap()).unwrap(), f);
    }

    #[test]
    fn truncated_encodings_are_errors(m in merchant(), cut in 1usize..8) {
        let bytes = <Postcard as Codec<Merchant>>::encode(&m).unwrap();
        let short = &bytes[..bytes.len().saturating_sub(cut)];
        prop_assert!(<Postcard as Codec<Merchant>>::decode(short).is_err());
        let json = <Json as Codec<Merchant>>::encode(&m).unwrap();
        prop_assert!(<Json as Codec<Merchant>>::decode(&json[..json.len() - 1]).is_err());
    }
}

#[test]
fn trailing_bytes_are_refused() {
    let mut bytes = <Postcard as Codec<u32>>::encode(&7).unwrap();
    bytes.push(0);
    let err = <Postcard as Codec<u32>>::decode(&bytes).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Codec);
    assert_eq!(err.to_string(), "postcard codec could not decode the value");
}

#[test]
fn text_reads_what_python_writes() {
    assert_eq!(<Text as Codec<u32>>::decode(b"482913").unwrap(), 482_913);
    assert_eq!(<Text as Codec<u32>>::encode(&5).unwrap(), b"5");
    assert!(<Text as Codec<u32>>::decode(b"five").is_err());
    assert!(<Text as Codec<String>>::decode(&[0xff, 0xfe]).is_err());
}

#[test]
fn json_matches_python_dumps() {
    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Session {
        user_id: u64,
        email: String,
        role: String,
    }
    // json.dumps(..., separators=(",", ":")) output; the default Python spacing also decodes.
    let python = br#"{"user_id": 7, "email": "a@b.c", "role": "admin"}"#;
    let s: Session = <Json as Codec<Session>>::decode(python).unwrap();
    assert_eq!(
        s,
        Session {
            user_id: 7,
            email: "a@b.c".into(),
            role: "admin".into()
        }
    );
    assert_eq!(
        <Json as Codec<Session>>::encode(&s).unwrap(),
        br#"{"user_id":7,"email":"a@b.c","role":"admin"}"#
    );
}
