//! Writing the functions: one shared prologue (the cache, and the typed key checked where it
//! is written), then what each attribute does around the body.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::ast::Kind;
use super::valid::{Checked, Output, output};

/// `PhantomData` of `Arc<V>` for the function's value `V`, against which the key's value type
/// is checked.
fn phantom(ret: &syn::Type) -> TokenStream {
    match output(ret) {
        Output::Arc => quote!(::core::marker::PhantomData::<#ret>),
        Output::Value => quote!(::core::marker::PhantomData::<::cache_core::__private::Arc<#ret>>),
        Output::Option(inner) | Output::Result(inner) => {
            quote!(::core::marker::PhantomData::<::cache_core::__private::Arc<#inner>>)
        }
    }
}

/// The start every rewritten body shares: `__cache` bound to the cache; `__cache_key` bound to
/// the typed key, evaluated before the body runs, and checked where it is written: against the
/// function's value for `#[cached]` and `#[cache_put]`, as a `CacheKey` for `#[cache_evict]`;
/// `__cache_tag` to the tag.
fn prologue(f: &Checked<'_>) -> TokenStream {
    let cache = f.cache;
    let key = f.key.map(|key| {
        // Spanned at the key, so that a key of the wrong type is reported there.
        let check = match (f.kind, f.ret) {
            (Kind::Cached | Kind::Put, Some(ret)) => {
                let phantom = phantom(ret);
                let check = quote_spanned! {key.span()=>
                    ::cache_core::__private::assert_key_of(&__cache_key, &__cache_phantom);
                };
                quote! {
                    let __cache_phantom = #phantom;
                    #check
                }
            }
            _ => quote_spanned! {key.span()=>
                ::cache_core::__private::assert_key(&__cache_key);
            },
        };
        quote! {
            let __cache_key = #key;
            #check
        }
    });
    let tag = f.tag.map(|tag| {
        quote! {
            let __cache_tag: ::std::string::String = ::core::convert::Into::into(#tag);
        }
    });
    quote! {
        let __cache = &#cache;
        #key
        #tag
    }
}

/// The function with its body rewritten for the attribute.
pub(crate) fn expand(f: &Checked<'_>) -> TokenStream {
    let body = &f.item.block;
    let rest = match f.kind {
        Kind::Cached => cached(f, body),
        Kind::Put => put(f, body),
        Kind::Evict => evict(f, body),
    };
    let prologue = prologue(f);
    let (attrs, vis, sig) = (&f.item.attrs, &f.item.vis, &f.item.sig);
    quote! {
        #(#attrs)*
        #vis #sig {
            #prologue
            #rest
        }
    }
}

/// Cache-aside: the body runs only on a miss, once for concurrent misses.
fn cached(f: &Checked<'_>, body: &syn::Block) -> TokenStream {
    let Some(ret) = f.ret else {
        return TokenStream::new();
    };
    match output(ret) {
        Output::Arc => quote!(__cache.get_with_arc(&__cache_key, async move #body).await),
        Output::Value => quote! {
            ::cache_core::__private::unshare(__cache.get_with(&__cache_key, async move #body).await)
        },
        Output::Option(_) => quote! {
            __cache
                .optionally_get_with(&__cache_key, async move #body)
                .await
                .map(::cache_core::__private::unshare)
        },
        Output::Result(_) => quote! {
            __cache
                .try_get_with(&__cache_key, async move #body)
                .await
                .map(::cache_core::__private::unshare)
                .map_err(::cache_core::__private::unshare)
        },
    }
}

/// Write-through: the body's value written under the key.
fn put(f: &Checked<'_>, body: &syn::Block) -> TokenStream {
    let Some(ret) = f.ret else {
        return TokenStream::new();
    };
    let write = match output(ret) {
        Output::Arc => quote! {
            __cache.insert_arc(__cache_key, ::core::clone::Clone::clone(&__result)).await;
        },
        Output::Value => quote! {
            __cache.insert(__cache_key, ::core::clone::Clone::clone(&__result)).await;
        },
        // Writing "nothing" through means removing what was cached.
        Output::Option(_) => quote! {
            match &__result {
                ::core::option::Option::Some(value) => {
                    __cache.insert(__cache_key, ::core::clone::Clone::clone(value)).await
                }
                ::core::option::Option::None => __cache.invalidate(&__cache_key).await,
            }
        },
        Output::Result(_) => quote! {
            if let ::core::result::Result::Ok(value) = &__result {
                __cache.insert(__cache_key, ::core::clone::Clone::clone(value)).await;
            }
        },
    };
    quote! {
        let __result: #ret = async move #body.await;
        #write
        __result
    }
}

/// Invalidation after the body succeeds, or before it runs.
fn evict(f: &Checked<'_>, body: &syn::Block) -> TokenStream {
    let mut evictions = Vec::new();
    if f.key.is_some() {
        evictions.push(quote!(__cache.invalidate(&__cache_key).await;));
    }
    if f.tag.is_some() {
        evictions.push(quote!(__cache.invalidate_tag(&__cache_tag).await;));
    }
    if let Some(namespace) = f.namespace {
        evictions.push(quote! {
            if let ::core::result::Result::Ok(prefix) =
                ::cache_core::__private::KeyPrefix::namespace::<#namespace>()
            {
                let _ = __cache.invalidate_prefix(&prefix).await;
            }
        });
    }
    if f.before {
        return quote! {
            #(#evictions)*
            async move #body.await
        };
    }
    let (ret, succeeded) = match f.ret {
        Some(ret) if matches!(output(ret), Output::Result(_)) => {
            (quote!(#ret), quote!(__result.is_ok()))
        }
        Some(ret) => (quote!(#ret), quote!(true)),
        None => (quote!(()), quote!(true)),
    };
    quote! {
        let __result: #ret = async move #body.await;
        if #succeeded {
            #(#evictions)*
        }
        __result
    }
}
