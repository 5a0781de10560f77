//! `#[catch_panics]`: the binding's last line of defence against a panic reaching Python.
//!
//! The core reports every failure it can foresee as an [`Error`](../tapegrad_core/enum.Error.html);
//! a panic is a tapegrad bug. PyO3 would turn one into `pyo3_runtime.PanicException`, a
//! `BaseException` that `except Exception` does not catch, so a user's training loop (or a
//! notebook cell's error handling) dies on it. Put above `#[pymethods]` or `#[pyfunction]`,
//! this attribute wraps the body of every method returning `Res<T>` or `PyResult<T>` in
//! `std::panic::catch_unwind` and turns a caught panic into `crate::errors::panicked(name,
//! payload)`: a `tapegrad.InternalError` (a `RuntimeError`) naming the method and the panic's
//! message, asking for a bug report. Methods returning plain values cannot fail and are left
//! as they are. `tests/test_no_panic.py` checks that every `#[pymethods]` block and
//! `#[pyfunction]` of the binding carries the attribute.

use proc_macro::TokenStream;
use quote::quote;
use syn::{parse_macro_input, parse_quote, Block, ImplItem, Item, ReturnType, Signature, Type};

/// Turns panics in the `Res`/`PyResult` methods of an impl block (or in one function) into
/// `InternalError`s; see the crate documentation.
#[proc_macro_attribute]
pub fn catch_panics(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        let attr = proc_macro2::TokenStream::from(attr);
        return syn::Error::new_spanned(attr, "catch_panics takes no arguments")
            .to_compile_error()
            .into();
    }
    let mut item = parse_macro_input!(item as Item);
    match &mut item {
        Item::Impl(block) => {
            for member in &mut block.items {
                if let ImplItem::Fn(method) = member {
                    guard(&method.sig, &mut method.block);
                }
            }
        }
        Item::Fn(function) => guard(&function.sig, &mut function.block),
        other => {
            return syn::Error::new_spanned(
                other,
                "catch_panics applies to impl blocks and functions",
            )
            .to_compile_error()
            .into()
        }
    }
    quote!(#item).into()
}

/// Whether the function returns `Res<_>` or `PyResult<_>` (so a panic has somewhere to go).
fn fallible(sig: &Signature) -> bool {
    let ReturnType::Type(_, ty) = &sig.output else { return false };
    let Type::Path(path) = &**ty else { return false };
    path.path.segments.last().is_some_and(|s| s.ident == "Res" || s.ident == "PyResult")
}

/// Replaces `block` by a `catch_unwind` around it (the closure returns what the function
/// returns; `return` and `?` inside keep their meaning).
fn guard(sig: &Signature, block: &mut Block) {
    if !fallible(sig) {
        return;
    }
    let name = sig.ident.to_string();
    let output = match &sig.output {
        ReturnType::Type(_, ty) => ty.clone(),
        ReturnType::Default => return,
    };
    let body = block.clone();
    *block = parse_quote!({
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(move || -> #output #body)) {
            ::std::result::Result::Ok(result) => result,
            ::std::result::Result::Err(payload) => ::std::result::Result::Err(
                ::std::convert::From::from(crate::errors::panicked(#name, payload)),
            ),
        }
    });
}
