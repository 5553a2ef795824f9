//! Parsing the options of `#[cached]`, `#[cache_put]` and `#[cache_evict]` as written.

use proc_macro2::TokenStream;
use syn::Expr;

/// Which of the three attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Cached,
    Put,
    Evict,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Cached => "cached",
            Self::Put => "cache_put",
            Self::Evict => "cache_evict",
        }
    }

    /// The options the attribute takes.
    fn allowed(self) -> &'static [&'static str] {
        match self {
            Self::Cached | Self::Put => &["cache", "key"],
            Self::Evict => &["cache", "key", "tag", "namespace", "before"],
        }
    }
}

/// The options, as written.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) cache: Option<Expr>,
    pub(crate) key: Option<Expr>,
    pub(crate) tag: Option<Expr>,
    pub(crate) namespace: Option<syn::Type>,
    pub(crate) before: Option<syn::LitBool>,
}

impl Args {
    /// Reads the attribute's arguments: what was read before the first mistake, and the
    /// mistake.
    pub(crate) fn parse(kind: Kind, tokens: TokenStream) -> (Self, Option<syn::Error>) {
        let mut out = Self::default();
        let parser = syn::meta::parser(|meta| {
            let name = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            if !kind.allowed().contains(&name.as_str()) {
                let allowed: Vec<String> =
                    kind.allowed().iter().map(|a| format!("`{a}`")).collect();
                return Err(meta.error(format!(
                    "unknown `{}` option: expected {}",
                    kind.name(),
                    allowed.join(", ")
                )));
            }
            let twice = || meta.error(format!("`{name}` is given twice"));
            match name.as_str() {
                "cache" if out.cache.is_some() => return Err(twice()),
                "cache" => out.cache = Some(meta.value()?.parse()?),
                "key" if out.key.is_some() => return Err(twice()),
                "key" => out.key = Some(meta.value()?.parse()?),
                "tag" if out.tag.is_some() => return Err(twice()),
                "tag" => out.tag = Some(meta.value()?.parse()?),
                "namespace" if out.namespace.is_some() => return Err(twice()),
                "namespace" => out.namespace = Some(meta.value()?.parse()?),
                "before" if out.before.is_some() => return Err(twice()),
                "before" => out.before = Some(meta.value()?.parse()?),
                _ => return Err(meta.error("unexpected option")),
            }
            Ok(())
        });
        let error = syn::parse::Parser::parse2(parser, tokens).err();
        (out, error)
    }
}
