//! `#[derive(CacheKey)]`: parsed ([`ast`]), checked ([`valid`]), then written ([`expand`]).

mod ast;
mod expand;
mod valid;

use proc_macro2::TokenStream;
use syn::DeriveInput;

use crate::ctxt::Ctxt;

/// The impl, or every error found with a stand-in impl.
pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    let mut cx = Ctxt::default();
    let parsed = ast::Input::from_ast(&mut cx, input);
    let key = valid::check(&mut cx, &parsed);
    if let Some(key) = key.filter(|_| cx.is_empty()) {
        return expand::expand(&key);
    }
    let errors = cx.into_compile_errors("CacheKey: the key type could not be read");
    let fallback = expand::fallback(&parsed, !input.generics.params.is_empty());
    quote::quote!(#errors #fallback)
}
