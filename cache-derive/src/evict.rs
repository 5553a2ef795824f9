//! `#[cache_evict]`: invalidation of a key, a tag or a namespace around a mutation.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{ItemFn, ReturnType};

use crate::cached::{Args, Output, combine, missing_cache, not_async, output};

pub(crate) fn expand(args: Args, item: ItemFn) -> Result<TokenStream, syn::Error> {
    let mut errors: Vec<syn::Error> = not_async(&item, "cache_evict").into_iter().collect();
    let Some(cache) = &args.cache else {
        errors.push(missing_cache(&item, "cache_evict"));
        return Err(combine(errors));
    };
    if args.key.is_none() && args.tag.is_none() && args.namespace.is_none() {
        errors.push(syn::Error::new(
            item.sig.ident.span(),
            "#[cache_evict] needs what to evict: `key = <typed key>`, `tag = <&str>` or `namespace = KeyType`",
        ));
    }
    if !errors.is_empty() {
        return Err(combine(errors));
    }
    let mut evictions = Vec::new();
    if let Some(key) = &args.key {
        evictions.push(quote!(__cache.invalidate(&(#key)).await;));
    }
    if let Some(tag) = &args.tag {
        evictions.push(quote!(__cache.invalidate_tag(#tag).await;));
    }
    if let Some(namespace) = &args.namespace {
        evictions.push(quote! {
            if let ::core::result::Result::Ok(prefix) = ::cache_core::__private::KeyPrefix::namespace::<#namespace>() {
                let _ = __cache.invalidate_prefix(&prefix).await;
            }
        });
    }
    let before = args.before.as_ref().is_some_and(|b| b.value);
    let body = &item.block;
    let succeeded = match &item.sig.output {
        ReturnType::Type(_, ret) if matches!(output(ret), Output::Result(_)) => {
            quote!(__result.is_ok())
        }
        _ => quote!(true),
    };
    let ret = match &item.sig.output {
        ReturnType::Type(_, ret) => quote!(#ret),
        ReturnType::Default => quote!(()),
    };
    let (attrs, vis, sig) = (&item.attrs, &item.vis, &item.sig);
    let run = if before {
        quote! {
            #(#evictions)*
            async move #body.await
        }
    } else {
        quote! {
            let __result: #ret = async move #body.await;
            if #succeeded {
                #(#evictions)*
            }
            __result
        }
    };
    Ok(quote! {
        #(#attrs)*
        #vis #sig {
            let __cache = &#cache;
            #run
        }
    })
}
