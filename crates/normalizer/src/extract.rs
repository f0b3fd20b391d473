//! Main-text extraction: find the element that holds the article's paragraphs, then read its
//! blocks in order, leaving out page chrome.
//!
//! Scoring follows the readability family: every paragraph-like block outside chrome gives its
//! (non-link) text length to its parent and half of it to its grandparent; the best-scored
//! element is the article. Within it, chrome (share bars, captions, "read also" boxes, tags,
//! font controls) is skipped by tag and by class/id words, and link lists are dropped by link
//! density.

use khabar_html::{Document, NodeData, NodeRef};

/// Tags whose subtree is never article text.
fn is_skip_tag(name: &str) -> bool {
    matches!(
        name,
        "script"
            | "style"
            | "noscript"
            | "nav"
            | "header"
            | "footer"
            | "aside"
            | "figure"
            | "figcaption"
            | "button"
            | "iframe"
            | "svg"
            | "select"
            | "template"
            | "object"
            | "embed"
            | "canvas"
            | "input"
            | "textarea"
            | "label"
            | "menu"
            | "dialog"
            | "head"
            | "title"
            | "video"
            | "audio"
            | "picture"
    )
}

/// Tags that start a new paragraph.
fn is_block_tag(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "section"
            | "article"
            | "main"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "li"
            | "ul"
            | "ol"
            | "blockquote"
            | "pre"
            | "dd"
            | "dt"
            | "dl"
            | "td"
            | "th"
            | "tr"
            | "table"
            | "tbody"
            | "thead"
            | "center"
            | "hr"
            | "address"
    )
}

/// Tags that flow inside a line of text.
fn is_inline_tag(name: &str) -> bool {
    matches!(
        name,
        "a" | "span"
            | "strong"
            | "b"
            | "em"
            | "i"
            | "u"
            | "small"
            | "abbr"
            | "cite"
            | "q"
            | "sub"
            | "sup"
            | "mark"
            | "time"
            | "code"
            | "bdi"
            | "bdo"
            | "del"
            | "ins"
            | "s"
            | "var"
            | "kbd"
    )
}

/// Blocks whose own text counts when scoring containers.
fn is_paragraph_tag(name: &str) -> bool {
    matches!(
        name,
        "p" | "pre" | "blockquote" | "h2" | "h3" | "h4" | "li" | "td" | "dd"
    )
}

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
    "cookie",
    "recommend",
    "read-also",
    "readalso",
    "read-more",
    "readmore",
    "tags",
    "tag-list",
    "taglist",
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
fn is_chrome_token(name: &str) -> bool {
    matches!(
        name,
        "ad" | "ads"
            | "tools"
            | "tag"
            | "meta"
            | "nav"
            | "share"
            | "hidden"
            | "byline"
            | "dateline"
            | "font"
    )
}

fn tag_of(node: NodeRef<'_>) -> Option<&str> {
    match node.data() {
        NodeData::Element(e) => Some(e.name()),
        _ => None,
    }
}

/// Chrome by what the element is: a tag that never holds article text, hidden, or a
/// navigation role.
fn is_chrome_tag(node: NodeRef<'_>) -> bool {
    let NodeData::Element(element) = node.data() else {
        return false;
    };
    if is_skip_tag(element.name()) {
        return true;
    }
    element.attrs().any(|(key, value)| match key {
        "hidden" => true,
        "aria-hidden" => value == "true",
        "style" => style_hides(value),
        "role" => matches!(
            value,
            "navigation" | "complementary" | "contentinfo" | "banner"
        ),
        _ => false,
    })
}

/// `display: none` or `visibility: hidden` in an inline style.
fn style_hides(style: &str) -> bool {
    style.split(';').any(|declaration| {
        let Some((property, value)) = declaration.split_once(':') else {
            return false;
        };
        let (property, value) = (property.trim(), value.trim());
        let starts = |value: &str, word: &str| {
            value
                .get(..word.len())
                .is_some_and(|v| v.eq_ignore_ascii_case(word))
        };
        (property.eq_ignore_ascii_case("display") && starts(value, "none"))
            || (property.eq_ignore_ascii_case("visibility") && starts(value, "hidden"))
    })
}

