//! A store of the user's own that implements only the four required methods (with a `scan` that
//! pages through its keys) gets every far-tier behaviour of the cache: batches, tags,
//! hash-shaped values, prefix invalidation with exclusions, key listing; and counters are
//! refused rather than counted per instance.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use cache_core::codec::{Fields, Json};
use cache_core::store::{ScanPage, Store, StoreFuture};
use cache_core::{Cache, CacheKey, ErrorKind, KeyPrefix};
use serde::{Deserialize, Serialize};

/// Keys in order; `scan` hands out pages of two, the cursor being the index to start at.
#[derive(Debug, Default)]
struct PagedStore(Mutex<BTreeMap<String, Vec<u8>>>);

impl Store for PagedStore {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move { Ok(self.0.lock().unwrap().get(key).cloned()) })
    }
    fn set<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        _: Option<Duration>,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .lock()
                .unwrap()
                .insert(key.to_owned(), value.to_vec());
            Ok(())
        })
    }
    fn delete<'a>(&'a self, keys: &'a [String]) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let mut map = self.0.lock().unwrap();
            Ok(keys
                .iter()
                .filter(|k| map.remove(k.as_str()).is_some())
                .count() as u64)
        })
    }
    fn scan<'a>(
        &'a self,
        prefix: &'a KeyPrefix,
        cursor: u64,
        _: usize,
    ) -> StoreFuture<'a, ScanPage> {
        Box::pin(async move {
            let map = self.0.lock().unwrap();
            let matching: Vec<String> = map
                .keys()
                .filter(|k| k.starts_with(prefix.as_str()))
                .cloned()
                .collect();
            let start = cursor as usize;
            let page: Vec<String> = matching.iter().skip(start).take(2).cloned().collect();
            let next = if start + 2 >= matching.len() {
                0
            } else {
                (start + 2) as u64
            };
            Ok(ScanPage::new(page, next))
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(namespace = "note", ttl = "1h", value = String, codec = Json, tags = ["notes:{0}"])]
struct NoteKey(u32);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct State {
    status: String,
    attempts: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "state:{0}", ttl = "1h", value = State, codec = Fields)]
struct StateKey(String);

#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(namespace = "hits", ttl = "1m", value = i64, codec = cache_core::codec::Text)]
struct Hits;

fn far_only(store: PagedStore) -> Cache {
    Cache::builder().far(store).near(false).build().unwrap()
}

#[tokio::test]
async fn four_methods_give_the_whole_far_tier() {
    let cache = far_only(PagedStore::default());
    for id in 0..5 {
        cache.insert(NoteKey(id), format!("note {id}")).await;
    }
    let read = cache.get_many(&[NoteKey(0), NoteKey(9), NoteKey(4)]).await;
    let read: Vec<Option<&str>> = read
        .iter()
        .map(|v| v.as_deref().map(String::as_str))
        .collect();
    assert_eq!(read, [Some("note 0"), None, Some("note 4")]);
    cache
        .insert_many(vec![
            (NoteKey(5), "five".into()),
            (NoteKey(6), "six".into()),
        ])
        .await;

    // Tags: one marker per tagged entry, removed with it.
    assert_eq!(cache.invalidate_tag("notes:3").await, 1);
    assert!(cache.get(&NoteKey(3)).await.is_none());
    assert!(cache.get(&NoteKey(2)).await.is_some());

    // Prefixes, paged two keys at a time, with an exclusion.
    let all = KeyPrefix::namespace::<NoteKey>().unwrap();
    let listed = cache.keys(&all).await.unwrap();
    assert_eq!(listed.len(), 6, "{listed:?}");
    let removed = cache
        .invalidate_prefix(&all.clone().exclude(&NoteKey(0)))
        .await
        .unwrap();
    assert_eq!(removed, 5);
    assert_eq!(cache.keys(&all).await.unwrap(), ["note:v1:0"]);

    // Hash-shaped values round-trip through the provided encoding.
    let state = State {
        status: "Pending".into(),
        attempts: 2,
    };
    cache
        .insert(StateKey("polkadot".into()), state.clone())
        .await;
    assert_eq!(
        cache.get(&StateKey("polkadot".into())).await.as_deref(),
        Some(&state)
    );

    // Counters cannot be built from the four methods: refused, not counted per instance.
    let refused = cache.increment(&Hits, 1).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Unsupported);
    assert!(refused.to_string().contains("Coordination"), "{refused}");
}

#[tokio::test]
async fn tag_markers_live_and_die_with_their_entries() {
    let cache = far_only(PagedStore::default());
    cache.insert(NoteKey(1), "one".into()).await;
    cache.invalidate(&NoteKey(1)).await;
    // The marker outlives a key-only invalidation, and a later tag invalidation finds no entry
    // behind it, removes the marker, and counts nothing.
    assert_eq!(cache.invalidate_tag("notes:1").await, 0);
    let probe = far_only(PagedStore::default());
    probe.insert(NoteKey(7), "seven".into()).await;
    assert_eq!(probe.invalidate_tag("notes:7").await, 1);
    assert_eq!(
        probe.invalidate_tag("notes:7").await,
        0,
        "the marker went with it"
    );
}
