//! Writing the `CacheKey` impl of a checked [`Key`], or the stand-in impl of a key type whose
//! options had mistakes.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::ast::Input;
use super::valid::{Key, Layout};
use crate::template::Piece;

/// `self.a`, or `self.0` for a tuple field.
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

fn duration(ms: u64) -> TokenStream {
    quote!(::cache_core::__private::Duration::from_millis(#ms))
}

/// The `CacheKey` impl.
pub(crate) fn expand(key: &Key<'_>) -> TokenStream {
    let Key {
        ident,
        value,
        namespace,
        ..
    } = key;
    let codec = key.codec.map_or_else(
        || quote!(::cache_core::__private::DefaultCodec),
        |c| quote!(#c),
    );
    let mut policy = quote!(::cache_core::__private::Policy::builder());
    let p = &key.policy;
    for (ms, setter) in [
        (p.ttl, "time_to_live"),
        (p.jitter, "jitter"),
        (p.refresh_after, "refresh_after"),
        (p.negative_ttl, "negative_time_to_live"),
    ] {
        if let Some(ms) = ms {
            let setter = format_ident!("{}", setter);
            let d = duration(ms);
            policy = quote!(#policy.#setter(#d));
        }
    }
    let (layout, writes) = match &key.layout {
        Layout::Namespaced { fields } => {
            let writes = fields.iter().map(|n| {
                let access = field_access(n);
                quote!(key.segment(&#access);)
            });
            (
                quote!(::cache_core::__private::KeyLayout::namespaced()),
                quote!(#(#writes)*),
            )
        }
        Layout::Template { prefix, rest } => {
            let writes = rest.iter().map(|piece| match piece {
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
    let key_param = if writes.is_empty() {
        quote!(_key)
    } else {
        quote!(key)
    };
    let version = key.version.map(|v| quote!(const VERSION: u32 = #v;));
    let tags = key.tags.as_ref().map(|tags| tags_fn(tags));
    quote! {
        #[automatically_derived]
        impl ::cache_core::__private::CacheKey for #ident {
            type Value = #value;
            type Codec = #codec;
            const NAMESPACE: &'static str = #namespace;
            #version
            const POLICY: ::cache_core::__private::Policy = #policy.build();
            const LAYOUT: ::cache_core::__private::KeyLayout = #layout;
            fn write_key(&self, #key_param: &mut ::cache_core::__private::KeyWriter<'_>) {
                #writes
            }
            #tags
        }
    }
}

/// `fn tags(&self)`: each tag's literals as written, its fields escaped like key segments.
fn tags_fn(tags: &[Vec<Piece>]) -> TokenStream {
    let tags = tags.iter().map(|pieces| {
        let writes = pieces.iter().map(|piece| match piece {
            Piece::Literal(text) => quote!(tag.literal(#text);),
            Piece::Field(field) => {
                let access = field_access(field);
                quote!(tag.value(&#access);)
            }
        });
        quote! {{
            let mut text = ::std::string::String::new();
            let mut tag = ::cache_core::__private::KeyWriter::new(&mut text);
            #(#writes)*
            text
        }}
    });
    quote! {
        fn tags(&self) -> ::std::vec::Vec<::std::string::String> {
            ::std::vec![#(#tags),*]
        }
    }
}

/// A stand-in impl for a key type whose options had mistakes, so that every use of the type
/// as a key does not add an error of its own: one mistake, one error. It never runs (the crate
/// does not compile), and its codec can encode nothing.
pub(crate) fn fallback(input: &Input<'_>, generic: bool) -> TokenStream {
    if generic {
        return TokenStream::new();
    }
    let ident = input.ident;
    let value = input
        .attrs
        .value
        .as_ref()
        .map_or_else(|| quote!(()), |v| quote!(#v));
    quote! {
        #[automatically_derived]
        impl ::cache_core::__private::CacheKey for #ident {
            type Value = #value;
            type Codec = ::cache_core::__private::Unusable;
            const NAMESPACE: &'static str = "";
            const POLICY: ::cache_core::__private::Policy =
                ::cache_core::__private::Policy::builder().build();
            fn write_key(&self, _: &mut ::cache_core::__private::KeyWriter<'_>) {}
        }
    }
}
