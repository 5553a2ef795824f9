//! Derive and attribute macros for `cache-core`, re-exported by it behind its default `derive`
//! feature: use them as `cache_core::CacheKey`, `cache_core::cached`, `cache_core::cache_put`
//! and `cache_core::cache_evict`.
//!
//! # `#[derive(CacheKey)]`
//!
//! ```
//! use std::time::Duration;
//! use cache_core::CacheKey;
//! use cache_core::codec::{Fields, Json};
//! # #[derive(Clone, serde::Serialize, serde::Deserialize)]
//! # struct Session { user: u64 }
//! # #[derive(Clone, serde::Serialize, serde::Deserialize)]
//! # struct Verification { status: String }
//!
//! #[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
//! #[cache(namespace = "session", ttl = "24h", value = Session, codec = Json)]
//! struct SessionKey(String);
//!
//! #[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
//! #[cache(key = "{network}:{account}", value = Verification, codec = Fields, ttl = "1d")]
//! struct VerificationKey { network: String, account: String }   // a layout other services use
//!
//! assert_eq!(SessionKey("t0k".into()).render(), "session:v1:t0k");
//! assert_eq!(SessionKey::POLICY.time_to_live(), Some(Duration::from_secs(24 * 3600)));
//! let key = VerificationKey { network: "ig".into(), account: "a:b*".into() };
//! assert_eq!(key.render(), "ig:a%3Ab%2A"); // user input escaped: no separator, no glob
//! ```
//!
//! | option | meaning |
//! |---|---|
//! | `value = Type` | the cached value (required) |
//! | `ttl = "24h"` or `no_expiry` | how long entries live (one of them is required); units `ms`, `s`, `m`, `h`, `d` |
//! | `namespace = "session"` | the first segment and the stats name (default: the type's name in snake case) |
//! | `version = 2` | the format version in `namespace:v2:...` (default 1) |
//! | `codec = Json` | the value's codec (default `cache_core::codec::DefaultCodec`, postcard) |
//! | `jitter`, `refresh_after`, `negative_ttl` | durations, as [`Policy`](https://docs.rs/cache-core) says |
//! | `key = "{a}:{b}"` | a template instead of `namespace:vN:<fields>`; every field must appear |
//! | `tags = ["merchant:{id}", "offers"]` | tags every entry is written with, for `invalidate_tag`; fields escaped |
//!
//! Fields are rendered through `Display` and escaped. Every mistake is a compile error on the
//! token at fault, and all of them are reported at once.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod ctxt;
mod duration;
mod func;
mod key;
mod template;

use proc_macro::TokenStream;

/// Implements `cache_core::CacheKey` from `#[cache(...)]` options; see the crate docs.
#[proc_macro_derive(CacheKey, attributes(cache))]
pub fn derive_cache_key(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    key::derive(&input).into()
}

/// Cache-aside for an `async fn`: the body runs only when the typed key misses, concurrent
/// misses run it once (single-flight), and the result is cached under the key type's policy.
///
/// ```
/// use std::sync::LazyLock;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use cache_core::{Cache, CacheKey, cached};
/// # #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
/// # struct Merchant { name: String }
/// # #[derive(Debug, Clone)]
/// # struct DbError;
///
/// static CACHE: LazyLock<Cache> = LazyLock::new(|| Cache::new(10_000));
/// static QUERIES: AtomicUsize = AtomicUsize::new(0);
///
/// #[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
/// #[cache(namespace = "merchant", ttl = "1h", value = Merchant)]
/// struct MerchantKey(String);
///
/// #[cached(cache = CACHE, key = MerchantKey(slug.to_owned()))]
/// async fn merchant(slug: &str) -> Result<Merchant, DbError> {
///     QUERIES.fetch_add(1, Ordering::Relaxed); // the database query
///     Ok(Merchant { name: slug.to_uppercase() })
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// assert_eq!(merchant("acme").await.unwrap().name, "ACME");
/// assert_eq!(merchant("acme").await.unwrap().name, "ACME"); // a hit
/// assert_eq!(QUERIES.load(Ordering::Relaxed), 1);
/// # });
/// ```
///
/// The return type picks the behaviour: `T` (cached; returned as a clone of the shared value,
/// so `T: Clone`), `Arc<T>` (returned as it is), `Option<T>` (a `None` is cached only when
/// the key type has a `negative_ttl`), `Result<T, E>` (only `Ok` is cached; `E: Clone`, since
/// every waiter of a failed load receives the error). `self` is never part of the key unless
/// the key expression uses it.
#[proc_macro_attribute]
pub fn cached(args: TokenStream, item: TokenStream) -> TokenStream {
    func::attribute(func::Kind::Cached, args.into(), item.into()).into()
}

