//! Derive and attribute macros for `cache-core`, re-exported by it behind its default `derive`
//! feature: use them as `cache_core::CacheKey`, `cache_core::cached`, `cache_core::cache_put`
//! and `cache_core::cache_evict`.
//!
//! # `#[derive(CacheKey)]`
//!
//! ```ignore
//! #[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
//! #[cache(namespace = "session", ttl = "24h", value = Session, codec = Json)]
//! struct SessionKey(String);                       // session:v1:<token>
//!
//! #[derive(Clone, PartialEq, Eq, Hash, CacheKey)]
//! #[cache(key = "{network}:{account}", value = Verification, codec = Fields, ttl = "1d")]
//! struct VerificationKey { network: String, account: String }   // seed 000's layout
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

mod attr;
mod cached;
mod duration;
mod evict;
mod expand;
mod put;
mod template;

use proc_macro::TokenStream;

/// Implements `cache_core::CacheKey` from `#[cache(...)]` options; see the crate docs.
#[proc_macro_derive(CacheKey, attributes(cache))]
pub fn derive_cache_key(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Cache-aside for an `async fn`: the body runs only when the typed key misses, concurrent
/// misses run it once (single-flight), and the result is cached under the key type's policy.
///
/// ```ignore
/// #[cached(cache = CACHE, key = MerchantKey(slug.to_owned()))]
/// async fn merchant(slug: &str, db: &Db) -> Result<Merchant, DbError> { db.merchant(slug).await }
/// ```
///
/// The return type picks the behaviour: `T` (cached; returned as a clone of the shared value,
/// so `T: Clone`), `Arc<T>` (returned as it is), `Option<T>` (a `None` is cached only when
/// the key type has a `negative_ttl`), `Result<T, E>` (only `Ok` is cached; `E: Clone`, since
/// every waiter of a failed load receives the error). `self` is never part of the key unless
/// the key expression uses it.
#[proc_macro_attribute]
pub fn cached(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut parsed = cached::Args::new("cached", &["cache", "key"]);
    let parser = parsed.parser();
    syn::parse_macro_input!(args with parser);
    let item = syn::parse_macro_input!(item as syn::ItemFn);
    cached::expand(parsed, item)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Write-through for an `async fn`: after the body returns, its value is written under the
/// typed key (for `Result`, only `Ok`; for `Option`, `None` removes the entry), so the next
/// read is a hit with the new data.
///
/// ```ignore
/// #[cache_put(cache = CACHE, key = UserKey(user.id))]
/// async fn save_user(user: User, db: &Db) -> Result<User, DbError> { db.save(user).await }
/// ```
#[proc_macro_attribute]
pub fn cache_put(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut parsed = cached::Args::new("cache_put", &["cache", "key"]);
    let parser = parsed.parser();
    syn::parse_macro_input!(args with parser);
    let item = syn::parse_macro_input!(item as syn::ItemFn);
    put::expand(parsed, item)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Invalidation around a mutation: after the body succeeds (for `Result`, on `Ok`; otherwise
/// always), removes a typed key, a tag and/or a whole key type's namespace; with
/// `before = true`, removes them before the body runs instead.
///
/// ```ignore
/// #[cache_evict(cache = CACHE, key = MerchantKey(slug.to_owned()), tag = "top-offers")]
/// async fn update_merchant(slug: &str, update: Update, db: &Db) -> Result<(), DbError> { .. }
///
/// #[cache_evict(cache = CACHE, namespace = SessionKey, before = true)]
/// async fn log_everyone_out() { .. }
/// ```
#[proc_macro_attribute]
pub fn cache_evict(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut parsed = cached::Args::new(
        "cache_evict",
        &["cache", "key", "tag", "namespace", "before"],
    );
    let parser = parsed.parser();
    syn::parse_macro_input!(args with parser);
    let item = syn::parse_macro_input!(item as syn::ItemFn);
    evict::expand(parsed, item)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
