//! A video platform's caches on typed keys, in front of its database: user profiles and
//! preferences for an hour, video records and metadata for 30 minutes, trust scores for an
//! hour, search results for 15 minutes, the processing status of an upload, online users.
//!
//! It shows cache-aside reads (a user read from the database once, then from the cache),
//! write-through updates (the database and the cache written together), invalidation when a
//! user is deleted (the profile and the trust score go in one call, by tag), batch reads of
//! videos (one `MGET`, the misses loaded together), the cache warmed with popular videos at
//! start-up, several commands in one round trip, and the hit rate of the whole fleet kept in
//! Redis next to each process's own counts.
//!
//! `cargo run -p examples --example video_platform -- --redis redis://127.0.0.1:6379`

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use cache_core::codec::Text;
use cache_core::store::redis::RedisStore;
use cache_core::{Cache, CacheKey};
use serde::{Deserialize, Serialize};

use crate::{Narration, Outcome};

/// A user's profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// The user id.
    pub id: String,
    /// The display name.
    pub name: String,
    /// The sign language the user prefers.
    pub sign_language: String,
}

/// A video record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Video {
    /// The video id.
    pub id: String,
    /// The title.
    pub title: String,
}

/// What processing found out about a video.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoMetadata {
    /// Seconds.
    pub duration: u32,
    /// `1080p`, …
    pub resolution: String,
    /// `asl`, `bsl`, …
    pub sign_language: String,
    /// Whether captions exist.
    pub captions_available: bool,
}

/// Where the processing of an upload is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Processing {
    /// `queued`, `processing`, `done`.
    pub status: String,
    /// Percent.
    pub progress: u8,
}

/// A user's credibility score and badges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrustScore {
    /// 0 to 100.
    pub score: u32,
    /// Earned badges.
    pub badges: Vec<String>,
}

/// `user:<id>`, an hour: frequently read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "user:{0}", namespace = "user", ttl = "1h", value = User)]
pub struct UserKey(pub String);

/// `user:<id>:preferences`, an hour.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "user:{0}:preferences", namespace = "user_preferences", ttl = "1h", value = HashMap<String, String>)]
pub struct PreferencesKey(pub String);

/// `video:<id>`, 30 minutes: it can change.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "video:{0}", namespace = "video", ttl = "30m", value = Video)]
pub struct VideoKey(pub String);

/// `video:<id>:metadata`, 30 minutes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "video:{0}:metadata", namespace = "video_metadata", ttl = "30m", value = VideoMetadata)]
pub struct MetadataKey(pub String);

/// `video:<id>:processing`, an hour; read by the upload page while it polls.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "video:{0}:processing", namespace = "video_processing", ttl = "1h", value = Processing)]
pub struct ProcessingKey(pub String);

/// `video:<id>:views`, a counter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "video:{0}:views", namespace = "video_views", ttl = "30d", value = i64, codec = Text)]
pub struct ViewsKey(pub String);

/// `trust:<user>`, an hour: relatively stable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "trust:{0}", namespace = "trust", ttl = "1h", value = TrustScore)]
pub struct TrustKey(pub String);

/// `search:<query>`, 15 minutes: results go stale.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "search:{0}", namespace = "search", ttl = "15m", value = Vec<String>)]
pub struct SearchKey(pub String);

/// `users:online`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, CacheKey)]
#[cache(key = "users:online", namespace = "online", ttl = "1h", value = String, codec = Text)]
pub struct OnlineUsers;

/// The database the caches stand in front of, counting its queries.
#[derive(Debug, Default)]
pub struct Database {
    users: Mutex<HashMap<String, User>>,
    videos: Mutex<HashMap<String, Video>>,
    queries: AtomicU64,
}

impl Database {
    /// A database with two users and five videos.
    pub fn sample() -> Self {
        let db = Self::default();
        for (id, name) in [("u1", "Ada"), ("u2", "Ben")] {
            db.users.lock().unwrap().insert(
                id.into(),
                User {
                    id: id.into(),
                    name: name.into(),
                    sign_language: "asl".into(),
                },
            );
        }
        for n in 1..=5 {
            let id = format!("v{n}");
            db.videos.lock().unwrap().insert(
                id.clone(),
                Video {
                    id,
                    title: format!("Lesson {n}"),
                },
            );
        }
        db
    }

