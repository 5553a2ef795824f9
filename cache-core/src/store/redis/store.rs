//! [`RedisStore`](super::RedisStore) as a [`Store`]: plain commands, `MGET`, pipelines, and Lua
//! where several keys must change in one atomic step.

use std::time::Duration;

use super::{RedisStore, millis, tag_index};
use crate::key::KeyPrefix;
use crate::store::{Coordination, ScanPage, Store, StoreEntry, StoreFuture, TagRemoval};

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
            let mut cmd = redis::cmd("SCAN");
            cmd.arg(cursor)
                .arg("MATCH")
                .arg(format!("{}*", crate::key::glob_escape(prefix.as_str())))
                .arg("COUNT")
                .arg(count);
            let (next, keys): (u64, Vec<String>) = self.query(&cmd).await?;
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
            let mut pipe = redis::pipe();
            for entry in entries {
                let cmd = pipe.cmd("SET").arg(&entry.key).arg(&entry.value);
                if let Some(ttl) = entry.ttl {
                    cmd.arg("PX").arg(millis(ttl));
                }
                cmd.ignore();
            }
            self.query_pipe(&pipe).await
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
            let mut invocation = self.inner.set_tagged.key(key);
            for tag in tags {
                invocation.key(tag_index(tag));
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
            if !tags.is_empty() {
                let mut invocation = self.inner.set_hash_tagged.key(key);
                for tag in tags {
                    invocation.key(tag_index(tag));
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
            self.query_pipe(&pipe).await
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
