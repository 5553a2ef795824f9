//! [`RedisStore`](super::RedisStore) as a [`Store`]: plain commands, `MGET`, pipelines, and Lua
//! where several keys must change in one atomic step (on a cluster, where they share a slot).

use std::time::Duration;

use super::{RedisStore, millis, tag_index};
use crate::key::KeyPrefix;
use crate::store::{Coordination, ScanPage, Store, StoreEntry, StoreFuture, TagRemoval};

impl RedisStore {
    /// Records `key`, just written with `ttl`, in the tag `indexes`, where they do not share
    /// its slot (one script per index, all sent at once). Written before it is recorded, an
    /// entry is never in Redis unrecorded for long: if recording fails, the entry is removed
    /// again, so that a tag invalidation cannot miss it.
    async fn record_in_tags(
        &self,
        key: &str,
        ttl: Option<Duration>,
        indexes: &[String],
    ) -> Result<(), crate::Error> {
        let recorded = futures_util::future::try_join_all(indexes.iter().map(|index| {
            let mut invocation = self.inner.index_key.key(index);
            invocation.arg(key).arg(ttl.map_or(0, millis));
            async move { self.invoke::<i64>(invocation).await }
        }))
        .await;
        match recorded {
            Ok(_) => Ok(()),
            Err(e) => {
                if let Err(undo) = Store::delete(self, &[key.to_owned()]).await {
                    tracing::warn!(key, error = %undo, "an entry whose tags could not be recorded could not be removed either; it lives until its TTL");
                }
                Err(e)
            }
        }
    }
}

