//! `#[derive(CacheKey)]`: validates the key type and its options, then writes the impl.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::{Data, DeriveInput, Fields, LitStr};

use crate::attr::{self, Attrs};
use crate::duration::parse_millis;
use crate::template::{self, Piece};

/// The impl, or every error found.
pub(crate) fn derive(input: &DeriveInput) -> Result<TokenStream, syn::Error> {
    let mut errors = Vec::new();
    let attrs = attr::parse(&input.attrs, &mut errors);
    let fields = match &input.data {
        Data::Struct(data) => Some(&data.fields),
        _ => {
            errors.push(syn::Error::new_spanned(
                &input.ident,
                "CacheKey can be derived for structs only",
            ));
            None
        }
    };
    if !input.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &input.generics,
            "CacheKey cannot be derived for generic types; implement it by hand",
        ));
    }
    let has_cache_attr = input.attrs.iter().any(|a| a.path().is_ident("cache"));
    let expanded =
        fields.and_then(|fields| expand(input, fields, &attrs, has_cache_attr, &mut errors));
    match (
        errors.into_iter().reduce(|mut a, b| {
            a.combine(b);
            a
        }),
        expanded,
    ) {
        (Some(e), _) => Err(e),
        (None, Some(tokens)) => Ok(tokens),
        (None, None) => Err(syn::Error::new(
            Span::call_site(),
            "CacheKey: nothing to expand",
        )),
    }
}