    /// How many queries ran.
    pub fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    fn user(&self, id: &str) -> Option<User> {
        self.queries.fetch_add(1, Ordering::Relaxed);
        self.users.lock().unwrap().get(id).cloned()
    }

    fn update_user(&self, user: User) -> User {
        self.queries.fetch_add(1, Ordering::Relaxed);
        self.users
            .lock()
            .unwrap()
            .insert(user.id.clone(), user.clone());
        user
    }

    fn delete_user(&self, id: &str) {
        self.queries.fetch_add(1, Ordering::Relaxed);
        self.users.lock().unwrap().remove(id);
    }

    /// One query for all of `ids`.
    fn videos(&self, ids: &[&str]) -> Vec<Video> {
        self.queries.fetch_add(1, Ordering::Relaxed);
        let videos = self.videos.lock().unwrap();
        ids.iter()
            .filter_map(|id| videos.get(*id).cloned())
            .collect()
    }

    fn popular_videos(&self, n: usize) -> Vec<Video> {
        self.queries.fetch_add(1, Ordering::Relaxed);
        let mut videos: Vec<Video> = self.videos.lock().unwrap().values().cloned().collect();
        videos.sort_by(|a, b| a.id.cmp(&b.id));
        videos.truncate(n);
        videos
    }
}

/// The tag that ties a user's entries together, for deletion.
fn user_tag(id: &str) -> String {
    format!("user:{id}")
}

/// Cache-aside: the cache, else the database (and then the cache). A user that does not exist
/// is not cached.
pub async fn get_user(cache: &Cache, db: &Database, id: &str) -> Option<User> {
    cache
        .optionally_get_with(&UserKey(id.into()), async { db.user(id) })
        .await
        .map(|user| (*user).clone())
}

/// Write-through: the database, then the cache, so the next read is fresh and a hit.
pub async fn update_user(cache: &Cache, db: &Database, user: User) -> User {
    let user = db.update_user(user);
    let tag = user_tag(&user.id);
    cache
        .insert_tagged(UserKey(user.id.clone()), user.clone(), &[&tag])
        .await;
    user
}

/// Deletes the user, then every cached entry tagged with them (profile and trust score).
pub async fn delete_user(cache: &Cache, db: &Database, id: &str) -> u64 {
    db.delete_user(id);
    cache.invalidate_tag(&user_tag(id)).await
}

/// The videos of `ids`, in order: one `MGET`, then one database query for the misses, which
/// are cached for the next reader.
pub async fn batch_get_videos(cache: &Cache, db: &Database, ids: &[&str]) -> Vec<Option<Video>> {
    let keys: Vec<VideoKey> = ids.iter().map(|id| VideoKey((*id).into())).collect();
    let cached = cache.get_many(&keys).await;
    let missing: Vec<&str> = ids
        .iter()
        .zip(&cached)
        .filter(|(_, hit)| hit.is_none())
        .map(|(id, _)| *id)
        .collect();
    let mut loaded: HashMap<String, Video> = HashMap::new();
    if !missing.is_empty() {
        let found = db.videos(&missing);
        cache
            .insert_many(
                found
                    .iter()
                    .map(|video| (VideoKey(video.id.clone()), video.clone()))
                    .collect(),
            )
            .await;
        loaded.extend(found.into_iter().map(|video| (video.id.clone(), video)));
    }
    ids.iter()
        .zip(cached)
        .map(|(id, hit)| {
            hit.map(|video| (*video).clone())
                .or_else(|| loaded.get(*id).cloned())
        })
        .collect()
}