impl Store for RedisStore {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move { self.query(redis::cmd("GET").arg(key)).await })
    }

    fn scan<'a>(
        &'a self,
        prefix: &'a KeyPrefix,
        cursor: u64,
        count: usize,
    ) -> StoreFuture<'a, ScanPage> {
        Box::pin(async move {
            let pattern = format!("{}*", crate::key::glob_escape(prefix.as_str()));
            let (next, keys) = self.scan_step(&pattern, cursor, count).await?;
            Ok(ScanPage::new(keys, next))
        })
    }

    fn coordination(&self) -> Option<&dyn Coordination> {
        Some(self)
    }

    fn structures(&self) -> Option<&dyn crate::store::Structures> {
        Some(self)
    }

    fn invalidations(&self) -> Option<&dyn crate::store::Invalidations> {
        Some(self)
    }

    fn get_many<'a>(&'a self, keys: &'a [String]) -> StoreFuture<'a, Vec<Option<Vec<u8>>>> {
        Box::pin(async move {
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            self.query(redis::cmd("MGET").arg(keys)).await
        })
    }

    fn set<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Option<Duration>,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut cmd = redis::cmd("SET");
            cmd.arg(key).arg(value);
            if let Some(ttl) = ttl {
                cmd.arg("PX").arg(millis(ttl));
            }
            self.query(&cmd).await
        })
    }

    fn set_many<'a>(&'a self, entries: &'a [StoreEntry]) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            if entries.is_empty() {
                return Ok(());
            }
            let keys: Vec<&str> = entries.iter().map(|entry| entry.key.as_str()).collect();
            self.pipelined(&keys, |group| {
                let mut pipe = redis::pipe();
                for entry in group.iter().map(|&i| &entries[i]) {
                    let cmd = pipe.cmd("SET").arg(&entry.key).arg(&entry.value);
                    if let Some(ttl) = entry.ttl {
                        cmd.arg("PX").arg(millis(ttl));
                    }
                }
                pipe
            })
            .await
            .map(drop)
        })
    }

    fn set_tagged<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Option<Duration>,
        tags: &'a [String],
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let indexes: Vec<String> = tags.iter().map(|tag| tag_index(tag)).collect();
            if !self.in_one_slot(std::iter::once(key).chain(indexes.iter().map(String::as_str))) {
                self.set(key, value, ttl).await?;
                return self.record_in_tags(key, ttl, &indexes).await;
            }
            let mut invocation = self.inner.set_tagged.key(key);
            for index in &indexes {
                invocation.key(index);
            }
            invocation.arg(value).arg(ttl.map_or(0, millis));
            let _: i64 = self.invoke(invocation).await?;
            Ok(())
        })
    }

    fn set_hash<'a>(
        &'a self,
        key: &'a str,
        fields: &'a [(String, String)],
        ttl: Option<Duration>,
        tags: &'a [String],
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let indexes: Vec<String> = tags.iter().map(|tag| tag_index(tag)).collect();
            let atomic =
                self.in_one_slot(std::iter::once(key).chain(indexes.iter().map(String::as_str)));
            if !indexes.is_empty() && atomic {
                let mut invocation = self.inner.set_hash_tagged.key(key);
                for index in &indexes {
                    invocation.key(index);
                }
                invocation.arg(ttl.map_or(0, millis));
                for (field, value) in fields {
                    invocation.arg(field).arg(value);
                }
                let _: i64 = self.invoke(invocation).await?;
                return Ok(());
            }
            let mut pipe = redis::pipe();
            pipe.atomic().cmd("DEL").arg(key).ignore();
            if !fields.is_empty() {
                pipe.cmd("HSET").arg(key).arg(fields).ignore();
                if let Some(ttl) = ttl {
                    pipe.cmd("PEXPIRE").arg(key).arg(millis(ttl)).ignore();
                }
            }
            self.query_pipe::<()>(&pipe).await?;
            if indexes.is_empty() || fields.is_empty() {
                return Ok(());
            }
            self.record_in_tags(key, ttl, &indexes).await
        })
    }

    fn get_hash<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Vec<(String, String)>>> {
        Box::pin(async move {
            let fields: Vec<(String, String)> = self.query(redis::cmd("HGETALL").arg(key)).await?;
            Ok((!fields.is_empty()).then_some(fields))
        })
    }

    fn invalidate_tag<'a>(&'a self, tag: &'a str) -> StoreFuture<'a, TagRemoval> {
        Box::pin(async move {
            // Page by page, so that no command holds the server for a large tag; each page is
            // removed from the index once its keys are gone. Members written during the walk
            // may stay, as they would had they come just after it: the walk covers what the
            // index held when it started, then stops.
            let index = tag_index(tag);
            let page = self.inner.options.scan_batch;
            let held: u64 = self.invoke(self.inner.prune_tag.key(&index)).await?;
            let mut removed = 0;
            let mut named = Vec::new();
            for _ in 0..held.div_ceil(page as u64).max(1) {
                let members: Vec<String> = self
                    .query(redis::cmd("ZRANGE").arg(&index).arg(0).arg(page - 1))
                    .await?;
                if members.is_empty() {
                    break;
                }
                let gone: u64 = self.query(redis::cmd("UNLINK").arg(&members)).await?;
                removed += gone;
                let _: u64 = self
                    .query(redis::cmd("ZREM").arg(&index).arg(&members))
                    .await?;
                named.extend(members);
            }
            Ok(TagRemoval::new(removed, named))
        })
    }

    fn delete<'a>(&'a self, keys: &'a [String]) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            if keys.is_empty() {
                return Ok(0);
            }
            self.query(redis::cmd("UNLINK").arg(keys)).await
        })
    }

    fn delete_prefix<'a>(&'a self, prefix: &'a KeyPrefix) -> StoreFuture<'a, u64> {
        Box::pin(async move { Ok(self.scan_prefix(prefix, true).await?.0) })
    }

    fn keys<'a>(&'a self, prefix: &'a KeyPrefix) -> StoreFuture<'a, Vec<String>> {
        Box::pin(async move { Ok(self.scan_prefix(prefix, false).await?.1) })
    }

    fn bounds_calls(&self) -> bool {
        true
    }
}
