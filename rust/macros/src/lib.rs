//! Procedural macros of the binding: `#[catch_panics]`, the last line of defence against a
//! panic reaching Python, and `#[numpy_spellings]`, NumPy's `axis=`/`keepdims=` for every
//! method with `dim`/`keepdim` (documented at [`numpy_spellings`]).
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

/// `#[numpy_spellings]`: NumPy's names for `dim` and `keepdim` on every method of an impl
/// block (or on one function) that takes them, as PyTorch's argument parser accepts them.
///
/// PyTorch maps `axis=` to `dim=` and `keepdims=` to `keepdim=` for every function that has
/// those parameters (`x.max(axis=1)`, `x.sum(1, keepdims=True)`); passing both spellings is a
/// `TypeError`. Put above `#[catch_panics]`, this attribute rewrites each method whose
/// parameters include `dim` or `keepdim`: keyword-only `axis=None` / `keepdims=None` are
/// added to its `#[pyo3(signature)]` (one is written when the method has none), and the body
/// starts by merging the two spellings (`crate::convert::one_spelling` for a parameter that
/// defaults to None, `spelled_or_default` for one with another default: the NumPy spelling
/// is refused when the other is not at its default). A required `dim` becomes optional,
/// raising PyTorch's "missing required argument" when neither spelling is given; required
/// positional parameters after it (`gather(dim, index)`) become optional the same way, so
/// that `dim` can default. Methods without these parameters are left as they are.
#[proc_macro_attribute]
pub fn numpy_spellings(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        let attr = proc_macro2::TokenStream::from(attr);
        return syn::Error::new_spanned(attr, "numpy_spellings takes no arguments")
            .to_compile_error()
            .into();
    }
    let mut item = parse_macro_input!(item as Item);
    let result = match &mut item {
        Item::Impl(block) => block.items.iter_mut().try_for_each(|member| match member {
            ImplItem::Fn(method) => spell(&mut method.attrs, &mut method.sig, &mut method.block),
            _ => Ok(()),
        }),
        Item::Fn(function) => spell(&mut function.attrs, &mut function.sig, &mut function.block),
        other => Err(syn::Error::new_spanned(
            other,
            "numpy_spellings applies to impl blocks and functions",
        )),
    };
    match result {
        Ok(()) => quote!(#item).into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// PyTorch's parameter names and the NumPy spelling each also accepts.
const SPELLINGS: [(&str, &str); 2] = [("dim", "axis"), ("keepdim", "keepdims")];

/// One entry of a `#[pyo3(signature = (...))]` list: its tokens and, for a parameter, its
/// name and whether it has a default.
struct Entry {
    tokens: Vec<proc_macro2::TokenTree>,
    name: Option<String>,
    star: bool,
    double_star: bool,
    has_default: bool,
}

/// The entries of a signature list, split at its top-level commas.
fn entries(list: proc_macro2::TokenStream) -> Vec<Entry> {
    use proc_macro2::TokenTree;
    let mut out: Vec<Vec<TokenTree>> = vec![Vec::new()];
    for token in list {
        match &token {
            TokenTree::Punct(p) if p.as_char() == ',' => out.push(Vec::new()),
            _ => {
                if let Some(last) = out.last_mut() {
                    last.push(token);
                }
            }
        }
    }
    out.into_iter()
        .filter(|tokens| !tokens.is_empty())
        .map(|tokens| {
            let stars = tokens
                .iter()
                .take_while(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == '*'))
                .count();
            let name = tokens.iter().find_map(|t| match t {
                TokenTree::Ident(i) => Some(i.to_string()),
                _ => None,
            });
            let has_default =
                tokens.iter().any(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == '='));
            Entry { tokens, name, star: stars == 1, double_star: stars == 2, has_default }
        })
        .collect()
}

/// One entry from its text (`"axis=None"`, `"*"`).
fn parse_entry(text: &str) -> Entry {
    let stream: proc_macro2::TokenStream = text.parse().unwrap_or_default();
    entries(stream).pop().unwrap_or(Entry {
        tokens: Vec::new(),
        name: None,
        star: false,
        double_star: false,
        has_default: false,
    })
}

/// The `signature` list of a method's `#[pyo3(...)]` attribute: (attribute index, the
/// tokens before the list, the list, the tokens after it).
type SignatureSite =
    (usize, proc_macro2::TokenStream, proc_macro2::TokenStream, proc_macro2::TokenStream);

