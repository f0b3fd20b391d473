//! Main-text extraction: find the element that holds the article's paragraphs, then read its
//! blocks in order, leaving out page chrome.
//!
//! Scoring follows the readability family: every paragraph-like block outside chrome gives its
//! (non-link) text length to its parent and half of it to its grandparent; the best-scored
//! element is the article. Within it, chrome (share bars, captions, "read also" boxes, tags,
//! font controls) is skipped by tag and by class/id words, and link lists are dropped by link
//! density.

use ego_tree::NodeRef;
use scraper::{Html, Node};

/// Tags whose subtree is never article text.
const SKIP_TAGS: &[&str] = &[
    "script",
    "style",
    "noscript",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "figure",
    "figcaption",
    "button",
    "iframe",
    "svg",
    "select",
    "template",
    "object",
    "embed",
    "canvas",
    "input",
    "textarea",
    "label",
    "menu",
    "dialog",
    "head",
    "title",
    "video",
    "audio",
    "picture",
];

/// Tags that start a new paragraph.
const BLOCK_TAGS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "ul",
    "ol",
    "blockquote",
    "pre",
    "dd",
    "dt",
    "dl",
    "td",
    "th",
    "tr",
    "table",
    "tbody",
    "thead",
    "center",
    "hr",
    "address",
];

/// Blocks whose own text counts when scoring containers.
const PARAGRAPH_TAGS: &[&str] = &["p", "pre", "blockquote", "h2", "h3", "h4", "li", "td", "dd"];

/// Class or id fragments of chrome. Matched as substrings of the lower-cased class and id.
const CHROME_WORDS: &[&str] = &[
    "share",
    "social",
    "related",
    "most-read",
    "mostread",
    "most_read",
    "popular",
    "newsletter",
    "subscribe",
    "breadcrumb",
    "comment",
    "advert",
    "promo",
    "sidebar",
    "widget",
    "cookie",
    "recommend",
    "read-also",
    "readalso",
    "read-more",
    "readmore",
    "tags",
    "tag-list",
    "taglist",
    "font",
    "toolbar",
    "caption",
    "breaking",
    "footer",
    "navbar",
    "nav-",
    "-nav",
    "menu",
    "sponsor",
    "outbrain",
    "taboola",
    "print-",
    "author-bio",
    "signup",
    "banner",
    "modal",
    "pagination",
    "skip-link",
    "copyright",
];

/// Class or id tokens (whole words between `-`, `_` or spaces) of chrome.
const CHROME_TOKENS: &[&str] = &[
    "ad", "ads", "tools", "tag", "meta", "nav", "share", "hidden", "byline", "dateline",
];

fn tag_of(node: NodeRef<'_, Node>) -> Option<&str> {
    match node.value() {
        Node::Element(e) => Some(e.name()),
        _ => None,
    }
}

fn is_chrome_element(node: NodeRef<'_, Node>) -> bool {
    let Node::Element(element) = node.value() else {
        return false;
    };
    let name = element.name();
    if SKIP_TAGS.contains(&name) {
        return true;
    }
    if element.attr("hidden").is_some() || element.attr("aria-hidden") == Some("true") {
        return true;
    }
    if let Some(style) = element.attr("style") {
        let style = style.to_ascii_lowercase().replace(' ', "");
        if style.contains("display:none") || style.contains("visibility:hidden") {
            return true;
        }
    }
    if matches!(
        element.attr("role"),
        Some("navigation" | "complementary" | "contentinfo" | "banner")
    ) {
        return true;
    }
    let mut names = String::new();
    for attr in ["class", "id"] {
        if let Some(v) = element.attr(attr) {
            names.push(' ');
            names.push_str(&v.to_ascii_lowercase());
        }
    }
    if names.is_empty() {
        return false;
    }
    if CHROME_WORDS.iter().any(|w| names.contains(w)) {
        return true;
    }
    names
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|token| CHROME_TOKENS.contains(&token))
}

/// Text of a subtree (chrome left out) and how much of it sits inside links.
fn text_and_link_chars(node: NodeRef<'_, Node>) -> (usize, usize) {
    fn walk(node: NodeRef<'_, Node>, in_link: bool, text: &mut usize, link: &mut usize) {
        for child in node.children() {
            match child.value() {
                Node::Text(t) => {
                    let n = t.chars().filter(|c| !c.is_whitespace()).count();
                    *text += n;
                    if in_link {
                        *link += n;
                    }
                }
                Node::Element(_) if is_chrome_element(child) => {}
                Node::Element(e) => walk(child, in_link || e.name() == "a", text, link),
                _ => {}
            }
        }
    }
    let (mut text, mut link) = (0, 0);
    walk(node, false, &mut text, &mut link);
    (text, link)
}