fn duration(lit: &LitStr, errors: &mut Vec<syn::Error>) -> Option<TokenStream> {
    match parse_millis(&lit.value()) {
        Ok(ms) => Some(quote!(::cache_core::__private::Duration::from_millis(#ms))),
        Err(message) => {
            errors.push(syn::Error::new_spanned(lit, message));
            None
        }
    }
}

/// The names of the fields, in order: `a`, `b` or `0`, `1`.
fn field_names(fields: &Fields) -> Vec<String> {
    fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            f.ident
                .as_ref()
                .map_or_else(|| i.to_string(), ToString::to_string)
        })
        .collect()
}

fn field_access(name: &str) -> TokenStream {
    match name.parse::<usize>() {
        Ok(index) => {
            let index = syn::Index::from(index);
            quote!(self.#index)
        }
        Err(_) => {
            let ident = format_ident!("{}", name);
            quote!(self.#ident)
        }
    }
}

/// `SessionKey` → `session_key`.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn expand(
    input: &DeriveInput,
    fields: &Fields,
    attrs: &Attrs,
    has_cache_attr: bool,
    errors: &mut Vec<syn::Error>,
) -> Option<TokenStream> {
    let name = &input.ident;
    let Some(value) = &attrs.value else {
        let message = "missing `value = Type`: say what the key caches, as in #[cache(value = Session, ttl = \"24h\")]";
        errors.push(if has_cache_attr {
            syn::Error::new_spanned(
                input.attrs.iter().find(|a| a.path().is_ident("cache")),
                message,
            )
        } else {
            syn::Error::new_spanned(name, message)
        });
        return None;
    };
    let codec = attrs.codec.as_ref().map_or_else(
        || quote!(::cache_core::__private::DefaultCodec),
        |c| quote!(#c),
    );

    let namespace = match &attrs.namespace {
        Some(lit) => {
            let text = lit.value();
            if text.is_empty()
                || text.contains(|c: char| {
                    matches!(c, ':' | '*' | '?' | '[' | ']' | '{' | '}' | '\\' | '%')
                        || c.is_whitespace()
                })
            {
                errors.push(syn::Error::new_spanned(
                    lit,
                    "a namespace is one plain word: no `:`, globs, braces, `%` or spaces",
                ));
            }
            text
        }
        None => snake_case(&name.to_string()),
    };

    let base = match (&attrs.ttl, &attrs.no_expiry) {
        (Some(ttl), None) => duration(ttl, errors)
            .map(|d| quote!(::cache_core::__private::Policy::builder().time_to_live(#d))),
        (None, Some(_)) => Some(quote!(::cache_core::__private::Policy::builder())),
        (Some(ttl), Some(_)) => {
            errors.push(syn::Error::new_spanned(
                ttl,
                "`ttl` and `no_expiry` contradict each other: keep one",
            ));
            None
        }
        (None, None) => {
            let at = input.attrs.iter().find(|a| a.path().is_ident("cache"));
            let message = "missing `ttl = \"...\"` (such as \"5m\", \"24h\"), or `no_expiry`";
            errors.push(match at {
                Some(at) => syn::Error::new_spanned(at, message),
                None => syn::Error::new_spanned(name, message),
            });
            None
        }
    };
    let mut policy = base?;
    for (lit, method) in [
        (&attrs.jitter, "jitter"),
        (&attrs.refresh_after, "refresh_after"),
        (&attrs.negative_ttl, "negative_ttl"),
    ] {
        if let Some(lit) = lit {
            if attrs.no_expiry.is_some() && method != "negative_ttl" {
                errors.push(syn::Error::new_spanned(
                    lit,
                    format!("`{method}` needs a `ttl`; the key type has `no_expiry`"),
                ));
                continue;
            }
            let method = match method {
                "negative_ttl" => format_ident!("negative_time_to_live"),
                other => format_ident!("{}", other),
            };
            if let Some(d) = duration(lit, errors) {
                policy = quote!(#policy.#method(#d));
            }
        }
    }
    let policy = quote!(#policy.build());
    if let (Some(ttl), Some(refresh)) = (&attrs.ttl, &attrs.refresh_after)
        && let (Ok(t), Ok(r)) = (parse_millis(&ttl.value()), parse_millis(&refresh.value()))
        && r >= t
    {
        errors.push(syn::Error::new_spanned(
            refresh,
            "`refresh_after` must be shorter than `ttl`, or entries expire before they refresh",
        ));
    }

    let names = field_names(fields);
    let (layout, body) = match &attrs.key {
        None => {
            let segments = names.iter().map(|n| {
                let access = field_access(n);
                quote!(key.segment(&#access);)
            });
            (
                quote!(::cache_core::__private::KeyLayout::namespaced()),
                quote!(#(#segments)*),
            )
        }
        Some(lit) => {
            if let Some(version) = &attrs.version {
                errors.push(syn::Error::new_spanned(
                    version,
                    "`version` has no effect with a key template: write it into the template",
                ));
            }
            let pieces = match template::parse(&lit.value()) {
                Ok(pieces) => pieces,
                Err(message) => {
                    errors.push(syn::Error::new_spanned(lit, message));
                    return None;
                }
            };
            let used: Vec<&String> = pieces
                .iter()
                .filter_map(|p| {
                    if let Piece::Field(f) = p {
                        Some(f)
                    } else {
                        None
                    }
                })
                .collect();
            for field in &used {
                if !names.contains(field) {
                    errors.push(syn::Error::new_spanned(
                        lit,
                        format!(
                            "the key template names `{field}`, which is not a field of `{name}`"
                        ),
                    ));
                }
            }
            for field in &names {
                if !used.contains(&field) {
                    errors.push(syn::Error::new_spanned(
                        lit,
                        format!("field `{field}` is not in the key template: keys that differ only in it would collide"),
                    ));
                }
            }
            let prefix = match pieces.first() {
                Some(Piece::Literal(text)) => text.clone(),
                _ => String::new(),
            };
            let writes =
                pieces
                    .iter()
                    .skip(usize::from(!prefix.is_empty()))
                    .map(|piece| match piece {
                        Piece::Literal(text) => quote!(key.literal(#text);),
                        Piece::Field(field) => {
                            let access = field_access(field);
                            quote!(key.value(&#access);)
                        }
                    });
            (
                quote!(::cache_core::__private::KeyLayout::template(#prefix)),
                quote!(#(#writes)*),
            )
        }
    };
    let tags = attrs
        .tags
        .as_ref()
        .map(|array| tags_fn(array, &names, name, errors));
    let version = attrs
        .version
        .as_ref()
        .map(|v| quote!(const VERSION: u32 = #v;));
    let key_param = if names.is_empty() {
        quote!(_key)
    } else {
        quote!(key)
    };
    let body = if names.is_empty() { quote!() } else { body };
    Some(quote! {
        #[automatically_derived]
        impl ::cache_core::__private::CacheKey for #name {
            type Value = #value;
            type Codec = #codec;
            const NAMESPACE: &'static str = #namespace;
            #version
            const POLICY: ::cache_core::__private::Policy = #policy;
            const LAYOUT: ::cache_core::__private::KeyLayout = #layout;
            fn write_key(&self, #key_param: &mut ::cache_core::__private::KeyWriter<'_>) {
                #body
            }
            #tags
        }
    })
}

/// `fn tags(&self)` from `tags = ["merchant:{id}", "merchants"]`: literals as written, fields
/// escaped like key segments.
fn tags_fn(
    array: &syn::ExprArray,
    names: &[String],
    name: &syn::Ident,
    errors: &mut Vec<syn::Error>,
) -> TokenStream {
    let mut tags = Vec::new();
    for element in &array.elems {
        let syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(lit),
            ..
        }) = element
        else {
            errors.push(syn::Error::new_spanned(
                element,
                "a tag is a string literal, such as \"merchant:{id}\"",
            ));
            continue;
        };
        let text = lit.value();
        let pieces = if text.contains('{') {
            match template::parse(&text) {
                Ok(pieces) => pieces,
                Err(message) => {
                    errors.push(syn::Error::new_spanned(lit, message));
                    continue;
                }
            }
        } else {
            vec![Piece::Literal(text)]
        };
        let writes = pieces.iter().map(|piece| match piece {
            Piece::Literal(text) => quote!(tag.literal(#text);),
            Piece::Field(field) => {
                if !names.contains(field) {
                    errors.push(syn::Error::new_spanned(
                        lit,
                        format!("the tag names `{field}`, which is not a field of `{name}`"),
                    ));
                }
                let access = field_access(field);
                quote!(tag.value(&#access);)
            }
        });
        tags.push(quote! {{
            let mut text = ::std::string::String::new();
            let mut tag = ::cache_core::__private::KeyWriter::new(&mut text);
            #(#writes)*
            text
        }});
    }
    quote! {
        fn tags(&self) -> ::std::vec::Vec<::std::string::String> {
            ::std::vec![#(#tags),*]
        }
    }
}
