//! The provided [`Store`] methods: batches, tags, hash-shaped values and prefix walks built from
//! the four a store implements (`get`, `set`, `delete`, `scan`).
//!
//! A tag is recorded as one marker key per tagged entry, `cache-core:tag:<tag>:<key>` (both
//! escaped like key segments, so neither can reach another tag or key), written with the
//! entry's TTL: the record of a tag lives exactly as long as its entries, and invalidating it is
//! a prefix walk over its markers. Deletes list their keys first and delete them page by page
//! after the walk, so a store's scan cursor need not survive deletes. None of this is atomic
//! across instances; stores that can do better (Redis) override these methods.

use std::time::Duration;

use super::{Store, StoreEntry, TagRemoval};
use crate::error::Error;
use crate::key::{KeyPrefix, escape_segment, unescape_segment};

/// Keys per page of the walks here.
const PAGE: usize = 1000;

/// Where the markers of `tag` start.
fn tag_prefix(tag: &str) -> String {
    format!("cache-core:tag:{}:", escape_segment(tag))
}

pub(super) async fn get_many<S: Store + ?Sized>(
    store: &S,
    keys: &[String],
) -> Result<Vec<Option<Vec<u8>>>, Error> {
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        out.push(store.get(key).await?);
    }
    Ok(out)
}

pub(super) async fn set_many<S: Store + ?Sized>(
    store: &S,
    entries: &[StoreEntry],
) -> Result<(), Error> {
    for entry in entries {
        store.set(&entry.key, &entry.value, entry.ttl).await?;
    }
    Ok(())
}

pub(super) async fn set_tagged<S: Store + ?Sized>(
    store: &S,
    key: &str,
    value: &[u8],
    ttl: Option<Duration>,
    tags: &[String],
) -> Result<(), Error> {
    // Markers first: a marker without its entry is harmless, an entry without its marker
    // would escape invalidation.
    for tag in tags {
        let marker = format!("{}{}", tag_prefix(tag), escape_segment(key));
        store.set(&marker, b"", ttl).await?;
    }
    store.set(key, value, ttl).await
}

pub(super) async fn invalidate_tag<S: Store + ?Sized>(
    store: &S,
    tag: &str,
) -> Result<TagRemoval, Error> {
    let prefix = KeyPrefix::raw(tag_prefix(tag), "(tags)");
    let markers = keys(store, &prefix).await?;
    let mut removed = 0;
    let mut named = Vec::new();
    for markers in markers.chunks(PAGE) {
        let entries: Vec<String> = markers
            .iter()
            .filter_map(|m| unescape_segment(&m[prefix.as_str().len()..]))
            .collect();
        removed += store.delete(&entries).await?;
        store.delete(markers).await?;
        named.extend(entries);
    }
    Ok(TagRemoval::new(removed, named))
}

pub(super) async fn set_hash<S: Store + ?Sized>(
    store: &S,
    key: &str,
    fields: &[(String, String)],
    ttl: Option<Duration>,
    tags: &[String],
) -> Result<(), Error> {
    if fields.is_empty() {
        // An empty hash is no hash, as in Redis.
        store.delete(&[key.to_owned()]).await?;
        return Ok(());
    }
    let bytes = {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.extend_pairs(fields);
        form.finish().into_bytes()
    };
    if tags.is_empty() {
        store.set(key, &bytes, ttl).await
    } else {
        store.set_tagged(key, &bytes, ttl, tags).await
    }
}

pub(super) async fn get_hash<S: Store + ?Sized>(
    store: &S,
    key: &str,
) -> Result<Option<Vec<(String, String)>>, Error> {
    Ok(store
        .get(key)
        .await?
        .map(|bytes| form_urlencoded::parse(&bytes).into_owned().collect()))
}

/// One page of the keys in `prefix` from `cursor`: the matching keys and the next cursor.
async fn page<S: Store + ?Sized>(
    store: &S,
    prefix: &KeyPrefix,
    cursor: u64,
) -> Result<(Vec<String>, u64), Error> {
    let page = store.scan(prefix, cursor, PAGE).await?;
    let keys = page
        .keys
        .into_iter()
        .filter(|k| prefix.matches(k))
        .collect();
    Ok((keys, page.cursor))
}

/// Lists first, then deletes page by page: a store's cursor need not survive deletes made
/// during its walk (an offset into a sorted list does not).
pub(super) async fn delete_prefix<S: Store + ?Sized>(
    store: &S,
    prefix: &KeyPrefix,
) -> Result<u64, Error> {
    let mut removed = 0;
    for batch in keys(store, prefix).await?.chunks(PAGE) {
        removed += store.delete(batch).await?;
    }
    Ok(removed)
}

pub(super) async fn keys<S: Store + ?Sized>(
    store: &S,
    prefix: &KeyPrefix,
) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    let mut cursor = 0;
    loop {
        let (mut keys, next) = page(store, prefix, cursor).await?;
        out.append(&mut keys);
        if next == 0 {
            out.sort_unstable();
            out.dedup();
            return Ok(out);
        }
        cursor = next;
    }
}