/// Write-through for an `async fn`: after the body returns, its value is written under the
/// typed key (for `Result`, only `Ok`; for `Option`, `None` removes the entry), so the next
/// read is a hit with the new data.
///
/// ```
/// use std::sync::LazyLock;
/// use cache_core::{Cache, CacheKey, cache_put};
/// # #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
/// # struct User { id: u64, name: String }
/// # #[derive(Debug, Clone)]
/// # struct DbError;
///
/// static CACHE: LazyLock<Cache> = LazyLock::new(|| Cache::new(10_000));
///
/// #[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
/// #[cache(namespace = "user", ttl = "10m", value = User)]
/// struct UserKey(u64);
///
/// #[cache_put(cache = CACHE, key = UserKey(user.id))]
/// async fn save_user(user: User) -> Result<User, DbError> {
///     Ok(user) // the database write
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// save_user(User { id: 7, name: "Ada".into() }).await.unwrap();
/// assert_eq!(CACHE.get(&UserKey(7)).await.unwrap().name, "Ada");
/// # });
/// ```
#[proc_macro_attribute]
pub fn cache_put(args: TokenStream, item: TokenStream) -> TokenStream {
    func::attribute(func::Kind::Put, args.into(), item.into()).into()
}

/// Invalidation around a mutation: after the body succeeds (for `Result`, on `Ok`; otherwise
/// always), removes a typed key, a tag and/or a whole key type's namespace; with
/// `before = true`, removes them before the body runs instead.
///
/// ```
/// use std::sync::LazyLock;
/// use cache_core::{Cache, CacheKey, cache_evict};
/// # #[derive(Debug)]
/// # struct DbError;
///
/// static CACHE: LazyLock<Cache> = LazyLock::new(|| Cache::new(10_000));
///
/// #[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
/// #[cache(namespace = "merchant", ttl = "1h", value = String)]
/// struct MerchantKey(String);
///
/// #[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
/// #[cache(namespace = "session", ttl = "24h", value = u64)]
/// struct SessionKey(String);
///
/// #[cache_evict(cache = CACHE, key = MerchantKey(slug.to_owned()), tag = "top-offers")]
/// async fn update_merchant(slug: &str, fail: bool) -> Result<(), DbError> {
///     if fail { Err(DbError) } else { Ok(()) } // the database update
/// }
///
/// #[cache_evict(cache = CACHE, namespace = SessionKey, before = true)]
/// async fn log_everyone_out() {}
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// CACHE.insert(MerchantKey("acme".into()), "old".to_owned()).await;
/// assert!(update_merchant("acme", true).await.is_err());
/// assert!(CACHE.get(&MerchantKey("acme".into())).await.is_some(), "kept when the update fails");
/// update_merchant("acme", false).await.unwrap();
/// assert!(CACHE.get(&MerchantKey("acme".into())).await.is_none());
///
/// CACHE.insert(SessionKey("t1".into()), 1).await;
/// log_everyone_out().await;
/// assert!(CACHE.get(&SessionKey("t1".into())).await.is_none());
/// # });
/// ```
#[proc_macro_attribute]
pub fn cache_evict(args: TokenStream, item: TokenStream) -> TokenStream {
    func::attribute(func::Kind::Evict, args.into(), item.into()).into()
}
