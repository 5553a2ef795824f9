//! The checks the three function attributes share, and what the function returns.

use syn::{Expr, GenericArgument, ItemFn, PathArguments, ReturnType, Type};

use super::ast::{Args, Kind};
use crate::ctxt::Ctxt;

/// A function the attribute may rewrite.
pub(crate) struct Checked<'a> {
    pub(crate) kind: Kind,
    pub(crate) item: &'a ItemFn,
    pub(crate) cache: &'a Expr,
    pub(crate) key: Option<&'a Expr>,
    pub(crate) tag: Option<&'a Expr>,
    pub(crate) namespace: Option<&'a Type>,
    pub(crate) before: bool,
    /// The return type; `None` for `()` (only `#[cache_evict]` allows it).
    pub(crate) ret: Option<&'a Type>,
}

/// The shape of the function's output, which picks the `Cache` method.
pub(crate) enum Output<'a> {
    /// `-> Arc<T>`: kept and returned as it is.
    Arc,
    /// `-> T`: returned as a clone when the value is shared.
    Value,
    /// `-> Option<T>`.
    Option(&'a Type),
    /// `-> Result<T, E>`: only `Ok` is cached or written; errors never are.
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

/// What `ty` is, for the attribute's purpose.
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

/// Checks `item` and `args` for `kind`; every mistake is recorded in `cx`.
pub(crate) fn check<'a>(
    cx: &mut Ctxt,
    kind: Kind,
    args: &'a Args,
    item: &'a ItemFn,
) -> Option<Checked<'a>> {
    let name = kind.name();
    let at = item.sig.ident.span();
    if item.sig.asyncness.is_none() {
        cx.error_spanned_by(
            item.sig.fn_token,
            format!("#[{name}] works on `async fn` only: the cache is asynchronous"),
        );
    }
    if args.cache.is_none() {
        cx.error_at(
            at,
            format!("#[{name}] needs `cache = <expression of a Cache>`, such as `cache = CACHE`"),
        );
    }
    let ret = match &item.sig.output {
        ReturnType::Type(_, ret) => Some(&**ret),
        ReturnType::Default => None,
    };
    match kind {
        Kind::Cached | Kind::Put => {
            if args.key.is_none() {
                cx.error_at(
                    at,
                    format!(
                        "#[{name}] needs `key = <typed key expression>`, such as \
                         `key = MerchantKey(slug.to_owned())`"
                    ),
                );
            }
            if ret.is_none() {
                let what = if kind == Kind::Cached {
                    "the cached value"
                } else {
                    "the value to write"
                };
                cx.error_spanned_by(
                    &item.sig,
                    format!("#[{name}] needs a function that returns {what}"),
                );
            }
        }
        Kind::Evict => {
            if args.key.is_none() && args.tag.is_none() && args.namespace.is_none() {
                cx.error_at(
                    at,
                    "#[cache_evict] needs what to evict: `key = <typed key>`, `tag = <&str>` or \
                     `namespace = KeyType`",
                );
            }
        }
    }
    Some(Checked {
        kind,
        item,
        cache: args.cache.as_ref()?,
        key: args.key.as_ref(),
        tag: args.tag.as_ref(),
        namespace: args.namespace.as_ref(),
        before: args.before.as_ref().is_some_and(|b| b.value),
        ret,
    })
}