/// Chrome by what the page calls it: class and id words (and forms, which are search boxes
/// and newsletter sign-ups unless a whole ASP.NET page sits in one).
fn is_chrome_name(node: NodeRef<'_>) -> bool {
    let NodeData::Element(element) = node.data() else {
        return false;
    };
    if element.name() == "form" {
        return true;
    }
    ["class", "id"]
        .iter()
        .filter_map(|attr| element.attr(attr))
        .any(|value| {
            CHROME_WORD_MATCHER
                .as_ref()
                .is_some_and(|m| m.is_match(value))
                || value
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .any(is_chrome_token_ignoring_case)
        })
}

/// [`CHROME_WORDS`] as one automaton, matched without lower-casing the attribute first.
static CHROME_WORD_MATCHER: std::sync::LazyLock<Option<aho_corasick::AhoCorasick>> =
    std::sync::LazyLock::new(|| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(CHROME_WORDS)
            .ok()
    });

fn is_chrome_token_ignoring_case(token: &str) -> bool {
    // The longest chrome token has 8 letters; longer ones need no lower-casing to be refused.
    let mut lower = [0u8; 8];
    let Some(buffer) = lower.get_mut(..token.len()) else {
        return false;
    };
    buffer.copy_from_slice(token.as_bytes());
    buffer.make_ascii_lowercase();
    std::str::from_utf8(buffer).is_ok_and(is_chrome_token)
}

/// Elements a class name never removes: the article's own wrappers (WordPress puts `tag-…`
/// and `category-…` classes on them).
fn is_protected(node: NodeRef<'_>) -> bool {
    let NodeData::Element(element) = node.data() else {
        return false;
    };
    matches!(element.name(), "html" | "body" | "article" | "main")
        || element.attr("role") == Some("main")
        || element
            .attr("itemprop")
            .is_some_and(|p| p.eq_ignore_ascii_case("articleBody"))
}

/// Decides what is chrome on one page: by tag always, by name unless the element holds most
/// of the page's text (a wrapper whose class happens to say "sidebar-layout").
struct Chrome {
    /// Per element, worked out once: its text below, and whether its tag or its name make it
    /// chrome (deciding by name costs string work the scoring would otherwise repeat).
    facts: Vec<Option<Facts>>,
    /// Per text node, its characters other than white space (counted once, read often).
    text_chars: Vec<u32>,
    total: usize,
}

#[derive(Clone, Copy)]
struct Facts {
    below: usize,
    by_tag: bool,
    by_name: bool,
}

impl Chrome {
    fn new(document: &Document) -> Chrome {
        fn walk(
            node: NodeRef<'_>,
            out: &mut Vec<Option<Facts>>,
            text_chars: &mut Vec<u32>,
        ) -> usize {
            let mut sum = 0;
            for child in node.children() {
                match child.data() {
                    NodeData::Text(t) => {
                        let n = count_text_chars(t);
                        text_chars[child.id().index()] = n as u32;
                        sum += n;
                    }
                    NodeData::Element(_) if is_chrome_tag(child) => {
                        out[child.id().index()] = Some(Facts {
                            below: 0,
                            by_tag: true,
                            by_name: false,
                        });
                    }
                    NodeData::Element(_) => {
                        let below = walk(child, out, text_chars);
                        let by_name = is_chrome_name(child) && !is_protected(child);
                        out[child.id().index()] = Some(Facts {
                            below,
                            by_tag: false,
                            by_name,
                        });
                        sum += below;
                    }
                    _ => {}
                }
            }
            sum
        }
        let mut facts = vec![None; document.len()];
        let mut text_chars = vec![u32::MAX; document.len()];
        let total = walk(document.root(), &mut facts, &mut text_chars);
        Chrome {
            facts,
            text_chars,
            total,
        }
    }

    /// Characters other than white space in a text node.
    fn chars(&self, node: NodeRef<'_>, text: &str) -> usize {
        match self.text_chars.get(node.id().index()) {
            Some(&n) if n != u32::MAX => n as usize,
            _ => count_text_chars(text),
        }
    }

    fn is_chrome(&self, node: NodeRef<'_>) -> bool {
        match self.facts.get(node.id().index()).copied().flatten() {
            Some(f) => f.by_tag || (f.by_name && f.below * 2 < self.total),
            // Not reached by the walk: inside a chrome subtree, or not an element.
            None => is_chrome_tag(node),
        }
    }
}