/// Scores every element and returns the best container, if any scored.
fn best_container(document: &Html) -> Option<NodeRef<'_, Node>> {
    use std::collections::HashMap;
    let mut scores: HashMap<ego_tree::NodeId, f64> = HashMap::new();
    let mut stack = vec![document.tree.root()];
    while let Some(node) = stack.pop() {
        if is_chrome_element(node) {
            continue;
        }
        if let Some(tag) = tag_of(node) {
            if PARAGRAPH_TAGS.contains(&tag) {
                let (text, link) = text_and_link_chars(node);
                if text >= 20 && (link as f64) < 0.5 * text as f64 {
                    let score = (text - link) as f64;
                    if let Some(parent) = node.parent() {
                        *scores.entry(parent.id()).or_default() += score;
                        if let Some(grand) = parent.parent() {
                            *scores.entry(grand.id()).or_default() += score / 2.0;
                        }
                    }
                }
                continue;
            }
        }
        stack.extend(node.children());
    }
    let (id, _) = scores
        .into_iter()
        .filter(|(id, _)| {
            document
                .tree
                .get(*id)
                .is_some_and(|n| matches!(n.value(), Node::Element(_)))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))?;
    document.tree.get(id)
}

#[derive(Default)]
struct Blocks {
    paragraphs: Vec<String>,
    current: String,
    current_chars: usize,
    current_link_chars: usize,
}

impl Blocks {
    fn flush(&mut self) {
        let text = khabar_text::collapse_whitespace(&self.current);
        let link_heavy = self.current_chars > 0 && self.current_link_chars * 2 > self.current_chars;
        if !text.is_empty() && !link_heavy {
            self.paragraphs.push(text);
        }
        self.current.clear();
        self.current_chars = 0;
        self.current_link_chars = 0;
    }

    fn walk(&mut self, node: NodeRef<'_, Node>, in_link: bool) {
        for child in node.children() {
            match child.value() {
                Node::Text(t) => {
                    self.current.push_str(t);
                    let n = t.chars().filter(|c| !c.is_whitespace()).count();
                    self.current_chars += n;
                    if in_link {
                        self.current_link_chars += n;
                    }
                }
                Node::Element(_) if is_chrome_element(child) => {}
                Node::Element(e) => {
                    let name = e.name();
                    if name == "br" {
                        // Two <br> in a row separate paragraphs in pages without <p>.
                        if self.current.ends_with('\u{2028}') {
                            self.current.pop();
                            self.flush();
                        } else {
                            self.current.push('\u{2028}');
                        }
                    } else if BLOCK_TAGS.contains(&name) {
                        self.flush();
                        self.walk(child, in_link);
                        self.flush();
                    } else {
                        self.walk(child, in_link || name == "a");
                    }
                }
                _ => {}
            }
        }
    }
}

/// The article's paragraphs, in order; empty when nothing looks like an article.
pub fn main_text(document: &Html) -> Vec<String> {
    let Some(container) = best_container(document) else {
        return Vec::new();
    };
    let mut blocks = Blocks::default();
    blocks.walk(container, false);
    blocks.flush();
    blocks
        .paragraphs
        .into_iter()
        .map(|p| p.replace('\u{2028}', " ").trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_paragraph_container_and_skips_chrome() {
        let html = r##"<html><body>
          <nav><a href="/">Home</a><a href="/x">Politics and a long menu entry here</a></nav>
          <div class="content">
            <figure><figcaption>A caption that should never appear in the text</figcaption></figure>
            <div class="share-tools"><a href="#">Share on the social network of your choice</a></div>
            <p>The first paragraph of the article, long enough to count as text.</p>
            <p>The second paragraph, with <a href="/y">a link</a> inside a sentence of prose.</p>
            <div class="related"><p>Read also: another story that is only a teaser</p></div>
          </div>
          <footer><p>Copyright notice that is long enough to be a paragraph</p></footer>
        </body></html>"##;
        let doc = Html::parse_document(html);
        assert_eq!(
            main_text(&doc),
            vec![
                "The first paragraph of the article, long enough to count as text.".to_string(),
                "The second paragraph, with a link inside a sentence of prose.".to_string(),
            ]
        );
    }

    #[test]
    fn double_br_splits_paragraphs() {
        let html = "<div id=story><p>One line of a story that is long enough<br><br>Two, another part of it that is long</p></div>";
        let doc = Html::parse_document(html);
        assert_eq!(main_text(&doc).len(), 2);
    }
}
