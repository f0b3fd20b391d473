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
    /// `by_name`: whether class and id words make chrome (the second opinion of the sanity
    /// check goes by tag alone).
    fn new(document: &Document, by_name: bool) -> Chrome {
        fn walk(
            node: NodeRef<'_>,
            by_names: bool,
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
                        let below = walk(child, by_names, out, text_chars);
                        let by_name = by_names && is_chrome_name(child) && !is_protected(child);
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
        let total = walk(document.root(), by_name, &mut facts, &mut text_chars);
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

fn is_article(node: NodeRef<'_>) -> bool {
    tag_of(node) == Some("article")
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
                        // An <article> is a story of its own: its text never makes the
                        // block around it (a listing of teasers) look like the story.
                        if let Some(grand) = parent.parent().filter(|_| !is_article(parent)) {
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
                if let Some(parent) = node.parent().filter(|_| !is_article(node)) {
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
    // A sibling that is or holds an <article> is another story (a "you may also like" block
    // of full teasers, the next post on a blog page), never more of this one.
    // Checked last, on the few siblings that score well enough to join.
    let holds_other_stories = |n: NodeRef<'_>| n.descendants().any(is_article);
    parent
        .children()
        .filter(|sibling| {
            sibling.id() == best_id
                || (!chrome.is_chrome(*sibling)
                    && matches!(sibling.data(), NodeData::Element(_))
                    && score_of(*sibling) >= best_score * 0.2
                    && !holds_other_stories(*sibling))
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
                    } else if khabar_html::is_block_tag(name) {
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

/// Below this many characters (other than white space; some 80 words) an extraction is
/// checked against a second opinion before it is believed.
const SHORT_TEXT_CHARS: usize = 450;

/// The paragraphs of `containers`, chrome left out.
fn paragraphs_of(chrome: &Chrome, containers: Vec<NodeRef<'_>>) -> Vec<String> {
    let mut blocks = Blocks::default();
    for container in containers {
        blocks.walk(chrome, container, false);
        blocks.flush();
    }
    blocks
        .paragraphs
        .into_iter()
        .map(|p| p.replace('\u{2028}', " ").trim().to_string())
        .filter(|p| !p.is_empty() && !is_chrome_line(p))
        .collect()
}

/// Lines that open navigation to other stories or announce a list of them (search form).
const NAVIGATION_OPENERS: &[&str] = &[
    "المقال السابق",
    "المقال التالي",
    "المقاله السابقه",
    "المقاله التاليه",
    "الخبر السابق",
    "الخبر التالي",
    "الموضوع السابق",
    "الموضوع التالي",
    "اقرا ايضا",
    "اقرا المزيد",
    "اقرا كذلك",
    "شاهد ايضا",
    "طالع ايضا",
    "مواضيع ذات صله",
    "اخبار ذات صله",
    "مقالات ذات صله",
    "previous article",
    "next article",
    "previous post",
    "next post",
    "read also",
    "read more",
    "see also",
    "related articles",
    "related stories",
];

/// Phrases of comment policies and opinion disclaimers (search form).
const POLICY_PHRASES: &[&str] = &[
    "التعليقات المنشوره",
    "التعليقات لا تعبر",
    "لا تعبر عن راي الموقع",
    "لا تعبر بالضروره عن راي",
    "تعبر عن راي اصحابها",
    "تعبر عن راي كاتبها",
    "سياسه التعليقات",
    "شروط التعليق",
    "اضف تعليقك",
    "ارسل تعليقك",
    "comments are moderated",
    "comment policy",
    "leave a comment",
    "post a comment",
    "views expressed in the comments",
];

/// Words (as written) without which a line is no comment policy: checked in one pass before
/// the line is folded for [`POLICY_PHRASES`].
static POLICY_TRIGGERS: std::sync::LazyLock<Option<aho_corasick::AhoCorasick>> =
    std::sync::LazyLock::new(|| {
        aho_corasick::AhoCorasick::new(["تعليق", "رأي", "راي", "omment", "views expressed"]).ok()
    });

/// Words that say "minutes" in a reading-time label (search form).
const MINUTE_WORDS: &[&str] = &[
    "min",
    "mins",
    "minute",
    "minutes",
    "دقيقه",
    "دقائق",
    "دقيقتان",
    "دقيقتين",
    "د",
];

/// A line of page chrome that sits among the story's paragraphs on news sites (Arabic ones
/// above all): a reading-time label ("2min", "3 دقائق للقراءة"), a link to the previous or
/// next story or a "read also" teaser, a comment policy. Only short lines are judged, so
/// prose that mentions minutes or comments is never dropped.
fn is_chrome_line(paragraph: &str) -> bool {
    // Thirty words never take 600 bytes in any script: longer paragraphs are prose, and are
    // let through without reading them.
    if paragraph.len() > 600 {
        return false;
    }
    // Paragraphs come with their white space collapsed to single spaces.
    let words = paragraph.bytes().filter(|b| *b == b' ').count() + 1;
    if words > 30 {
        return false;
    }
    // Folding costs more than the rest of the check: only what can match is folded (a short
    // line whole, a longer one's opening words, a policy only when it names comments or
    // opinions).
    if words <= 6
        && paragraph.chars().any(char::is_numeric)
        && is_reading_time(&khabar_text::normalize_for_search(paragraph))
    {
        return true;
    }
    // English openers are ASCII: compared as written, case aside. Arabic ones are folded
    // first (hamza forms, taa marbuta), and only when the line starts with an opener's letter.
    let opening = paragraph.trim_start_matches(|c: char| !c.is_alphanumeric());
    let first_letter = opening.chars().next();
    if first_letter.is_some_and(|c| c.is_ascii_alphabetic()) {
        let head = opening.get(..24).unwrap_or(opening);
        let opens = NAVIGATION_OPENERS.iter().any(|o| {
            o.is_ascii()
                && head
                    .get(..o.len())
                    .is_some_and(|h| h.eq_ignore_ascii_case(o))
        });
        if opens {
            return true;
        }
    } else if first_letter.is_some_and(|c| matches!(c, 'ا' | 'أ' | 'إ' | 'آ' | 'م' | 'ش' | 'ط'))
    {
        let opening_end = opening
            .char_indices()
            .filter(|(_, c)| c.is_whitespace())
            .map(|(at, _)| at)
            .nth(3)
            .unwrap_or(opening.len());
        let folded =
            khabar_text::normalize_for_search(opening.get(..opening_end).unwrap_or(opening));
        if NAVIGATION_OPENERS.iter().any(|o| folded.starts_with(o)) {
            return true;
        }
    }
    let names_policy = POLICY_TRIGGERS
        .as_ref()
        .is_some_and(|triggers| triggers.is_match(paragraph));
    names_policy && {
        let folded = khabar_text::normalize_for_search(paragraph);
        POLICY_PHRASES.iter().any(|p| folded.contains(p))
    }
}

/// "2min", "3 min read", "5 دقائق", "وقت القراءة: 4 دقائق": a number and a word for minutes,
/// with at most reading words beside them.
fn is_reading_time(folded: &str) -> bool {
    let mut has_number = false;
    let mut has_minutes = false;
    for token in
        folded.split(|c: char| c.is_whitespace() || matches!(c, ':' | '-' | '|' | '،' | ','))
    {
        if token.is_empty() {
            continue;
        }
        let digits = token.chars().take_while(char::is_ascii_digit).count();
        let (number, rest) = token.split_at(digits);
        if !number.is_empty() {
            has_number = true;
        }
        if rest.is_empty() {
            continue;
        }
        if MINUTE_WORDS.contains(&rest) {
            has_minutes = true;
        } else if !matches!(
            rest,
            "read" | "reading" | "time" | "وقت" | "القراءه" | "للقراءه" | "قراءه"
        ) {
            return false;
        }
    }
    has_number && has_minutes
}

fn chars_of(paragraphs: &[String]) -> usize {
    paragraphs.iter().map(|p| count_text_chars(p)).sum()
}

/// Inside a comment thread: readers' text, however long, is not the article.
fn in_comments(node: NodeRef<'_>) -> bool {
    std::iter::successors(Some(node), |n| n.parent()).any(|n| match n.data() {
        NodeData::Element(e) => ["class", "id"]
            .iter()
            .filter_map(|a| e.attr(a))
            .any(|v| v.to_ascii_lowercase().contains("comment")),
        _ => false,
    })
}

/// The article's paragraphs, in order; empty when nothing looks like an article.
///
/// A short result is checked, as mature extractors do with their fallbacks: a story whose
/// wrapper has a class word of chrome ("breaking", "promo") is lost to the name rules, and
/// what is left is a related-link headline or a teaser. A second opinion chooses the block
/// by tag alone; when its text is several times longer (and not a comment thread), it is
/// the article, read with the chrome inside it left out.
pub fn main_text(document: &Document) -> Vec<String> {
    let chrome = Chrome::new(document, true);
    let containers = match declared_body(document, &chrome) {
        Some(body) => vec![body],
        None => best_container(document, &chrome),
    };
    let chosen = paragraphs_of(&chrome, containers);
    let chosen_chars = chars_of(&chosen);
    if chosen_chars >= SHORT_TEXT_CHARS {
        return chosen;
    }
    let by_tag = Chrome::new(document, false);
    let others = best_container(document, &by_tag);
    if others.iter().any(|n| in_comments(*n)) {
        return chosen;
    }
    let other = paragraphs_of(&chrome, others);
    let other_chars = chars_of(&other);
    if other_chars >= SHORT_TEXT_CHARS && other_chars >= 3 * chosen_chars {
        other
    } else {
        chosen
    }
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

    fn sentence(n: usize, topic: &str) -> String {
        (0..n)
            .map(|i| format!("Sentence {i} of the {topic} goes on for a while to make real prose."))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn a_story_lost_to_a_class_word_is_found_by_the_second_opinion() {
        // The body's wrapper says "breaking" (a chrome word); the page's other text is a
        // long menu and a related headline.
        let html = format!(
            r#"<html><body><div class="menu-wrap">{menu}</div>
            <div class="story breaking-story"><p>{body}</p><p>{body2}</p></div>
            <div class="more"><p><a href="/x">A related headline of twelve words about another story</a> and more words here</p></div>
            </body></html>"#,
            menu = "<a href='/'>Section</a> ".repeat(80),
            body = sentence(5, "story"),
            body2 = sentence(4, "story's end"),
        );
        let text = main_text(&Document::parse(&html)).join("\n");
        assert!(text.contains("Sentence 4 of the story"), "{text}");
        assert!(!text.contains("related headline"), "{text}");
    }

    #[test]
    fn a_short_brief_is_kept_beside_a_long_comment_thread() {
        let html = format!(
            r#"<html><body><div class="menu-wrap">{menu}</div><article><p>{brief}</p></article>
            <section class="comments-area"><div><p>{c1}</p><p>{c2}</p><p>{c3}</p></div></section></body></html>"#,
            menu = "<a href='/'>Section</a> ".repeat(300),
            brief = sentence(2, "brief"),
            c1 = sentence(5, "first comment"),
            c2 = sentence(5, "second comment"),
            c3 = sentence(5, "third comment"),
        );
        let text = main_text(&Document::parse(&html)).join("\n");
        assert!(text.contains("of the brief"), "{text}");
        assert!(!text.contains("comment"), "{text}");
    }

    #[test]
    fn a_block_of_other_articles_is_neither_the_story_nor_part_of_it() {
        let teaser = |i: usize| {
            format!(
                "<article><h3><a href='/{i}'>Teaser {i}</a></h3><p>{}</p></article>",
                sentence(2, "teaser")
            )
        };
        let html = format!(
            r#"<html><body><div id="primary"><article class="post"><h1>Title</h1><p>{story}</p></article>
            <div class="postbox">{teasers}</div></div></body></html>"#,
            story = sentence(4, "story"),
            teasers = (0..6).map(teaser).collect::<String>(),
        );
        let text = main_text(&Document::parse(&html)).join("\n");
        assert!(text.contains("of the story"), "{text}");
        assert!(!text.contains("teaser"), "{text}");
    }

    #[test]
    fn chrome_lines_among_the_paragraphs() {
        for line in [
            "2min",
            "3 min read",
            "وقت القراءة: 4 دقائق",
            "٥ دقائق للقراءة",
            "المقال السابق: التحالف يعلن انتهاء العمليات في الباغوز",
            "اقرأ أيضاً: قسد تعلن السيطرة على آخر جيب",
            "« Previous article Strikes resume",
            "التعليقات المنشورة لا تعبر عن رأي الموقع وإنما عن رأي أصحابها",
            "Comments are moderated and may take a while to appear.",
        ] {
            assert!(is_chrome_line(line), "{line}");
        }
        for line in [
            "قال المتحدث إن القصف استمر 20 دقيقة قبل أن يتوقف.",
            "The strike lasted 20 minutes.",
            "التالي في القائمة كان مستشفى المدينة الذي تعرض للقصف مرتين خلال أسبوع واحد.",
            "2019",
            "Read the full statement of the coalition, published on Monday, below.",
        ] {
            assert!(!is_chrome_line(line), "{line}");
        }
    }
}
