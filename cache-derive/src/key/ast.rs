//! Parsing a key type and its `#[cache(...)]` options as written, with the tokens to blame.

use syn::{Attribute, DeriveInput, Ident, LitInt, LitStr, Type};

use crate::ctxt::Ctxt;

/// A `#[derive(CacheKey)]` input.
pub(crate) struct Input<'a> {
    pub(crate) ident: &'a Ident,
    /// The first `#[cache]` attribute, to point at for options that are missing.
    pub(crate) cache_attr: Option<&'a Attribute>,
    /// The field names in order (`a`, `b`, or `0`, `1`); `None` when the input is not a struct.
    pub(crate) fields: Option<Vec<String>>,
    pub(crate) attrs: Attrs,
}

/// The options of `#[cache(...)]`, as written.
#[derive(Default)]
pub(crate) struct Attrs {
    pub(crate) namespace: Option<LitStr>,
    pub(crate) version: Option<LitInt>,
    pub(crate) ttl: Option<LitStr>,
    pub(crate) no_expiry: Option<syn::Path>,
    pub(crate) jitter: Option<LitStr>,
    pub(crate) refresh_after: Option<LitStr>,
    pub(crate) negative_ttl: Option<LitStr>,
    pub(crate) value: Option<Type>,
    pub(crate) codec: Option<Type>,
    pub(crate) key: Option<LitStr>,
    pub(crate) tags: Option<syn::ExprArray>,
}

const OPTIONS: &str = "namespace, version, ttl, no_expiry, jitter, refresh_after, negative_ttl, \
                       value, codec, key, tags";

impl<'a> Input<'a> {
    /// Reads `input`; what cannot be read is recorded in `cx`, and the rest is kept.
    pub(crate) fn from_ast(cx: &mut Ctxt, input: &'a DeriveInput) -> Self {
        let fields = match &input.data {
            syn::Data::Struct(data) => Some(
                data.fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        f.ident
                            .as_ref()
                            .map_or_else(|| i.to_string(), ToString::to_string)
                    })
                    .collect(),
            ),
            _ => {
                cx.error_spanned_by(&input.ident, "CacheKey can be derived for structs only");
                None
            }
        };
        if !input.generics.params.is_empty() {
            cx.error_spanned_by(
                &input.generics,
                "CacheKey cannot be derived for generic types; implement it by hand",
            );
        }
        Self {
            ident: &input.ident,
            cache_attr: input.attrs.iter().find(|a| a.path().is_ident("cache")),
            fields,
            attrs: Attrs::from_ast(cx, &input.attrs),
        }
    }
}

/// Sets `slot` once; a second `name = ...` is an error on the second.
fn once<T>(cx: &mut Ctxt, slot: &mut Option<T>, value: T, path: &syn::Path) {
    if slot.is_some() {
        let name = quote::ToTokens::to_token_stream(path);
        cx.error_spanned_by(path, format!("`{name}` is given twice"));
    } else {
        *slot = Some(value);
    }
}

impl Attrs {
    /// Reads every `#[cache(...)]` attribute; all mistakes are recorded, not just the first.
    fn from_ast(cx: &mut Ctxt, attrs: &[Attribute]) -> Self {
        let mut out = Self::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("cache")) {
            let result = attr.parse_nested_meta(|meta| {
                let path = meta.path.clone();
                let name = path
                    .get_ident()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                match name.as_str() {
                    "namespace" => once(cx, &mut out.namespace, meta.value()?.parse()?, &path),
                    "version" => once(cx, &mut out.version, meta.value()?.parse()?, &path),
                    "ttl" => once(cx, &mut out.ttl, meta.value()?.parse()?, &path),
                    "no_expiry" => once(cx, &mut out.no_expiry, path.clone(), &path),
                    "jitter" => once(cx, &mut out.jitter, meta.value()?.parse()?, &path),
                    "refresh_after" => {
                        once(cx, &mut out.refresh_after, meta.value()?.parse()?, &path);
                    }
                    "negative_ttl" => {
                        once(cx, &mut out.negative_ttl, meta.value()?.parse()?, &path);
                    }
                    "value" => once(cx, &mut out.value, meta.value()?.parse()?, &path),
                    "codec" => once(cx, &mut out.codec, meta.value()?.parse()?, &path),
                    "key" => once(cx, &mut out.key, meta.value()?.parse()?, &path),
                    "tags" => once(cx, &mut out.tags, meta.value()?.parse()?, &path),
                    _ => {
                        return Err(meta
                            .error(format!("unknown `cache` option: expected one of {OPTIONS}")));
                    }
                }
                Ok(())
            });
            if let Err(e) = result {
                cx.syn_error(e);
            }
        }
        out
    }
}