/// Characters other than white space, counted on bytes: only a few lead bytes can begin a
/// non-ASCII space, and only those characters are decoded.
fn count_text_chars(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut count = 0;
    for (at, &b) in bytes.iter().enumerate() {
        if b < 0x80 {
            count += usize::from(!b.is_ascii_whitespace());
        } else if b >= 0xC0 {
            let may_be_space = matches!(b, 0xC2 | 0xE1 | 0xE2 | 0xE3);
            let is_space = may_be_space
                && text
                    .get(at..)
                    .and_then(|rest| rest.chars().next())
                    .is_some_and(char::is_whitespace);
            count += usize::from(!is_space);
        }
    }
    count
}

/// Text of a subtree (chrome left out) and how much of it sits inside links.
fn text_and_link_chars(chrome: &Chrome, node: NodeRef<'_>) -> (usize, usize) {
    fn walk(chrome: &Chrome, node: NodeRef<'_>, in_link: bool, text: &mut usize, link: &mut usize) {
        for child in node.children() {
            match child.data() {
                NodeData::Text(t) => {
                    let n = chrome.chars(child, t);
                    *text += n;
                    if in_link {
                        *link += n;
                    }
                }
                NodeData::Element(_) if chrome.is_chrome(child) => {}
                NodeData::Element(e) => walk(chrome, child, in_link || e.name() == "a", text, link),
                _ => {}
            }
        }
    }
    let (mut text, mut link) = (0, 0);
    walk(chrome, node, false, &mut text, &mut link);
    (text, link)
}

/// Text directly in an element: its text nodes and inline children, not its blocks.
fn direct_text(chrome: &Chrome, node: NodeRef<'_>) -> (usize, usize) {
    let (mut text, mut link) = (0, 0);
    for child in node.children() {
        match child.data() {
            NodeData::Text(t) => text += chrome.chars(child, t),
            NodeData::Element(e) if is_inline_tag(e.name()) && !chrome.is_chrome(child) => {
                let (t, l) = text_and_link_chars(chrome, child);
                text += t;
                link += if e.name() == "a" { t } else { l };
            }
            _ => {}
        }
    }
    (text, link)
}

/// Scores every element and returns the best container, if any scored.
fn best_container<'a>(document: &'a Document, chrome: &Chrome) -> Vec<NodeRef<'a>> {
    let mut scores = vec![0.0f64; document.len()];
    let mut stack = vec![document.root()];
    while let Some(node) = stack.pop() {
        if chrome.is_chrome(node) {
            continue;
        }
        if let Some(tag) = tag_of(node) {
            if is_paragraph_tag(tag) {
                let (text, link) = text_and_link_chars(chrome, node);
                if text >= 20 && (link as f64) < 0.5 * text as f64 {
                    let score = (text - link) as f64;
                    if let Some(parent) = node.parent() {
                        scores[parent.id().index()] += score;
                        if let Some(grand) = parent.parent() {
                            scores[grand.id().index()] += score / 2.0;
                        }
                    }
                }
                continue;
            }
            // Pages without <p>: text written straight into a block (with <br>s) scores for
            // the block itself.
            let (own, own_link) = direct_text(chrome, node);
            if own >= 40 && (own_link as f64) < 0.5 * own as f64 {
                let score = (own - own_link) as f64;
                scores[node.id().index()] += score;
                if let Some(parent) = node.parent() {
                    scores[parent.id().index()] += score / 2.0;
                }
            }
        }
        stack.extend(node.children());
    }
    // The best score; of equal ones, the first in the page.
    let Some((best, best_score)) = document
        .elements()
        .map(|(node, _)| (node, scores[node.id().index()]))
        .filter(|(_, score)| *score > 0.0)
        .fold(
            None,
            |best: Option<(NodeRef<'a>, f64)>, (node, score)| match best {
                Some((_, top)) if top >= score => best,
                _ => Some((node, score)),
            },
        )
    else {
        return Vec::new();
    };
    let best_id = best.id();
    // Many sites cut a story into sibling sections (between ads, pull quotes, newsletters),
    // sometimes a level or two above the paragraphs' parent: at the highest of those levels
    // where siblings share the section's class, the story is all of them; otherwise siblings
    // that score well join the best one.
    let class_of = |n: NodeRef<'_>| match n.data() {
        NodeData::Element(e) => e.attr("class").map(str::to_string),
        _ => None,
    };
    let score_of = |n: NodeRef<'_>| scores.get(n.id().index()).copied().unwrap_or(0.0);
    let subtree_scores = |n: NodeRef<'_>| n.descendants().map(score_of).sum::<f64>();
    let mut level = best;
    let mut chosen: Option<Vec<NodeRef<'_>>> = None;
    for _ in 0..3 {
        let Some(parent) = level.parent() else { break };
        if let Some(class) = class_of(level) {
            let same: Vec<NodeRef<'_>> = parent
                .children()
                .filter(|s| {
                    s.id() == level.id()
                        || (class_of(*s).as_deref() == Some(class.as_str())
                            && !chrome.is_chrome(*s)
                            && subtree_scores(*s) > 0.0)
                })
                .collect();
            if same.len() > 1 {
                chosen = Some(same);
            }
        }
        level = parent;
    }
    if let Some(sections) = chosen {
        return sections;
    }
    let Some(parent) = best.parent() else {
        return vec![best];
    };
    parent
        .children()
        .filter(|sibling| {
            sibling.id() == best_id
                || (!chrome.is_chrome(*sibling)
                    && matches!(sibling.data(), NodeData::Element(_))
                    && score_of(*sibling) >= best_score * 0.2)
        })
        .collect()
}