/// Runs the platform's flows on the Redis at `url`.
///
/// # Errors
///
/// An unreachable Redis.
pub async fn run(url: &str, say: &mut Narration) -> Outcome {
    let redis = RedisStore::connect(url).await?;
    let cache = Cache::builder().far(redis).build()?;
    let db = Database::sample();

    // Warm the cache with the popular videos before taking traffic.
    let popular = db.popular_videos(3);
    let warmed = popular.len();
    cache
        .insert_many(
            popular
                .into_iter()
                .map(|video| (VideoKey(video.id.clone()), video))
                .collect(),
        )
        .await;
    say.say(format!("warmed {warmed} popular videos"));

    // Cache-aside: the first read queries, the second does not.
    let before = db.queries();
    let ada = get_user(&cache, &db, "u1").await.ok_or("u1 missing")?;
    get_user(&cache, &db, "u1").await;
    say.say(format!(
        "read {} twice with {} database query",
        ada.name,
        db.queries() - before
    ));
    let trust = TrustScore {
        score: 87,
        badges: vec!["verified-signer".into()],
    };
    cache
        .insert_tagged(TrustKey("u1".into()), trust, &[&user_tag("u1")])
        .await;
    let preferences = HashMap::from([("captions".to_owned(), "on".to_owned())]);
    cache.insert(PreferencesKey("u1".into()), preferences).await;

    // Write-through: the update is what the next reader sees, without a query.
    update_user(
        &cache,
        &db,
        User {
            name: "Ada L.".into(),
            ..ada
        },
    )
    .await;
    let before = db.queries();
    let fresh = get_user(&cache, &db, "u1").await.ok_or("u1 missing")?;
    say.say(format!(
        "after the update: {} ({} queries)",
        fresh.name,
        db.queries() - before
    ));

    // Batch read: three warmed videos are hits, the other two come in one query.
    let before = db.queries();
    let videos = batch_get_videos(&cache, &db, &["v1", "v2", "v3", "v4", "v5"]).await;
    let found = videos.iter().flatten().count();
    say.say(format!(
        "batch of 5 videos: {found} found with {} database query",
        db.queries() - before
    ));

    // Metadata and the processing status of an upload.
    cache
        .insert(
            MetadataKey("v1".into()),
            VideoMetadata {
                duration: 120,
                resolution: "1080p".into(),
                sign_language: "asl".into(),
                captions_available: true,
            },
        )
        .await;
    cache
        .insert(
            ProcessingKey("v6".into()),
            Processing {
                status: "processing".into(),
                progress: 45,
            },
        )
        .await;
    let processing = cache
        .get(&ProcessingKey("v6".into()))
        .await
        .ok_or("status missing")?;
    say.say(format!(
        "v6 is {} at {}%",
        processing.status, processing.progress
    ));

    // Several commands in one round trip: two reads and a view count.
    let mut pipe = cache.pipeline();
    let video = pipe.get(&VideoKey("v1".into()));
    let metadata = pipe.get(&MetadataKey("v1".into()));
    let views = pipe.increment(&ViewsKey("v1".into()), 1);
    let mut answers = pipe.run().await?;
    let (video, metadata, views) = (
        answers.take(video)?.ok_or("v1 missing")?,
        answers.take(metadata)?.ok_or("metadata missing")?,
        answers.take(views)?,
    );
    say.say(format!(
        "{}: {} s in {}, {views} view",
        video.title, metadata.duration, metadata.resolution
    ));

    // Online users.
    let online = cache.set_of(&OnlineUsers);
    online.add(&"u1".to_owned()).await?;
    online.add(&"u2".to_owned()).await?;
    say.say(format!("online: {}", online.len().await?));

    // Search results for 15 minutes.
    let results = cache
        .get_with(&SearchKey("asl basics".into()), async {
            vec!["v1".to_owned(), "v3".to_owned()]
        })
        .await;
    say.say(format!("search 'asl basics': {results:?}"));

    // Deleting a user removes their profile and trust score in one call.
    let removed = delete_user(&cache, &db, "u1").await;
    let gone = cache.get(&UserKey("u1".into())).await.is_none()
        && cache.get(&TrustKey("u1".into())).await.is_none();
    say.say(format!(
        "deleted u1: {removed} cached entries removed, both gone: {gone}"
    ));

    // The hit rate of every instance together, from counters in Redis.
    cache.publish_stats().await?;
    let fleet = cache.fleet_stats(&["user", "video"]).await?;
    for ns in ["user", "video"] {
        let stats = fleet.namespace(ns).ok_or("no stats")?;
        say.say(format!(
            "fleet {ns}: {} hits, {} misses",
            stats.hits, stats.misses
        ));
    }
    Ok(())
}
