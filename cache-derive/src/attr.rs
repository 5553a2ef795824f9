//! Parsing `#[cache(...)]` on a key type: what was written, with the tokens to blame.

use syn::{Attribute, LitInt, LitStr, Type};

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

/// Sets `slot` once; a second `name = ...` is an error on the second.
fn once<T>(slot: &mut Option<T>, value: T, path: &syn::Path, errors: &mut Vec<syn::Error>) {
    if slot.is_some() {
        errors.push(syn::Error::new_spanned(
            path,
            format!(
                "`{}` is given twice",
                quote::ToTokens::to_token_stream(path)
            ),
        ));
    } else {
        *slot = Some(value);
    }
}

/// Reads every `#[cache(...)]` attribute; all mistakes are collected, not just the first.
pub(crate) fn parse(attrs: &[Attribute], errors: &mut Vec<syn::Error>) -> Attrs {
    let mut out = Attrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("cache")) {
        let result = attr.parse_nested_meta(|meta| {
            let path = meta.path.clone();
            let name = path.get_ident().map(ToString::to_string).unwrap_or_default();
            match name.as_str() {
                "namespace" => once(&mut out.namespace, meta.value()?.parse()?, &path, errors),
                "version" => once(&mut out.version, meta.value()?.parse()?, &path, errors),
                "ttl" => once(&mut out.ttl, meta.value()?.parse()?, &path, errors),
                "no_expiry" => once(&mut out.no_expiry, path.clone(), &path, errors),
                "jitter" => once(&mut out.jitter, meta.value()?.parse()?, &path, errors),
                "refresh_after" => once(&mut out.refresh_after, meta.value()?.parse()?, &path, errors),
                "negative_ttl" => once(&mut out.negative_ttl, meta.value()?.parse()?, &path, errors),
                "value" => once(&mut out.value, meta.value()?.parse()?, &path, errors),
                "codec" => once(&mut out.codec, meta.value()?.parse()?, &path, errors),
                "key" => once(&mut out.key, meta.value()?.parse()?, &path, errors),
                "tags" => once(&mut out.tags, meta.value()?.parse()?, &path, errors),
                _ => {
                    return Err(meta.error(
                        "unknown `cache` option: expected one of namespace, version, ttl, no_expiry, \
                         jitter, refresh_after, negative_ttl, value, codec, key, tags",
                    ));
                }
            }
            Ok(())
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    out
}
