#![doc = include_str!("../README.md")]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod attrs;

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::quote;
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Ident, Type, parse_macro_input};

use attrs::Source;

/// Implements `s3db::Document` for a struct with named fields: its fields become the
/// attributes of a resource. See the crate documentation for the attributes it reads.
#[proc_macro_derive(Document, attributes(s3db))]
pub fn derive_document(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// `Option<...>` written as such (the last path segment is `Option` with one type argument).
fn is_option(ty: &Type) -> bool {
    match ty {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last().is_some_and(|s| {
            s.ident == "Option" && matches!(s.arguments, syn::PathArguments::AngleBracketed(_))
        }),
        Type::Group(group) => is_option(&group.elem),
        Type::Paren(paren) => is_option(&paren.elem),
        _ => false,
    }
}

/// `UserProfile` → `user_profile`: the default resource name.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, ch) in name.chars().enumerate() {
        if ch.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(ch.to_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let fields = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => &named.named,
            _ => {
                return Err(syn::Error::new(
                    input.ident.span(),
                    "#[derive(Document)] needs a struct with named fields (they become the attributes)",
                ));
            }
        },
        _ => {
            return Err(syn::Error::new(
                input.ident.span(),
                "#[derive(Document)] needs a struct with named fields (they become the attributes)",
            ));
        }
    };
    let container = attrs::container(&input.attrs)?;
    let document = quote!(::s3db::core::document);
    let mut inserts = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for field in fields {
        let ident = field
            .ident
            .as_ref()
            .map_or_else(|| Ident::new("field", field.span()), |ident| ident.clone());
        let parsed = attrs::field(&field.attrs, ident.span())?;
        let rust_name = ident.unraw().to_string();
        let name = match (&parsed.rename, container.rename_all) {
            (Some(rename), _) => rename.clone(),
            (None, Some(rule)) => rule.apply(&rust_name),
            (None, None) => rust_name,
        };
        if parsed.id && name != "id" {
            return Err(syn::Error::new(
                ident.span(),
                format!(
                    "the record id must serialize as `id`, not `{name}`: add #[serde(rename = \"id\")]"
                ),
            ));
        }
        if parsed.skip {
            continue;
        }
        if name.is_empty() || name.contains('.') || name.starts_with("$$") {
            return Err(syn::Error::new(
                ident.span(),
                format!(
                    "attribute name {name:?} must be non-empty, without '.', not starting with '$$'"
                ),
            ));
        }
        if !seen.insert(name.clone()) {
            return Err(syn::Error::new(
                ident.span(),
                format!("two fields serialize as {name:?}"),
            ));
        }
        let ty = &field.ty;
        let option = is_option(ty);
        let definition = match &parsed.source {
            Source::Type => quote!(<#ty as #document::AttributeType>::definition()),
            Source::Rule(rule) => quote!(#document::rule(#rule, #option)),
            Source::Definition(text) => quote!(#document::definition_json(#text)),
        };
        let definition = match &parsed.modifiers {
            Some(modifiers) => quote!(#document::with_modifiers(#definition, #modifiers)),
            None => definition,
        };
        inserts.push(quote! {
            attributes.insert(::std::string::String::from(#name), #definition);
        });
    }
    let resource_name = container
        .name
        .clone()
        .unwrap_or_else(|| snake_case(&input.ident.unraw().to_string()));
    let mut options = Vec::new();
    if let Some(behavior) = &container.behavior {
        let variant = Ident::new(behavior, Span::call_site());
        options.push(quote!(.behavior(::s3db::core::BehaviorKind::#variant)));
    }
    if let Some(on) = container.timestamps {
        options.push(quote!(.timestamps(#on)));
    }
    if let Some(on) = container.paranoid {
        options.push(quote!(.paranoid(#on)));
    }
    if let Some(size) = container.id_size {
        options.push(quote!(.id_size(#size)));
    }
    for partition in &container.partitions {
        let name = &partition.name;
        let paths = partition.fields.iter().map(|(path, _)| path);
        let rules = partition.fields.iter().map(|(_, rule)| rule);
        options.push(quote!(.partition(#name, [#((#paths, #rules)),*])));
    }
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics #document::Document for #ident #ty_generics #where_clause {
            fn attributes() -> #document::Attributes {
                let mut attributes = #document::Attributes::new();
                #(#inserts)*
                attributes
            }

            fn resource_config() -> ::s3db::core::ResourceConfig {
                let mut attributes = <Self as #document::Document>::attributes();
                attributes.shift_remove("id");
                ::s3db::core::ResourceConfig::new(#resource_name)
                    .attributes(attributes)
                    #(#options)*
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn expanded(input: DeriveInput) -> String {
        expand(&input).unwrap().to_string()
    }

    fn refused(input: DeriveInput) -> String {
        expand(&input).unwrap_err().to_string()
    }

    #[test]
    fn fields_become_inserts_in_order_with_serde_names() {
        let code = expanded(parse_quote! {
            #[serde(rename_all = "camelCase")]
            #[s3db(behavior = "body-overflow", timestamps, partition(name = "byRegion", fields(region = "string")))]
            struct UserProfile {
                id: Option<String>,
                display_name: String,
                #[serde(rename = "mail")]
                #[s3db(rule = "email|unique")]
                email: Option<String>,
                #[s3db(skip)]
                cache: u8,
                r#type: String,
            }
        });
        let name = code.find("\"displayName\"").unwrap();
        let mail = code.find("\"mail\"").unwrap();
        let kind = code.find("\"type\"").unwrap();
        assert!(name < mail && mail < kind, "{code}");
        assert!(!code.contains("\"cache\""));
        assert!(code.contains(":: rule (\"email|unique\" , true)"), "{code}");
        assert!(
            code.contains("ResourceConfig :: new (\"user_profile\")"),
            "{code}"
        );
        assert!(code.contains("BehaviorKind :: BodyOverflow"));
        assert!(code.contains(". timestamps (true)"));
        assert!(
            code.contains(". partition (\"byRegion\" , [(\"region\" , \"string\")])"),
            "{code}"
        );
    }

    #[test]
    fn what_cannot_be_a_document_is_refused_with_the_fix() {
        assert!(
            refused(parse_quote!(
                struct T(String);
            ))
            .contains("named fields")
        );
        assert!(
            refused(parse_quote!(
                enum E {
                    A,
                }
            ))
            .contains("named fields")
        );
        assert!(
            refused(parse_quote!(
                struct T {
                    #[s3db(id)]
                    key: String,
                }
            ))
            .contains("serde(rename = \"id\")")
        );
        assert!(
            refused(parse_quote!(
                struct T {
                    a: String,
                    #[serde(rename = "a")]
                    b: String,
                }
            ))
            .contains("two fields serialize as \"a\"")
        );
        assert!(
            refused(parse_quote!(
                struct T {
                    #[serde(rename = "a.b")]
                    a: String,
                }
            ))
            .contains("without '.'")
        );
    }

    #[test]
    fn option_is_recognized_by_its_last_segment() {
        assert!(is_option(&parse_quote!(Option<String>)));
        assert!(is_option(&parse_quote!(std::option::Option<u8>)));
        assert!(!is_option(&parse_quote!(Vec<Option<u8>>)));
        assert!(!is_option(&parse_quote!(Option)));
        assert_eq!(snake_case("UserProfile"), "user_profile");
    }
}