/// Where a method's signature list is, if it has one.
fn find_signature(attrs: &[syn::Attribute]) -> Option<SignatureSite> {
    use proc_macro2::TokenTree;
    for (index, attr) in attrs.iter().enumerate() {
        if !attr.path().is_ident("pyo3") {
            continue;
        }
        let syn::Meta::List(list) = &attr.meta else { continue };
        let tokens: Vec<TokenTree> = list.tokens.clone().into_iter().collect();
        for i in 0..tokens.len() {
            let is_signature = matches!(&tokens[i], TokenTree::Ident(id) if id == "signature");
            if is_signature && i + 2 < tokens.len() {
                if let TokenTree::Group(group) = &tokens[i + 2] {
                    let before = tokens[..i + 2].iter().cloned().collect();
                    let after = tokens[i + 3..].iter().cloned().collect();
                    return Some((index, before, group.stream(), after));
                }
            }
        }
    }
    None
}

/// The Python-visible parameters of a method: (name, type) of each typed argument that is
/// not `self`, `Python<'_>` or `slf: &Bound<Self>`.
fn python_params(sig: &Signature) -> Vec<(String, Type)> {
    sig.inputs
        .iter()
        .filter_map(|arg| match arg {
            syn::FnArg::Typed(typed) => {
                let syn::Pat::Ident(pat) = &*typed.pat else { return None };
                let name = pat.ident.to_string();
                let is_python = matches!(&*typed.ty, Type::Path(p)
                    if p.path.segments.last().is_some_and(|s| s.ident == "Python"));
                (!is_python && name != "slf").then(|| (name, (*typed.ty).clone()))
            }
            syn::FnArg::Receiver(_) => None,
        })
        .collect()
}

/// The `T` of an `Option<T>`, or None when `ty` is not an `Option`.
fn option_inner(ty: &Type) -> Option<Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else { return None };
    match args.args.first()? {
        syn::GenericArgument::Type(inner) => Some(inner.clone()),
        _ => None,
    }
}

