//! Which product is this conversation about? The shop's catalogue (`[[product]]`: titles and
//! aliases) and the book's category words (`[[category]]`: 杯子, 碗 → 家居餐具) are compiled into
//! one leftmost-longest automaton over normalised text, so that a turn naming "马克杯" or "這個杯子"
//! is tied to a product or at least a category. The suggester then prefers that product's FAQ,
//! then its category's, and drops answers written for other categories (no washing advice for
//! clothes on a mug question).
//!
//! The conversation remembers the latest product (by sku, so it survives a reload) and category;
//! an integrator may also set the product the customer is looking at
//! ([`ConversationState::set_product`]).

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use huashu_normalize::Normalizer;
use huashu_phrasebook::{Phrasebook, ProductCategory};

use crate::state::ConversationState;

/// The slot filled with the title of the product the conversation is about.
pub const PRODUCT_SLOT: &str = "商品";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Product(u32),
    Category(ProductCategory),
}

/// The compiled catalogue of one book.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    skus: Vec<String>,
    titles: Vec<String>,
    categories: Vec<ProductCategory>,
    /// Pattern index → what it names.
    targets: Vec<Target>,
    names: Option<AhoCorasick>,
}

/// What a conversation is about, resolved against the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Subject {
    pub(crate) product: Option<u32>,
    pub(crate) category: Option<ProductCategory>,
}

impl Catalog {
    pub(crate) fn new(norm: &Normalizer, book: &Phrasebook) -> Catalog {
        let mut c = Catalog::default();
        let mut patterns: Vec<String> = Vec::new();
        for (i, p) in book.products.iter().enumerate() {
            c.skus.push(p.sku.clone());
            c.titles.push(p.title.clone());
            c.categories.push(p.category);
            for name in std::iter::once(&p.title).chain(&p.aliases) {
                let n = norm.normalize_phrase(name);
                // One-character names (杯) would tie every turn to a product.
                if n.chars().count() >= 2 {
                    patterns.push(n);
                    c.targets.push(Target::Product(i as u32));
                }
            }
        }
        for cw in &book.category_words {
            for w in &cw.words {
                let n = norm.normalize_phrase(w);
                if !n.is_empty() {
                    patterns.push(n);
                    c.targets.push(Target::Category(cw.category));
                }
            }
        }
        if !patterns.is_empty() {
            // Building cannot fail for plain literal patterns of this size; if it ever did, the
            // catalogue only stops narrowing answers.
            c.names = AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&patterns)
                .ok();
        }
        c
    }

    pub(crate) fn index_of(&self, sku: &str) -> Option<u32> {
        self.skus.iter().position(|s| s == sku).map(|i| i as u32)
    }

    pub(crate) fn title(&self, product: u32) -> Option<&str> {
        self.titles.get(product as usize).map(String::as_str)
    }

    /// Updates the conversation's subject from the turn (the last mention in the turn wins; a
    /// product beats a category word in the same turn) and fills the {商品} slot.
    pub(crate) fn observe(&self, norm: &Normalizer, text: &str, state: &mut ConversationState) {
        if let Some(ac) = &self.names {
            let normalised = norm.normalize(text);
            let mut product = None;
            let mut category = None;
            for m in ac.find_iter(normalised.as_str()) {
                match self.targets.get(m.pattern().as_usize()) {
                    Some(Target::Product(p)) => product = Some(*p),
                    Some(Target::Category(c)) => category = Some(*c),
                    None => {}
                }
            }
            match (product, category) {
                (Some(p), _) => {
                    state.product = self.skus.get(p as usize).cloned();
                    state.category = None;
                }
                (None, Some(c)) => {
                    // "这个杯子" about the mug already known keeps the mug.
                    let same = self.subject(state).category == Some(c);
                    if !same {
                        state.product = None;
                        state.category = Some(c);
                    }
                }
                (None, None) => {}
            }
        }
        match self.subject(state).product.and_then(|p| self.title(p)) {
            Some(title) => state.set_slot(PRODUCT_SLOT, title),
            None => state.set_slot(PRODUCT_SLOT, ""),
        }
    }

    /// The product (when its sku is in this catalogue) and category of the conversation.
    pub(crate) fn subject(&self, state: &ConversationState) -> Subject {
        let product = state.product.as_deref().and_then(|s| self.index_of(s));
        let category = match product {
            Some(p) => self.categories.get(p as usize).copied(),
            None => state.category,
        };
        Subject { product, category }
    }
}
