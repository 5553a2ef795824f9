//! `#[cache_put]`: write-through, the function's successful result written under a typed key.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{ItemFn, ReturnType};

use crate::cached::{Args, Output, combine, missing_cache, not_async, output, with_key};

pub(crate) fn expand(args: Args, item: ItemFn) -> Result<TokenStream, syn::Error> {
    let mut errors: Vec<syn::Error> = not_async(&item, "cache_put").into_iter().collect();
    if args.cache.is_none() {
        errors.push(missing_cache(&item, "cache_put"));
    }
    if args.key.is_none() {
        errors.push(syn::Error::new(
            item.sig.ident.span(),
            "#[cache_put] needs `key = <typed key expression>`",
        ));
    }
    let ReturnType::Type(_, ret) = &item.sig.output else {
        errors.push(syn::Error::new_spanned(
            &item.sig,
            "#[cache_put] needs a function that returns the value to write",
        ));
        return Err(combine(errors));
    };
    let (Some(cache), Some(key)) = (args.cache, args.key) else {
        return Err(combine(errors));
    };
    if !errors.is_empty() {
        return Err(combine(errors));
    }
    let body = &item.block;
    let (phantom, write) = match output(ret) {
        Output::Arc => (
            quote!(::core::marker::PhantomData::<#ret>),
            quote! { __cache.insert_arc(__cache_key, ::core::clone::Clone::clone(&__result)).await; },
        ),
        Output::Value => (
            quote!(::core::marker::PhantomData::<::cache_core::__private::Arc<#ret>>),
            quote! { __cache.insert(__cache_key, ::core::clone::Clone::clone(&__result)).await; },
        ),
        Output::Option(inner) => (
            quote!(::core::marker::PhantomData::<::cache_core::__private::Arc<#inner>>),
            // Writing "nothing" through means removing what was cached.
            quote! {
                match &__result {
                    ::core::option::Option::Some(value) => __cache.insert(__cache_key, ::core::clone::Clone::clone(value)).await,
                    ::core::option::Option::None => __cache.invalidate(&__cache_key).await,
                }
            },
        ),
        Output::Result(inner) => (
            quote!(::core::marker::PhantomData::<::cache_core::__private::Arc<#inner>>),
            quote! {
                if let ::core::result::Result::Ok(value) = &__result {
                    __cache.insert(__cache_key, ::core::clone::Clone::clone(value)).await;
                }
            },
        ),
    };
    let rest = quote! {
        let __result: #ret = async move #body.await;
        #write
        __result
    };
    Ok(with_key(&item, &phantom, &key, &cache, rest))
}
