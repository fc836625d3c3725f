//! `#[derive(ArgsDoc)]`: the documentation `orc doc MODULE` prints, read from the same argument
//! struct serde parses a module's arguments with, so the two cannot drift: each field's name
//! (after `rename`), `alias`es, doc comment, type (through the `ArgType` trait, so every type
//! must say how it reads), whether it is required (no `default` and not an `Option`, as serde
//! decides) and its default value (from `default` / `default = "fn"`). On a unit-variant enum it
//! derives `ArgType` with the variants as choices (after `rename_all` / `rename`).
//!
//! The generated code names `crate::doc`: it is used inside the orc-modules crate only.

use proc_macro::TokenStream;
use quote::quote;
use syn::{parse_macro_input, Attribute, Data, DeriveInput, Expr, ExprLit, Fields, Lit, Meta, Type};

/// Derives `crate::doc::ArgsDoc` (and `crate::doc::ArgType`, as a dict with sub-options) for a
/// struct with named fields, or `crate::doc::ArgType` (a string with choices) for a unit enum.
#[proc_macro_derive(ArgsDoc, attributes(serde))]
pub fn derive_args_doc(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let out = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => derive_struct(&input, named),
            _ => Err(syn::Error::new_spanned(&input.ident, "ArgsDoc needs named fields")),
        },
        Data::Enum(e) => derive_enum(&input, e),
        Data::Union(_) => Err(syn::Error::new_spanned(&input.ident, "ArgsDoc does not apply to unions")),
    };
    out.unwrap_or_else(|e| e.to_compile_error()).into()
}

/// What the serde attributes of one item say.
#[derive(Default)]
struct Serde {
    rename: Option<String>,
    rename_all: Option<String>,
    aliases: Vec<String>,
    /// `default` (true, None) or `default = "path"` (true, Some(path)).
    default: Option<Option<String>>,
    deserialize_with: bool,
    flatten: bool,
    skip: bool,
}

fn serde_attrs(attrs: &[Attribute]) -> syn::Result<Serde> {
    let mut s = Serde::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            let key = meta.path.get_ident().map(|i| i.to_string()).unwrap_or_default();
            let value = || -> syn::Result<String> {
                let lit: syn::LitStr = meta.value()?.parse()?;
                Ok(lit.value())
            };
            match key.as_str() {
                "rename" => s.rename = Some(value()?),
                "rename_all" => s.rename_all = Some(value()?),
                "alias" => s.aliases.push(value()?),
                "default" => {
                    s.default = Some(if meta.input.peek(syn::Token![=]) { Some(value()?) } else { None });
                }
                "deserialize_with" => {
                    value()?;
                    s.deserialize_with = true;
                }
                "flatten" => s.flatten = true,
                "skip" | "skip_deserializing" => s.skip = true,
                _ => {
                    // Other serde options (deny_unknown_fields, untagged...) do not change the docs;
                    // consume a value when there is one.
                    if meta.input.peek(syn::Token![=]) {
                        let _: Expr = meta.value()?.parse()?;
                    }
                }
            }
            Ok(())
        })?;
    }
    Ok(s)
}

/// The doc comment lines, joined into one paragraph.
fn doc_text(attrs: &[Attribute]) -> String {
    let mut lines = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("doc")) {
        if let Meta::NameValue(nv) = &attr.meta {
            if let Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) = &nv.value {
                lines.push(s.value().trim().to_string());
            }
        }
    }
    lines.join(" ").trim().to_string()
}

fn is_option(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Option"))
}

