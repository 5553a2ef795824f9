//! Validating a parsed key type into the [`Key`] to expand: every rule checked, every mistake
//! recorded on the token at fault.

use syn::{Ident, LitInt, LitStr, Type};

use super::ast::{Attrs, Input};
use crate::ctxt::Ctxt;
use crate::duration::parse_millis;
use crate::template::{self, Piece};

/// A key type that passed every check.
pub(crate) struct Key<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) value: &'a Type,
    pub(crate) codec: Option<&'a Type>,
    pub(crate) namespace: String,
    pub(crate) version: Option<&'a LitInt>,
    pub(crate) policy: Policy,
    pub(crate) layout: Layout,
    /// Each tag's pieces: literals as written, fields escaped.
    pub(crate) tags: Option<Vec<Vec<Piece>>>,
}

/// The key type's policy, in milliseconds.
pub(crate) struct Policy {
    /// `None`: `no_expiry`.
    pub(crate) ttl: Option<u64>,
    pub(crate) jitter: Option<u64>,
    pub(crate) refresh_after: Option<u64>,
    pub(crate) negative_ttl: Option<u64>,
}

/// How rendered keys are laid out.
pub(crate) enum Layout {
    /// `namespace:vN:` then each field, in order, as a segment.
    Namespaced { fields: Vec<String> },
    /// A template: the fixed text every key starts with, then the rest of the pieces.
    Template { prefix: String, rest: Vec<Piece> },
}

