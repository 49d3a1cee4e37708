//! Names: reserved words, DNS-1123 labels, duplicates and names that
//! collide once lowered.

use crate::collections::{HashMap, HashSet};

use super::check::Checker;
use super::k8s::dns_name;
use crate::diag::MlpError;
use crate::source::Span;
use crate::syntax::ast::{self, Ident};
use crate::syntax::{is_reserved, V2_KEYWORDS};

impl Checker<'_> {
    /// Reports a reserved name; returns whether the name is usable.
    pub(super) fn declare_name(&mut self, ident: &Ident, what: &str) -> bool {
        if is_reserved(&ident.name) {
            self.push(MlpError::ReservedName {
                src: self.src(ident.span),
                at: ident.span,
                name: ident.name.to_string(),
                what: what.to_string(),
            });
            return false;
        }
        if V2_KEYWORDS.contains(&ident.name.as_str()) {
            self.push(MlpError::KeywordAsName {
                src: self.src(ident.span),
                at: ident.span,
                name: ident.name.to_string(),
                what: what.to_string(),
            });
            return false;
        }
        true
    }

    /// Checks that a name lowers to a valid DNS-1123 label of at most `max` characters.
    pub(super) fn dns_label(&mut self, ident: &Ident, max: usize) -> String {
        let lowered = dns_name(&ident.name);
        let reason = if lowered.len() > max {
            Some(format!(
                "it is {} characters long; the limit is {max}",
                lowered.len()
            ))
        } else if lowered.starts_with('-') || lowered.ends_with('-') {
            Some("it must start and end with a letter or digit".to_string())
        } else {
            None
        };
        if let Some(reason) = reason {
            self.push(MlpError::InvalidK8sName {
                src: self.src(ident.span),
                at: ident.span,
                name: ident.name.to_string(),
                lowered: lowered.clone(),
                reason,
                help: Some("names are lowercased and `_` becomes `-`; use a shorter name that starts and ends with a letter or digit".into()),
            });
        }
        lowered
    }

    /// Reports names defined twice and names that collide once lowered.
    pub(super) fn unique_names(&mut self, names: &[&Ident], what: &str) -> HashSet<usize> {
        let mut by_name: HashMap<&str, &Ident> = HashMap::default();
        let mut by_dns: HashMap<String, &Ident> = HashMap::default();
        let mut duplicates = HashSet::default();
        for (i, ident) in names.iter().enumerate() {
            if let Some(first) = by_name.get(ident.name.as_str()) {
                self.push(MlpError::Duplicate {
                    src: self.src(ident.span),
                    what: what.to_string(),
                    name: ident.name.to_string(),
                    again: ident.span,
                    first: first.span,
                });
                duplicates.insert(i);
                continue;
            }
            by_name.insert(&ident.name, ident);
            let lowered = dns_name(&ident.name);
            if let Some(first) = by_dns.get(&lowered) {
                self.push(MlpError::DnsCollision {
                    src: self.src(ident.span),
                    first_name: first.name.to_string(),
                    second_name: ident.name.to_string(),
                    lowered: lowered.clone(),
                    first: first.span,
                    second: ident.span,
                });
                continue;
            }
            by_dns.insert(lowered, ident);
        }
        duplicates
    }

    pub(super) fn pipeline_names(&mut self, file: &ast::File) {
        let names: Vec<&Ident> = file
            .items
            .iter()
            .filter_map(|i| match i {
                ast::Item::Pipeline(p) => Some(&p.name),
                _ => None,
            })
            .collect();
        self.unique_names(&names, "pipeline");
    }

    pub(super) fn first_time<'i>(
        &mut self,
        seen: &mut HashMap<&'i str, Span>,
        key: &'i Ident,
        what: &str,
    ) -> bool {
        if let Some(first) = seen.get(key.name.as_str()) {
            self.push(MlpError::Duplicate {
                src: self.src(key.span),
                what: what.into(),
                name: key.name.to_string(),
                again: key.span,
                first: *first,
            });
            return false;
        }
        seen.insert(&key.name, key.span);
        true
    }
}
