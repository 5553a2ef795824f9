use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::codec::{Json, Text};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Single(String);

impl CacheKey for Single {
    type Value = String;
    type Codec = Json;
    const NAMESPACE: &'static str = "ns";
    const POLICY: Policy = Policy::builder()
        .time_to_live(Duration::from_secs(1))
        .build();
    fn write_key(&self, key: &mut KeyWriter<'_>) {
        key.segment_str(&self.0);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Pair(String, u64);

impl CacheKey for Pair {
    type Value = String;
    type Codec = Json;
    const NAMESPACE: &'static str = "ns";
    const VERSION: u32 = 3;
    const POLICY: Policy = Policy::builder()
        .time_to_live(Duration::from_secs(1))
        .build();
    fn write_key(&self, key: &mut KeyWriter<'_>) {
        key.segment(&self.0).segment(self.1);
    }
}

/// A namespace with characters that must be escaped, and a two-digit version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct OddNamespace(u64);

impl CacheKey for OddNamespace {
    type Value = String;
    type Codec = Json;
    const NAMESPACE: &'static str = "odd:ns*";
    const VERSION: u32 = 12;
    const POLICY: Policy = Policy::builder()
        .time_to_live(Duration::from_secs(1))
        .build();
    fn write_key(&self, key: &mut KeyWriter<'_>) {
        key.segment(self.0);
    }
}

/// A verification state shared with a Python service: `{network}:{account}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Verification {
    network: String,
    account: String,
}

impl CacheKey for Verification {
    type Value = String;
    type Codec = Json;
    const NAMESPACE: &'static str = "verification";
    const POLICY: Policy = Policy::builder().build();
    const LAYOUT: KeyLayout = KeyLayout::template("");
    fn write_key(&self, key: &mut KeyWriter<'_>) {
        key.segment_str(&self.network).segment_str(&self.account);
    }
}

/// Its per-media state: `{network}:{account}:{media}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct MediaState {
    network: String,
    account: String,
    media: String,
}

impl CacheKey for MediaState {
    type Value = String;
    type Codec = Json;
    const NAMESPACE: &'static str = "media_state";
    const POLICY: Policy = Policy::builder().build();
    const LAYOUT: KeyLayout = KeyLayout::template("");
    fn write_key(&self, key: &mut KeyWriter<'_>) {
        key.segment_str(&self.network)
            .segment_str(&self.account)
            .segment_str(&self.media);
    }
}

/// `otp:attempts:<mobile>`, the layout a Python service writes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct OtpAttempts(String);

impl CacheKey for OtpAttempts {
    type Value = u32;
    type Codec = Text;
    const NAMESPACE: &'static str = "otp_attempts";
    const POLICY: Policy = Policy::builder()
        .time_to_live(Duration::from_secs(3600))
        .build();
    const LAYOUT: KeyLayout = KeyLayout::template("otp:attempts:");
    fn write_key(&self, key: &mut KeyWriter<'_>) {
        key.segment_str(&self.0);
    }
}

/// A unit key: the whole namespace is one entry (`offers:top:10` style).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TopOffers;