/// Adds the NumPy spellings to one method (see [`numpy_spellings`]).
fn spell(
    attrs: &mut Vec<syn::Attribute>,
    sig: &mut Signature,
    block: &mut Block,
) -> syn::Result<()> {
    let params = python_params(sig);
    let has = |name: &str| params.iter().any(|(n, _)| n == name);
    if !SPELLINGS.iter().any(|(name, _)| has(name)) || SPELLINGS.iter().any(|(_, a)| has(a)) {
        return Ok(());
    }
    // The signature list, written from the parameters when the method has none.
    let (site, mut list) = match find_signature(attrs) {
        Some((index, before, list, after)) => (Some((index, before, after)), entries(list)),
        None => {
            if params.iter().any(|(_, ty)| option_inner(ty).is_some()) {
                return Ok(()); // an implicit `Option` default: leave such methods alone
            }
            (None, params.iter().map(|(n, _)| parse_entry(n)).collect())
        }
    };
    let keyword_start = list.iter().position(|e| e.star || e.double_star).unwrap_or(list.len());
    let mut prologue: Vec<syn::Stmt> = Vec::new();
    let mut added: Vec<(String, Type)> = Vec::new();
    // Checks of the parameters after `dim` made optional, run after the spellings merge.
    let mut late: Vec<syn::Stmt> = Vec::new();
    let op = sig.ident.to_string();
    for (name, alias) in SPELLINGS {
        let Some(at) = list.iter().position(|e| e.name.as_deref() == Some(name)) else {
            continue;
        };
        // `dim` can only default if the required positional parameters after it do too
        // (`gather(dim, index)`): they become optional, and missing when not given.
        let required_after: Vec<usize> = if at < keyword_start {
            (at + 1..keyword_start).filter(|&i| !list[i].has_default).collect()
        } else {
            Vec::new()
        };
        let after_names: Vec<String> =
            required_after.iter().filter_map(|&i| list[i].name.clone()).collect();
        let after_params: Vec<&Type> = after_names
            .iter()
            .filter_map(|n| params.iter().find(|(p, _)| p == n).map(|(_, ty)| ty))
            .collect();
        if after_params.len() != required_after.len()
            || after_params.iter().any(|ty| option_inner(ty).is_some())
        {
            continue; // an `Option` that must be given: leave the method alone
        }
        for (&i, after) in required_after.iter().zip(&after_names) {
            list[i] = parse_entry(&format!("{after}=None"));
            let ident = syn::Ident::new(after, proc_macro2::Span::call_site());
            for arg in sig.inputs.iter_mut() {
                if let syn::FnArg::Typed(t) = arg {
                    if matches!(&*t.pat, syn::Pat::Ident(p) if p.ident == after.as_str()) {
                        let ty = (*t.ty).clone();
                        *t.ty = parse_quote!(::std::option::Option<#ty>);
                    }
                }
            }
            late.push(parse_quote!(
                let #ident = #ident.ok_or_else(|| crate::convert::missing_argument(#op, #after))?;
            ));
        }
        let default: Option<proc_macro2::TokenStream> = list[at].has_default.then(|| {
            let tokens = &list[at].tokens;
            let eq = tokens
                .iter()
                .position(|t| matches!(t, proc_macro2::TokenTree::Punct(p) if p.as_char() == '='))
                .unwrap_or(0);
            tokens[eq + 1..].iter().cloned().collect()
        });
        let ident = syn::Ident::new(name, proc_macro2::Span::call_site());
        let alias_ident = syn::Ident::new(alias, proc_macro2::Span::call_site());
        let param = sig.inputs.iter_mut().find_map(|arg| match arg {
            syn::FnArg::Typed(t) if matches!(&*t.pat, syn::Pat::Ident(p) if p.ident == name) => {
                Some(t)
            }
            _ => None,
        });
        let Some(param) = param else { continue };
        let was_option = option_inner(&param.ty).is_some();
        let value_type: Type = match option_inner(&param.ty) {
            Some(inner) => inner,
            None => (*param.ty).clone(),
        };
        added.push((alias.to_string(), parse_quote!(::std::option::Option<#value_type>)));
        match (default, was_option) {
            (default, true) => {
                // `dim=None`: given or not is exact
                if default.is_none() {
                    list[at] = parse_entry(&format!("{name}=None"));
                }
                prologue.push(parse_quote!(
                    let #ident =
                        crate::convert::one_spelling(#op, #name, #alias, #ident, #alias_ident)?;
                ));
            }
            (Some(default), false) => {
                // `dim=-1`, `keepdim=false`: the signature stays; the NumPy spelling counts
                // as the second one when the first is not at its default
                prologue.push(parse_quote!(
                    let #ident = crate::convert::spelled_or_default(
                        #op, #name, #alias, #ident, #default, #alias_ident,
                    )?;
                ));
            }
            (None, false) => {
                // a required `dim`: optional now, and missing when neither spelling is given
                list[at] = parse_entry(&format!("{name}=None"));
                *param.ty = parse_quote!(::std::option::Option<#value_type>);
                prologue.push(parse_quote!(
                    let #ident =
                        crate::convert::one_spelling(#op, #name, #alias, #ident, #alias_ident)?
                            .ok_or_else(|| crate::convert::missing_argument(#op, #name))?;
                ));
            }
        }
    }
    if added.is_empty() {
        return Ok(());
    }
    // Keyword-only `axis=None, keepdims=None`, before any `**kwargs`.
    let kwargs_at = list.iter().position(|e| e.double_star).unwrap_or(list.len());
    let mut new_entries: Vec<Entry> = Vec::new();
    if !list[..kwargs_at].iter().any(|e| e.star) {
        new_entries.push(parse_entry("*"));
    }
    for (alias, _) in &added {
        new_entries.push(parse_entry(&format!("{alias}=None")));
    }
    list.splice(kwargs_at..kwargs_at, new_entries);
    // The matching Rust parameters, in the same order (before the `**kwargs` parameter).
    let kwargs_name = list.iter().find(|e| e.double_star).and_then(|e| e.name.clone());
    let insert_at = sig
        .inputs
        .iter()
        .position(|arg| match (arg, &kwargs_name) {
            (syn::FnArg::Typed(t), Some(k)) => {
                matches!(&*t.pat, syn::Pat::Ident(p) if p.ident == k.as_str())
            }
            _ => false,
        })
        .unwrap_or(sig.inputs.len());
    for (offset, (alias, ty)) in added.iter().enumerate() {
        let ident = syn::Ident::new(alias, proc_macro2::Span::call_site());
        sig.inputs.insert(insert_at + offset, parse_quote!(#ident: #ty));
    }
    let mut joined = proc_macro2::TokenStream::new();
    for (i, entry) in list.iter().enumerate() {
        if i > 0 {
            joined.extend(quote!(,));
        }
        joined.extend(entry.tokens.iter().cloned());
    }
    match site {
        Some((index, before, after)) => {
            attrs[index] = parse_quote!(#[pyo3(#before (#joined) #after)]);
        }
        None => attrs.push(parse_quote!(#[pyo3(signature = (#joined))])),
    }
    let body = block.clone();
    *block = parse_quote!({ #(#prologue)* #(#late)* #body });
    Ok(())
}
