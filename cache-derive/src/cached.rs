//! `#[cached]`: cache-aside for an async function through a typed key.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, GenericArgument, ItemFn, PathArguments, ReturnType, Type};

/// The options of the function attributes (`cached`, `cache_put`, `cache_evict`); each
/// accepts a subset, named by `allowed`.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) cache: Option<Expr>,
    pub(crate) key: Option<Expr>,
    pub(crate) tag: Option<Expr>,
    pub(crate) namespace: Option<syn::Type>,
    pub(crate) before: Option<syn::LitBool>,
    pub(crate) allowed: &'static [&'static str],
    pub(crate) macro_name: &'static str,
}

impl Args {
    pub(crate) fn new(macro_name: &'static str, allowed: &'static [&'static str]) -> Self {
        Self {
            allowed,
            macro_name,
            ..Self::default()
        }
    }

    pub(crate) fn parser(&mut self) -> impl syn::parse::Parser<Output = ()> + '_ {
        syn::meta::parser(move |meta| {
            let name = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            if !self.allowed.contains(&name.as_str()) {
                return Err(meta.error(format!(
                    "unknown `{}` option: expected {}",
                    self.macro_name,
                    self.allowed
                        .iter()
                        .map(|a| format!("`{a}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            let twice = || meta.error(format!("`{name}` is given twice"));
            match name.as_str() {
                "cache" if self.cache.is_some() => return Err(twice()),
                "cache" => self.cache = Some(meta.value()?.parse()?),
                "key" if self.key.is_some() => return Err(twice()),
                "key" => self.key = Some(meta.value()?.parse()?),
                "tag" if self.tag.is_some() => return Err(twice()),
                "tag" => self.tag = Some(meta.value()?.parse()?),
                "namespace" if self.namespace.is_some() => return Err(twice()),
                "namespace" => self.namespace = Some(meta.value()?.parse()?),
                "before" if self.before.is_some() => return Err(twice()),
                "before" => self.before = Some(meta.value()?.parse()?),
                _ => return Err(meta.error("unexpected option")),
            }
            Ok(())
        })
    }
}

/// The shape of the function's output, which picks the `Cache` method.
pub(crate) enum Output<'a> {
    /// `-> Arc<T>`: `get_with_arc`, returned as it is.
    Arc,
    /// `-> T`: `get_with`, returned as a clone when the value is shared.
    Value,
    /// `-> Option<T>`: `optionally_get_with` (a `None` is kept only with the key type's
    /// `negative_ttl`).
    Option(&'a Type),
    /// `-> Result<T, E>`: `try_get_with` (errors are never cached).
    Result(&'a Type),
}

fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last(),
        _ => None,
    }
}

fn first_type_argument(segment: &syn::PathSegment) -> Option<&Type> {
    match &segment.arguments {
        PathArguments::AngleBracketed(args) => args.args.iter().find_map(|a| match a {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        }),
        _ => None,
    }
}

pub(crate) fn output(ty: &Type) -> Output<'_> {
    let Some(segment) = last_segment(ty) else {
        return Output::Value;
    };
    match (
        segment.ident.to_string().as_str(),
        first_type_argument(segment),
    ) {
        ("Arc", Some(_)) => Output::Arc,
        ("Option", Some(inner)) => Output::Option(inner),
        ("Result", Some(inner)) => Output::Result(inner),
        _ => Output::Value,
    }
}

pub(crate) fn expand(args: Args, item: ItemFn) -> Result<TokenStream, syn::Error> {
    let mut errors: Vec<syn::Error> = Vec::new();
    if item.sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            item.sig.fn_token,
            "#[cached] works on `async fn` only: the cache is asynchronous",
        ));
    }
    if args.cache.is_none() {
        errors.push(syn::Error::new(
            item.sig.ident.span(),
            "#[cached] needs `cache = <expression of a Cache>`, such as `cache = CACHE`",
        ));
    }
    if args.key.is_none() {
        errors.push(syn::Error::new(item.sig.ident.span(), "#[cached] needs `key = <typed key expression>`, such as `key = MerchantKey(slug.to_owned())`"));
    }
    let ReturnType::Type(_, ret) = &item.sig.output else {
        errors.push(syn::Error::new_spanned(
            &item.sig,
            "#[cached] needs a function that returns the cached value",
        ));
        return Err(combine(errors));
    };
    if !errors.is_empty() {
        return Err(combine(errors));
    }
    let (Some(cache), Some(key)) = (args.cache, args.key) else {
        return Err(combine(errors));
    };
    let body = &item.block;
    let (phantom, call) = match output(ret) {
        Output::Arc => (
            quote!(::core::marker::PhantomData::<#ret>),
            quote!(__cache.get_with_arc(&__cache_key, async move #body).await),
        ),
        Output::Value => (
            quote!(::core::marker::PhantomData::<::cache_core::__private::Arc<#ret>>),
            quote!(::cache_core::__private::unshare(__cache.get_with(&__cache_key, async move #body).await)),
        ),
        Output::Option(inner) => (
            quote!(::core::marker::PhantomData::<::cache_core::__private::Arc<#inner>>),
            quote!(__cache.optionally_get_with(&__cache_key, async move #body).await.map(::cache_core::__private::unshare)),
        ),
        Output::Result(inner) => (
            quote!(::core::marker::PhantomData::<::cache_core::__private::Arc<#inner>>),
            quote! {
                __cache
                    .try_get_with(&__cache_key, async move #body)
                    .await
                    .map(::cache_core::__private::unshare)
                    .map_err(::cache_core::__private::unshare)
            },
        ),
    };
    Ok(with_key(&item, &phantom, &key, &cache, call))
}

/// The function `item` with a body that binds the typed key (checked, where it is written,
/// against the value the function returns) and the cache, then runs `rest`.
pub(crate) fn with_key(
    item: &ItemFn,
    phantom: &TokenStream,
    key: &Expr,
    cache: &Expr,
    rest: TokenStream,
) -> TokenStream {
    // Spanned at the key, so that a key of the wrong type is reported there.
    let key_check = quote_spanned! {key.span()=>
        let __cache_key = #key;
        ::cache_core::__private::assert_key_of(&__cache_key, &__cache_phantom);
    };
    let (attrs, vis, sig) = (&item.attrs, &item.vis, &item.sig);
    quote! {
        #(#attrs)*
        #vis #sig {
            let __cache_phantom = #phantom;
            #key_check
            let __cache = &#cache;
            #rest
        }
    }
}

pub(crate) fn not_async(item: &ItemFn, name: &str) -> Option<syn::Error> {
    item.sig.asyncness.is_none().then(|| {
        syn::Error::new_spanned(
            item.sig.fn_token,
            format!("#[{name}] works on `async fn` only: the cache is asynchronous"),
        )
    })
}

pub(crate) fn missing_cache(item: &ItemFn, name: &str) -> syn::Error {
    syn::Error::new(
        item.sig.ident.span(),
        format!("#[{name}] needs `cache = <expression of a Cache>`, such as `cache = CACHE`"),
    )
}

pub(crate) fn combine(errors: Vec<syn::Error>) -> syn::Error {
    let mut iter = errors.into_iter();
    let mut first = iter.next().unwrap_or_else(|| {
        syn::Error::new(proc_macro2::Span::call_site(), "#[cached]: invalid use")
    });
    for e in iter {
        first.combine(e);
    }
    first
}