/// The element a page itself marks as the article body (`itemprop="articleBody"`), when there
/// is exactly one and it holds real text.
fn declared_body<'a>(document: &'a Document, chrome: &Chrome) -> Option<NodeRef<'a>> {
    let mut found = document.root().descendants().filter(|n| match n.data() {
        NodeData::Element(e) => e.attr("itemprop").is_some_and(|p| {
            p.split_whitespace()
                .any(|v| v.eq_ignore_ascii_case("articleBody"))
        }),
        _ => false,
    });
    let body = found.next()?;
    if found.next().is_some() || chrome.is_chrome(body) {
        return None;
    }
    let (text, link) = text_and_link_chars(chrome, body);
    (text >= 200 && link * 2 < text).then_some(body)
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

    fn walk(&mut self, chrome: &Chrome, node: NodeRef<'_>, in_link: bool) {
        for child in node.children() {
            match child.data() {
                NodeData::Text(t) => {
                    self.current.push_str(t);
                    let n = chrome.chars(child, t);
                    self.current_chars += n;
                    if in_link {
                        self.current_link_chars += n;
                    }
                }
                NodeData::Element(_) if chrome.is_chrome(child) => {}
                NodeData::Element(e) => {
                    let name = e.name();
                    if name == "br" {
                        // Two <br> in a row separate paragraphs in pages without <p>.
                        if self.current.ends_with('\u{2028}') {
                            self.current.pop();
                            self.flush();
                        } else {
                            self.current.push('\u{2028}');
                        }
                    } else if is_block_tag(name) {
                        self.flush();
                        self.walk(chrome, child, in_link);
                        self.flush();
                    } else {
                        self.walk(chrome, child, in_link || name == "a");
                    }
                }
                _ => {}
            }
        }
    }
}

/// The article's paragraphs, in order; empty when nothing looks like an article.
pub fn main_text(document: &Document) -> Vec<String> {
    let chrome = Chrome::new(document);
    let mut blocks = Blocks::default();
    let containers = match declared_body(document, &chrome) {
        Some(body) => vec![body],
        None => best_container(document, &chrome),
    };
    for container in containers {
        blocks.walk(&chrome, container, false);
        blocks.flush();
    }
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
        let doc = Document::parse(html);
        assert_eq!(
            main_text(&doc),
            vec![
                "The first paragraph of the article, long enough to count as text.".to_string(),
                "The second paragraph, with a link inside a sentence of prose.".to_string(),
            ]
        );
    }

    #[test]
    fn counts_characters_other_than_white_space() {
        for text in [
            "",
            "  a b\tc\n",
            "قسد\u{00A0}و\u{2003}ب",
            "x\u{3000}y\u{1680}z\u{2029}",
            "é€𝄞",
        ] {
            assert_eq!(
                count_text_chars(text),
                text.chars().filter(|c| !c.is_whitespace()).count(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn inline_styles_that_hide() {
        assert!(style_hides("color: red; DISPLAY : None !important"));
        assert!(style_hides("visibility:hidden"));
        assert!(!style_hides("display: block; visibility: visible"));
        assert!(!style_hides("font-family: none"));
    }

    #[test]
    fn double_br_splits_paragraphs() {
        let html = "<div id=story><p>One line of a story that is long enough<br><br>Two, another part of it that is long</p></div>";
        let doc = Document::parse(html);
        assert_eq!(main_text(&doc).len(), 2);
    }
}
