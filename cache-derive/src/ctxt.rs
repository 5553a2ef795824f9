//! [`Ctxt`]: collects every error a macro finds, so that all are reported at once.

use proc_macro2::TokenStream;
use quote::ToTokens;
use std::fmt::Display;

/// The errors found so far, each a `syn::Error` on the token at fault.
#[derive(Default)]
pub(crate) struct Ctxt {
    errors: Vec<syn::Error>,
}

impl Ctxt {
    /// Records an error on `tokens`.
    pub(crate) fn error_spanned_by(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.errors.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records an error at `span`.
    pub(crate) fn error_at(&mut self, span: proc_macro2::Span, message: impl Display) {
        self.errors.push(syn::Error::new(span, message));
    }

    /// Records a parse error.
    pub(crate) fn syn_error(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    /// Whether nothing was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Every error as `compile_error!` invocations; `fallback` when none was recorded.
    pub(crate) fn into_compile_errors(self, fallback: &str) -> TokenStream {
        if self.errors.is_empty() {
            return syn::Error::new(proc_macro2::Span::call_site(), fallback).into_compile_error();
        }
        self.errors
            .into_iter()
            .map(syn::Error::into_compile_error)
            .collect()
    }
}