fn derive_struct(input: &DeriveInput, fields: &syn::FieldsNamed) -> syn::Result<proc_macro2::TokenStream> {
    let name = &input.ident;
    let container = serde_attrs(&input.attrs)?;
    let mut entries = Vec::new();
    let mut open = false;
    for f in &fields.named {
        let attrs = serde_attrs(&f.attrs)?;
        if attrs.skip {
            continue;
        }
        if attrs.flatten {
            open = true;
            continue;
        }
        let ident = f.ident.as_ref().map(|i| i.to_string()).unwrap_or_default();
        let ident = ident.strip_prefix("r#").unwrap_or(&ident).to_string();
        let arg = attrs.rename.clone().unwrap_or_else(|| rename(&ident, container.rename_all.as_deref()));
        let aliases = &attrs.aliases;
        let description = doc_text(&f.attrs);
        let ty = &f.ty;
        // serde: a field without `default` is required, except an Option read without
        // `deserialize_with` (missing means None).
        let required = attrs.default.is_none() && (!is_option(ty) || attrs.deserialize_with);
        let default = match &attrs.default {
            None => quote! { None },
            Some(None) => quote! { crate::doc::ArgType::shown(&<#ty as ::core::default::Default>::default()) },
            Some(Some(path)) => {
                let path: syn::ExprPath = syn::parse_str(path)?;
                quote! { crate::doc::ArgType::shown(&#path()) }
            }
        };
        entries.push(quote! {
            crate::doc::ArgDoc {
                name: #arg,
                aliases: &[#(#aliases),*],
                description: #description,
                kind: <#ty as crate::doc::ArgType>::kind(),
                choices: <#ty as crate::doc::ArgType>::choices(),
                suboptions: <#ty as crate::doc::ArgType>::suboptions(),
                required: #required,
                default: #default,
            }
        });
    }
    let (impl_g, ty_g, where_g) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_g crate::doc::ArgsDoc for #name #ty_g #where_g {
            fn args() -> ::std::vec::Vec<crate::doc::ArgDoc> {
                ::std::vec![#(#entries),*]
            }
            fn takes_other_args() -> bool {
                #open
            }
        }
        impl #impl_g crate::doc::ArgType for #name #ty_g #where_g {
            fn kind() -> ::std::string::String {
                "dict".into()
            }
            fn suboptions() -> ::std::vec::Vec<crate::doc::ArgDoc> {
                <Self as crate::doc::ArgsDoc>::args()
            }
        }
    })
}

fn derive_enum(input: &DeriveInput, e: &syn::DataEnum) -> syn::Result<proc_macro2::TokenStream> {
    let name = &input.ident;
    let container = serde_attrs(&input.attrs)?;
    let mut choices = Vec::new();
    let mut arms = Vec::new();
    for v in &e.variants {
        if !matches!(v.fields, Fields::Unit) {
            return Err(syn::Error::new_spanned(v, "ArgsDoc derives choices for unit variants only"));
        }
        let attrs = serde_attrs(&v.attrs)?;
        let shown =
            attrs.rename.clone().unwrap_or_else(|| rename(&v.ident.to_string(), container.rename_all.as_deref()));
        let ident = &v.ident;
        arms.push(quote! { #name::#ident => #shown });
        choices.push(shown);
        choices.extend(attrs.aliases);
    }
    Ok(quote! {
        impl crate::doc::ArgType for #name {
            fn kind() -> ::std::string::String {
                "str".into()
            }
            fn choices() -> ::std::vec::Vec<&'static str> {
                ::std::vec![#(#choices),*]
            }
            fn shown(&self) -> ::std::option::Option<::serde_json::Value> {
                let s: &str = match self { #(#arms),* };
                ::std::option::Option::Some(::serde_json::Value::String(s.into()))
            }
        }
    })
}

/// A Rust name as serde's `rename_all` writes it.
fn rename(ident: &str, rule: Option<&str>) -> String {
    let words = split_words(ident);
    match rule {
        Some("lowercase") => ident.to_lowercase(),
        Some("UPPERCASE") => ident.to_uppercase(),
        Some("snake_case") => words.join("_"),
        Some("kebab-case") => words.join("-"),
        Some("SCREAMING_SNAKE_CASE") => words.join("_").to_uppercase(),
        Some("camelCase") => {
            let mut out = String::new();
            for (i, w) in words.iter().enumerate() {
                if i == 0 {
                    out.push_str(w);
                } else {
                    let mut c = w.chars();
                    if let Some(f) = c.next() {
                        out.extend(f.to_uppercase());
                        out.push_str(c.as_str());
                    }
                }
            }
            out
        }
        _ => ident.to_string(),
    }
}

/// `PascalCase` or `snake_case` words, lowercased.
fn split_words(ident: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    for c in ident.chars() {
        if c == '_' {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
        } else if c.is_uppercase() && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
            cur.extend(c.to_lowercase());
        } else {
            cur.extend(c.to_lowercase());
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}