/// The checked key type, or `None` when a check failed (the reason is in `cx`).
pub(crate) fn check<'a>(cx: &mut Ctxt, input: &'a Input<'a>) -> Option<Key<'a>> {
    let attrs = &input.attrs;
    let value = match &attrs.value {
        Some(value) => Some(value),
        None => {
            let message = "missing `value = Type`: say what the key caches, as in \
                           #[cache(value = Session, ttl = \"24h\")]";
            match input.cache_attr {
                Some(attr) => cx.error_spanned_by(attr, message),
                None => cx.error_spanned_by(input.ident, message),
            }
            None
        }
    };
    let namespace = namespace(cx, attrs.namespace.as_ref(), input.ident);
    let policy = policy(cx, attrs, input);
    let layout = input
        .fields
        .as_ref()
        .and_then(|fields| layout(cx, attrs, fields, input.ident));
    let tags = match (&attrs.tags, &input.fields) {
        (Some(array), Some(fields)) => Some(tags(cx, array, fields, input.ident)),
        _ => None,
    };
    Some(Key {
        ident: input.ident,
        value: value?,
        codec: attrs.codec.as_ref(),
        namespace,
        version: attrs.version.as_ref(),
        policy: policy?,
        layout: layout?,
        tags,
    })
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

fn namespace(cx: &mut Ctxt, lit: Option<&LitStr>, ident: &Ident) -> String {
    let Some(lit) = lit else {
        return snake_case(&ident.to_string());
    };
    let text = lit.value();
    let plain = !text.is_empty()
        && !text.contains(|c: char| {
            matches!(c, ':' | '*' | '?' | '[' | ']' | '{' | '}' | '\\' | '%') || c.is_whitespace()
        });
    if !plain {
        cx.error_spanned_by(
            lit,
            "a namespace is one plain word: no `:`, globs, braces, `%` or spaces",
        );
    }
    text
}

fn millis(cx: &mut Ctxt, lit: &LitStr) -> Option<u64> {
    parse_millis(&lit.value())
        .inspect_err(|message| cx.error_spanned_by(lit, message))
        .ok()
}

fn policy(cx: &mut Ctxt, attrs: &Attrs, input: &Input<'_>) -> Option<Policy> {
    let ttl = match (&attrs.ttl, &attrs.no_expiry) {
        (Some(ttl), None) => Some(Some(millis(cx, ttl)?)),
        (None, Some(_)) => Some(None),
        (Some(ttl), Some(_)) => {
            cx.error_spanned_by(ttl, "`ttl` and `no_expiry` contradict each other: keep one");
            None
        }
        (None, None) => {
            let message = "missing `ttl = \"...\"` (such as \"5m\", \"24h\"), or `no_expiry`";
            match input.cache_attr {
                Some(attr) => cx.error_spanned_by(attr, message),
                None => cx.error_spanned_by(input.ident, message),
            }
            None
        }
    };
    let mut ok = ttl.is_some();
    let mut duration = |lit: &Option<LitStr>, name: &str, needs_ttl: bool| -> Option<u64> {
        let lit = lit.as_ref()?;
        if needs_ttl && attrs.no_expiry.is_some() {
            cx.error_spanned_by(
                lit,
                format!("`{name}` needs a `ttl`; the key type has `no_expiry`"),
            );
            ok = false;
            return None;
        }
        let ms = millis(cx, lit);
        ok &= ms.is_some();
        ms
    };
    let jitter = duration(&attrs.jitter, "jitter", true);
    let refresh_after = duration(&attrs.refresh_after, "refresh_after", true);
    let negative_ttl = duration(&attrs.negative_ttl, "negative_ttl", false);
    if let (Some(Some(t)), Some(r), Some(lit)) = (ttl, refresh_after, &attrs.refresh_after)
        && r >= t
    {
        cx.error_spanned_by(
            lit,
            "`refresh_after` must be shorter than `ttl`, or entries expire before they refresh",
        );
        ok = false;
    }
    ok.then(|| Policy {
        ttl: ttl.flatten(),
        jitter,
        refresh_after,
        negative_ttl,
    })
}

fn layout(cx: &mut Ctxt, attrs: &Attrs, fields: &[String], ident: &Ident) -> Option<Layout> {
    let Some(lit) = &attrs.key else {
        return Some(Layout::Namespaced {
            fields: fields.to_vec(),
        });
    };
    if let Some(version) = &attrs.version {
        cx.error_spanned_by(
            version,
            "`version` has no effect with a key template: write it into the template",
        );
    }
    let pieces = template::parse(&lit.value())
        .inspect_err(|message| cx.error_spanned_by(lit, message))
        .ok()?;
    let mut ok = true;
    let used: Vec<&String> = pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Field(f) => Some(f),
            Piece::Literal(_) => None,
        })
        .collect();
    for field in &used {
        if !fields.contains(field) {
            cx.error_spanned_by(
                lit,
                format!("the key template names `{field}`, which is not a field of `{ident}`"),
            );
            ok = false;
        }
    }
    for field in fields {
        if !used.contains(&field) {
            cx.error_spanned_by(
                lit,
                format!(
                    "field `{field}` is not in the key template: keys that differ only in it \
                     would collide"
                ),
            );
            ok = false;
        }
    }
    if let Some((a, b)) = template::ambiguous_neighbours(&pieces) {
        cx.error_spanned_by(
            lit,
            format!(
                "`{{{a}}}` and `{{{b}}}` are not kept apart by a `:` in the key template: values \
                 such as (\"x-y\", \"z\") and (\"x\", \"y-z\") would render the same key; put a `:` \
                 between them"
            ),
        );
        ok = false;
    }
    let prefix = match pieces.first() {
        Some(Piece::Literal(text)) => text.clone(),
        _ => String::new(),
    };
    let rest = pieces
        .into_iter()
        .skip(usize::from(!prefix.is_empty()))
        .collect();
    ok.then_some(Layout::Template { prefix, rest })
}

/// The pieces of each tag of `tags = ["merchant:{id}", "merchants"]`.
fn tags(
    cx: &mut Ctxt,
    array: &syn::ExprArray,
    fields: &[String],
    ident: &Ident,
) -> Vec<Vec<Piece>> {
    let mut out = Vec::new();
    for element in &array.elems {
        let syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(lit),
            ..
        }) = element
        else {
            cx.error_spanned_by(
                element,
                "a tag is a string literal, such as \"merchant:{id}\"",
            );
            continue;
        };
        let text = lit.value();
        let pieces = if text.contains('{') {
            match template::parse(&text) {
                Ok(pieces) => pieces,
                Err(message) => {
                    cx.error_spanned_by(lit, message);
                    continue;
                }
            }
        } else {
            vec![Piece::Literal(text)]
        };
        for piece in &pieces {
            if let Piece::Field(field) = piece
                && !fields.contains(field)
            {
                cx.error_spanned_by(
                    lit,
                    format!("the tag names `{field}`, which is not a field of `{ident}`"),
                );
            }
        }
        out.push(pieces);
    }
    out
}
