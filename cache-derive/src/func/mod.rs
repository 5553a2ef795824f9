//! `#[cached]`, `#[cache_put]` and `#[cache_evict]`: parsed ([`ast`]), checked ([`valid`]),
//! then written ([`expand`]), sharing every step but what each does around the body.

mod ast;
mod expand;
mod valid;

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemFn;

pub(crate) use ast::Kind;

use crate::ctxt::Ctxt;

/// The rewritten function; on mistakes, every error with the function unchanged, so that its
/// callers add no errors of their own.
pub(crate) fn attribute(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let item: ItemFn = match syn::parse2(item) {
        Ok(item) => item,
        Err(e) => return e.into_compile_error(),
    };
    let mut cx = Ctxt::default();
    let (args, mistake) = ast::Args::parse(kind, args);
    if let Some(e) = mistake {
        cx.syn_error(e);
    }
    let checked = valid::check(&mut cx, kind, &args, &item);
    if let Some(checked) = checked.filter(|_| cx.is_empty()) {
        return expand::expand(&checked);
    }
    let errors = cx.into_compile_errors("the attribute could not be read");
    quote!(#errors #item)
}