impl CacheKey for TopOffers {
    type Value = Vec<u64>;
    type Codec = Json;
    const NAMESPACE: &'static str = "top_offers";
    const POLICY: Policy = Policy::builder()
        .time_to_live(Duration::from_secs(600))
        .build();
    fn write_key(&self, _: &mut KeyWriter<'_>) {}
}

#[test]
fn renders_the_documented_layouts() {
    assert_eq!(Single("abc".into()).render(), "ns:v1:abc");
    assert_eq!(Pair("a".into(), 7).render(), "ns:v3:a:7");
    assert_eq!(TopOffers.render(), "top_offers:v1");
    assert_eq!(OddNamespace(40).render(), "odd%3Ans%2A:v12:40");
    let v = Verification {
        network: "polkadot".into(),
        account: "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY".into(),
    };
    assert_eq!(
        v.render(),
        "polkadot:5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
    );
    let m = MediaState {
        network: "polkadot".into(),
        account: "5Grw".into(),
        media: "discord".into(),
    };
    assert_eq!(m.render(), "polkadot:5Grw:discord");
    assert_eq!(
        OtpAttempts("+919876543210".into()).render(),
        "otp:attempts:+919876543210"
    );
}

#[test]
fn a_segment_cannot_reach_another_key() {
    // Without escaping, this account would name the discord state of account `x`.
    let sneaky = Verification {
        network: "polkadot".into(),
        account: "x:discord".into(),
    };
    let media = MediaState {
        network: "polkadot".into(),
        account: "x".into(),
        media: "discord".into(),
    };
    assert_ne!(sneaky.render(), media.render());
    assert_eq!(sneaky.render(), "polkadot:x%3Adiscord");
}

#[test]
fn prefixes_follow_segment_boundaries() {
    let p = KeyPrefix::of::<Pair>().segment("user");
    assert_eq!(p.as_str(), "ns:v3:user");
    assert!(p.matches("ns:v3:user:1"));
    assert!(p.matches("ns:v3:user"));
    assert!(!p.matches("ns:v3:username:1"));
    assert_eq!(p.exact(), Some("ns:v3:user"));
    assert_eq!(p.scan_pattern(), "ns:v3:user:*");
    let partial = KeyPrefix::of::<Pair>().partial("user");
    assert!(partial.matches("ns:v3:username:1"));
    assert_eq!(partial.exact(), None);
    assert_eq!(partial.scan_pattern(), "ns:v3:user*");
    let ns = KeyPrefix::namespace::<TopOffers>().unwrap();
    assert!(ns.matches(&TopOffers.render()));
    let otp = KeyPrefix::namespace::<OtpAttempts>().unwrap();
    assert_eq!(otp.as_str(), "otp:attempts:");
    assert!(otp.matches(&OtpAttempts("1".into()).render()));
    assert_eq!(otp.clone().segment("1").as_str(), "otp:attempts:1");
    assert!(KeyPrefix::namespace::<Verification>().is_err());
    let polkadot = KeyPrefix::of::<MediaState>().segment("polkadot");
    assert_eq!(polkadot.as_str(), "polkadot");
    assert!(polkadot.matches("polkadot:a:b"));
}

#[test]
fn exclusions_are_honoured() {
    let keep = Single("admin".into());
    let p = KeyPrefix::namespace::<Single>().unwrap().exclude(&keep);
    assert!(!p.matches(&keep.render()));
    assert!(p.matches(&Single("user".into()).render()));
}

#[test]
fn glob_characters_in_prefix_segments_are_escaped() {
    let p = KeyPrefix::of::<Single>().segment("*");
    assert_eq!(p.as_str(), "ns:v1:%2A");
    assert!(!p.matches("ns:v1:anything"));
    assert_eq!(p.scan_pattern(), "ns:v1:%2A:*");
}

/// The characters no user input may put into a key unescaped.
fn special(c: char) -> bool {
    matches!(c, '*' | '?' | '[' | ']' | '\\' | '{' | '}')
}

proptest! {
    #[test]
    fn distinct_keys_render_distinctly(a in ".*", b in ".*", n in any::<u64>(), m in any::<u64>()) {
        if a != b {
            prop_assert_ne!(Single(a.clone()).render(), Single(b.clone()).render());
        }
        if (&a, n) != (&b, m) {
            prop_assert_ne!(Pair(a.clone(), n).render(), Pair(b.clone(), m).render());
        }
        // Different key types of one namespace never collide either.
        prop_assert_ne!(Single(a.clone()).render().replace(":v1:", ":v3:"), Pair(b.clone(), m).render());
    }

    #[test]
    fn template_keys_render_distinctly(n1 in ".*", a1 in ".*", m1 in ".*", n2 in ".*", a2 in ".*") {
        let v1 = Verification { network: n1.clone(), account: a1.clone() };
        let v2 = Verification { network: n2, account: a2 };
        if v1 != v2 {
            prop_assert_ne!(v1.render(), v2.render());
        }
        let media = MediaState { network: n1, account: a1, media: m1 };
        prop_assert_ne!(v1.render(), media.render());
    }

    #[test]
    fn user_input_adds_no_separator_or_glob(a in ".*", n in any::<u64>()) {
        let text = Pair(a.clone(), n).render();
        let user_part = &text["ns:v3:".len()..];
        prop_assert_eq!(user_part.matches(':').count(), 1);
        prop_assert!(!user_part.chars().any(special), "{:?}", text);
        let prefix = KeyPrefix::of::<Pair>().segment(&a);
        let pattern = prefix.scan_pattern();
        // The only glob in the pattern is the trailing `*` the prefix asked for.
        let body = pattern.strip_suffix('*').unwrap_or(&pattern);
        prop_assert!(!body.chars().any(special), "{:?}", pattern);
    }

    #[test]
    fn a_prefix_matches_exactly_the_keys_under_it(a in "[a-c:]{0,3}", b in "[a-c:]{0,3}", n in 0u64..3) {
        let prefix = KeyPrefix::of::<Pair>().segment(&a);
        prop_assert_eq!(prefix.matches(&Pair(b.clone(), n).render()), a == b);
    }
}
