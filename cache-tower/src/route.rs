//! Route templates (`/admin/merchants/{slug}`), the rules hung on them, and what a matched
//! request exposes to a rule ([`Matched`]).

use http::Method;
use http::request::Parts;

/// A rule's method and route template, and what it does on a match.
#[derive(Debug, Clone)]
pub(crate) struct Route<A> {
    method: Method,
    template: Template,
    pub(crate) action: A,
}

impl<A> Route<A> {
    /// A rule for `method` requests matching `template`.
    ///
    /// # Panics
    ///
    /// When `template` has an empty or unclosed `{}`: a rule that could never match is a
    /// mistake to see at start-up, as axum's `route` treats a bad path.
    pub(crate) fn new(method: Method, template: &str, action: A) -> Self {
        let Some(parsed) = Template::parse(template) else {
            panic!(
                "invalid route template {template:?}: captures are `{{name}}`, one path segment each"
            );
        };
        Self {
            method,
            template: parsed,
            action,
        }
    }
}

/// The rules of `routes` that `parts` matches, in order, each with what it matched.
pub(crate) fn matching<'r, 'p, A>(
    routes: &'r [Route<A>],
    parts: &'p Parts,
) -> impl Iterator<Item = (&'r A, Matched<'p>)> {
    routes
        .iter()
        .filter(move |route| route.method == parts.method)
        .filter_map(move |route| {
            let params = route.template.matches(parts.uri.path())?;
            Some((&route.action, Matched { params, parts }))
        })
}

/// A path template: literal segments and `{name}` captures, one path segment each.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Capture(String),
}

impl Template {
    /// Parses `template`; `None` when a capture is empty or unclosed.
    pub(crate) fn parse(template: &str) -> Option<Self> {
        let segments = split(template)
            .map(
                |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some("") => None,
                    Some(name) => Some(Segment::Capture(name.to_owned())),
                    None if s.contains(['{', '}']) => None,
                    None => Some(Segment::Literal(s.to_owned())),
                },
            )
            .collect::<Option<Vec<_>>>()?;
        Some(Self { segments })
    }

    /// The captures of `path` when it matches, in template order.
    pub(crate) fn matches(&self, path: &str) -> Option<Vec<(String, String)>> {
        let parts: Vec<&str> = split(path).collect();
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut params = Vec::new();
        for (segment, part) in self.segments.iter().zip(parts) {
            match segment {
                Segment::Literal(text) if text == part => {}
                Segment::Literal(_) => return None,
                Segment::Capture(_) if part.is_empty() => return None,
                Segment::Capture(name) => params.push((name.clone(), part.to_owned())),
            }
        }
        Some(params)
    }
}

fn split(path: &str) -> impl Iterator<Item = &str> {
    path.trim_start_matches('/').split('/')
}

/// A request that matched a rule: its path parameters and its head (method, URI, headers).
#[derive(Debug)]
pub struct Matched<'a> {
    params: Vec<(String, String)>,
    parts: &'a Parts,
}

impl Matched<'_> {
    /// The path parameter `name` as it appears in the path (not percent-decoded).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A request header as text, when present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.parts.headers.get(name)?.to_str().ok()
    }

    /// The request's method, URI and headers.
    pub fn parts(&self) -> &Parts {
        self.parts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_capture_whole_segments() {
        let t = Template::parse("/admin/merchants/{slug}").unwrap();
        assert_eq!(
            t.matches("/admin/merchants/amazon").unwrap(),
            [("slug".to_owned(), "amazon".to_owned())]
        );
        assert!(t.matches("/admin/merchants").is_none());
        assert!(t.matches("/admin/merchants/a/b").is_none());
        assert!(t.matches("/admin/merchants/").is_none());
        assert!(t.matches("/admin/users/amazon").is_none());
        assert!(Template::parse("/a/{}").is_none());
        assert!(Template::parse("/a/{x").is_none());
    }
}
