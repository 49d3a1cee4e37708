//! A cursor over one pair's children. A shape mismatch between the grammar
//! and a builder is a compiler bug (E9001), never a panic.

use pest::iterators::{Pair, Pairs};

use super::Rule;
use crate::diag::MlpError;

/// Keyword tokens are atomic (so `params` is not `param s`) and therefore
/// visible as pairs; builders never need them, so the cursor skips them.
fn is_keyword(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::kw_import
            | Rule::kw_as
            | Rule::kw_pipeline
            | Rule::kw_template
            | Rule::kw_uses
            | Rule::kw_param
            | Rule::kw_input
            | Rule::kw_output
            | Rule::kw_when
    )
}

type NonKeywords<'i> = std::iter::Filter<Pairs<'i, Rule>, fn(&Pair<'i, Rule>) -> bool>;

pub(crate) struct Children<'i> {
    rule: Rule,
    it: std::iter::Peekable<NonKeywords<'i>>,
}

impl<'i> Children<'i> {
    pub fn of(pair: Pair<'i, Rule>, rule: Rule) -> Result<Self, MlpError> {
        if pair.as_rule() != rule {
            return Err(MlpError::ice(format!(
                "expected {rule:?}, got {:?}",
                pair.as_rule()
            )));
        }
        let not_keyword: fn(&Pair<'i, Rule>) -> bool = |p| !is_keyword(p.as_rule());
        Ok(Self {
            rule,
            it: pair.into_inner().filter(not_keyword).peekable(),
        })
    }

    pub fn expect(&mut self, rule: Rule) -> Result<Pair<'i, Rule>, MlpError> {
        let parent = self.rule;
        self.it
            .next_if(|p| p.as_rule() == rule)
            .ok_or_else(|| MlpError::ice(format!("{parent:?}: missing {rule:?}")))
    }

    /// The next child whatever its rule, for rules with alternatives.
    pub fn next_any(&mut self) -> Result<Pair<'i, Rule>, MlpError> {
        let parent = self.rule;
        self.it
            .next()
            .ok_or_else(|| MlpError::ice(format!("{parent:?}: missing child")))
    }

    pub fn optional(&mut self, rule: Rule) -> Option<Pair<'i, Rule>> {
        self.it.next_if(|p| p.as_rule() == rule)
    }

    /// The remaining children, for rules that end in a repetition.
    pub fn rest(self) -> impl Iterator<Item = Pair<'i, Rule>> {
        self.it
    }

    pub fn finish(mut self) -> Result<(), MlpError> {
        match self.it.next() {
            None => Ok(()),
            Some(p) => Err(MlpError::ice(format!(
                "{:?}: stray {:?}",
                self.rule,
                p.as_rule()
            ))),
        }
    }
}
