//! The tolerant feed reader: what Khabar reads when feed-rs refuses a document, or reads it
//! without titles.
//!
//! feed-rs builds a strict model and rejects the whole document over one element it does not
//! know (an Atom title with `type="text/plain"`, a CDF channel), and reads some valid feeds
//! as empty (RSS 0.90, titles only in `dc:title`). This reader walks the document as a stream
//! of namespace-resolved events and never gives up on the document because of one element:
//! every element either fills a field it is known for, or is skipped. It knows RSS 0.90 to
//! 2.0 (prefixed or not), RSS 1.0 modules (Dublin Core, content), Atom 0.3 and 1.0 text
//! constructs (text, html, xhtml, base64, any media type), Media RSS, iTunes (in any letter
//! case) and Microsoft CDF; an element name whose prefix was never declared is read by its
//! usual prefix. A JSON document is read as a JSON Feed of any version.
//!
//! What it recovered and how is said in [`Recovered::notes`], which `khabar inspect feed`
//! prints.

use std::collections::BTreeMap;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use serde_json::Value;

use crate::repair::html4_differs;

/// How far down the open elements an end tag looks for the element it closes.
const CLOSE_SEARCH_DEPTH: usize = 64;

/// Reading stops after this many syntax errors: the document is noise, not a feed.
const MAX_ERRORS: usize = 256;

/// The fields of a feed or of one item, as text; dates are parsed by the caller.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fields {
    pub title: Option<String>,
    /// Whether the title is HTML as its element says (`type="html"`: `Some(true)`; text,
    /// XHTML flattened or base64: `Some(false)`), `None` when the element does not say.
    pub title_is_html: Option<bool>,
    pub link: Option<String>,
    pub id: Option<String>,
    pub published: Option<String>,
    pub updated: Option<String>,
    pub summary: Option<String>,
    pub authors: Vec<String>,
    pub categories: Vec<String>,
    pub language: Option<String>,
    pub ttl: Option<String>,
}

/// A document as the tolerant reader read it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Recovered {
    pub feed: Fields,
    pub items: Vec<Fields>,
    /// What was recovered and how ("titles from dc:title: 3", "XHTML text flattened: 1").
    pub notes: Vec<String>,
}

/// The vocabularies feeds are written in, by namespace (or, undeclared, by usual prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Vocabulary {
    /// RSS of every version and CDF; Atom's elements are read as these where names agree.
    Core,
    Atom,
    DublinCore,
    DublinCoreTerms,
    Media,
    Itunes,
    Content,
    Other,
}

fn vocabulary_of_namespace(uri: &[u8]) -> Vocabulary {
    let uri = String::from_utf8_lossy(uri).to_ascii_lowercase();
    let uri = uri.trim().trim_end_matches(['/', '#']);
    match uri {
        "http://www.w3.org/2005/atom" | "http://purl.org/atom/ns" => Vocabulary::Atom,
        "http://purl.org/rss/1.0"
        | "http://my.netscape.com/rdf/simple/0.9"
        | "http://backend.userland.com/rss2"
        | "http://blogs.law.harvard.edu/tech/rss"
        | "http://purl.org/net/rss1.1" => Vocabulary::Core,
        "http://purl.org/dc/elements/1.1" => Vocabulary::DublinCore,
        "http://purl.org/dc/terms" => Vocabulary::DublinCoreTerms,
        "http://search.yahoo.com/mrss" => Vocabulary::Media,
        "http://www.itunes.com/dtds/podcast-1.0.dtd" => Vocabulary::Itunes,
        "http://purl.org/rss/1.0/modules/content" => Vocabulary::Content,
        _ => Vocabulary::Other,
    }
}

fn vocabulary_of_prefix(prefix: &[u8]) -> Vocabulary {
    match prefix.to_ascii_lowercase().as_slice() {
        b"atom" => Vocabulary::Atom,
        b"rss" | b"rss1" => Vocabulary::Core,
        b"dc" => Vocabulary::DublinCore,
        b"dcterms" => Vocabulary::DublinCoreTerms,
        b"media" => Vocabulary::Media,
        b"itunes" => Vocabulary::Itunes,
        b"content" => Vocabulary::Content,
        _ => Vocabulary::Other,
    }
}

/// What an element's text is for. The number is the rank among elements that fill the same
/// field: lower wins, so `<title>` beats `dc:title`, which beats `media:title`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Title(u8, &'static str),
    Link(u8),
    Id(u8),
    Published(u8),
    Updated(u8),
    Summary(u8),
    Author,
    Category,
    Language,
    Ttl,
}

fn role_of(vocabulary: Vocabulary, local: &str) -> Option<Role> {
    use Role::*;
    Some(match (vocabulary, local) {
        (Vocabulary::Core, "title") => Title(0, "title"),
        (Vocabulary::Core, "link") => Link(0),
        (Vocabulary::Core, "guid" | "id") => Id(0),
        (Vocabulary::Core, "pubdate" | "published" | "issued") => Published(0),
        (Vocabulary::Core, "updated" | "modified") => Updated(0),
        (Vocabulary::Core, "lastbuilddate") => Updated(1),
        (Vocabulary::Core, "description" | "summary" | "abstract" | "subtitle" | "tagline") => {
            Summary(0)
        }
        (Vocabulary::Core, "content") => Summary(1),
        (Vocabulary::Core, "author") => Author,
        (Vocabulary::Core, "category") => Category,
        (Vocabulary::Core, "language") => Language,
        (Vocabulary::Core, "ttl") => Ttl,
        (Vocabulary::DublinCore, "title") => Title(1, "dc:title"),
        (Vocabulary::DublinCore, "creator") => Author,
        (Vocabulary::DublinCore, "date") => Published(1),
        (Vocabulary::DublinCore, "subject") => Category,
        (Vocabulary::DublinCore, "language") => Language,
        (Vocabulary::DublinCore, "description") => Summary(3),
        (Vocabulary::DublinCore, "identifier") => Id(1),
        (Vocabulary::DublinCoreTerms, "title") => Title(1, "dcterms:title"),
        (Vocabulary::DublinCoreTerms, "issued" | "created") => Published(2),
        (Vocabulary::DublinCoreTerms, "modified") => Updated(2),
        (Vocabulary::DublinCoreTerms, "abstract") => Summary(3),
        (Vocabulary::Content, "encoded") => Summary(2),
        (Vocabulary::Media, "title") => Title(2, "media:title"),
        (Vocabulary::Media, "description") => Summary(4),
        (Vocabulary::Itunes, "title") => Title(3, "itunes:title"),
        (Vocabulary::Itunes, "summary" | "subtitle") => Summary(5),
        (Vocabulary::Itunes, "author") => Author,
        _ => return None,
    })
}

/// Containers whose titles and links are someone else's: a channel image's title is not the
/// channel's, an Atom entry's `<source>` names another feed.
fn is_foreign_container(vocabulary: Vocabulary, local: &str) -> bool {
    matches!(
        (vocabulary, local),
        (
            Vocabulary::Core,
            "image" | "textinput" | "source" | "contributor" | "generator" | "cloud"
        ) | (Vocabulary::Itunes, "owner" | "category" | "image")
    )
}

/// How an element's text is written (Atom's `type` and 0.3's `mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Text,
    Base64,
    Xhtml,
}

/// The character a reference names: numeric, XML's five, then the HTML 4 table feeds were
/// written against, then HTML5's. `None` for a name nobody defines.
fn resolve_reference(name: &str) -> Option<String> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse::<u32>().ok()?,
        };
        return char::from_u32(code)
            .filter(|c| *c != '\0')
            .map(String::from);
    }
    let builtin = match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => html4_differs(name).and_then(char::from_u32),
    };
    if let Some(c) = builtin {
        return Some(c.to_string());
    }
    let reference = format!("&{name};");
    let decoded = html_escape::decode_html_entities(&reference);
    (decoded != reference).then(|| decoded.into_owned())
}

/// Text with its references resolved; an unknown reference or a bare `&` stays as written.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '#')
            .take(32)
            .collect();
        let terminated = after[name.len()..].starts_with(';');
        match resolve_reference(&name).filter(|_| terminated) {
            Some(resolved) => {
                out.push_str(&resolved);
                rest = &after[name.len() + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// An element's attributes by lower-cased local name (`rdf:about` is `about`, CDF's `HREF`
/// is `href`), values unescaped.
fn attributes(tag: &BytesStart<'_>) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    for attribute in tag.html_attributes().with_checks(false).flatten() {
        let key = attribute.key;
        let local = String::from_utf8_lossy(key.local_name().as_ref()).to_ascii_lowercase();
        let full = String::from_utf8_lossy(key.as_ref()).to_ascii_lowercase();
        let value = unescape(&String::from_utf8_lossy(&attribute.value));
        if full == "xml:lang" || full == "xml:base" {
            found.insert(full, value);
        } else {
            found.entry(local).or_insert(value);
        }
    }
    found
}

/// One open element.
struct Frame {
    name: Vec<u8>,
    /// Inside a channel image, an entry's source, an author block…: fills nothing.
    foreign: bool,
    /// This element opened an item.
    item: bool,
    /// This element is an Atom `<author>`: its `<name>` is the author.
    author_block: bool,
}

/// The element whose text is being collected, with everything inside it.
struct Capture {
    role: Role,
    /// The text is HTML (`Some(true)`), plain (`Some(false)`), or its element does not say.
    is_html: Option<bool>,
    depth: usize,
    encoding: Encoding,
    text: String,
    in_item: bool,
}

#[derive(Default)]
struct Ranked {
    /// Rank of the value each field holds now, by field name.
    ranks: BTreeMap<&'static str, u8>,
    title_source: Option<&'static str>,
}

struct Target {
    fields: Fields,
    ranked: Ranked,
}

impl Target {
    fn new() -> Self {
        Target {
            fields: Fields::default(),
            ranked: Ranked::default(),
        }
    }

    /// Sets a ranked field when `value` is not empty and outranks what it holds.
    fn offer(&mut self, field: &'static str, rank: u8, value: String) -> bool {
        let value = value.trim().to_string();
        if value.is_empty() {
            return false;
        }
        if self
            .ranked
            .ranks
            .get(field)
            .is_some_and(|held| *held <= rank)
        {
            return false;
        }
        self.ranked.ranks.insert(field, rank);
        let slot = match field {
            "title" => &mut self.fields.title,
            "link" => &mut self.fields.link,
            "id" => &mut self.fields.id,
            "published" => &mut self.fields.published,
            "updated" => &mut self.fields.updated,
            "summary" => &mut self.fields.summary,
            "language" => &mut self.fields.language,
            "ttl" => &mut self.fields.ttl,
            _ => return false,
        };
        *slot = Some(value);
        true
    }

    /// Gives `value` to the field `role` fills; `is_html` says how a title is written.
    fn fill(&mut self, role: Role, value: String, is_html: Option<bool>) {
        let single_line = || value.split_whitespace().collect::<Vec<_>>().join(" ");
        match role {
            Role::Title(rank, source) => {
                if self.offer("title", rank, single_line()) {
                    self.ranked.title_source = Some(source);
                    self.fields.title_is_html = is_html;
                }
            }
            Role::Link(rank) => {
                self.offer("link", rank, value);
            }
            Role::Id(rank) => {
                self.offer("id", rank, value);
            }
            Role::Published(rank) => {
                self.offer("published", rank, value);
            }
            Role::Updated(rank) => {
                self.offer("updated", rank, value);
            }
            Role::Summary(rank) => {
                self.offer("summary", rank, value);
            }
            Role::Language => {
                self.offer("language", 1, value);
            }
            Role::Ttl => {
                self.offer("ttl", 0, value);
            }
            Role::Author => {
                let name = single_line();
                if !name.is_empty() && !self.fields.authors.contains(&name) {
                    self.fields.authors.push(name);
                }
            }
            Role::Category => {
                let name = single_line();
                if !name.is_empty() && !self.fields.categories.contains(&name) {
                    self.fields.categories.push(name);
                }
            }
        }
    }
}

/// Counts of the ways text was recovered, said in the notes.
#[derive(Default)]
struct Tally {
    base64: usize,
    xhtml: usize,
    errors: usize,
    title_sources: BTreeMap<&'static str, usize>,
}

struct Walker {
    stack: Vec<Frame>,
    /// The document element's local name: a feed's is one of [`FEED_ROOTS`].
    root: Option<String>,
    /// The namespace of a feed root that is in no namespace we know.
    root_namespace: Option<Vec<u8>>,
    capture: Option<Capture>,
    feed: Target,
    items: Vec<Target>,
    current: Option<Target>,
    tally: Tally,
}

impl Walker {
    fn in_item(&self) -> bool {
        self.current.is_some()
    }

    fn target(&mut self, in_item: bool) -> &mut Target {
        match (&mut self.current, in_item) {
            (Some(item), true) => item,
            _ => &mut self.feed,
        }
    }

    fn open(&mut self, resolved: &ResolveResult<'_>, tag: &BytesStart<'_>, empty: bool) {
        let name = tag.name();
        let local = String::from_utf8_lossy(name.local_name().as_ref()).to_ascii_lowercase();
        if let Some(capture) = &mut self.capture {
            if (khabar_html::is_block_tag(&local) || local == "br")
                && !capture.text.ends_with(char::is_whitespace)
            {
                capture.text.push(' ');
            }
            if !empty {
                self.stack.push(Frame {
                    name: name.as_ref().to_vec(),
                    foreign: true,
                    item: false,
                    author_block: false,
                });
            }
            return;
        }
        if let (true, ResolveResult::Bound(namespace)) = (self.stack.is_empty(), resolved) {
            // A feed root in a namespace nobody knows (an Atom draft's, a vendor's): its
            // elements are read as a feed's.
            let unknown = vocabulary_of_namespace(namespace.as_ref()) == Vocabulary::Other;
            if unknown && FEED_ROOTS.contains(&local.as_str()) {
                self.root_namespace = Some(namespace.as_ref().to_vec());
            }
        }
        let vocabulary = match resolved {
            ResolveResult::Bound(namespace)
                if self.root_namespace.as_deref() == Some(namespace.as_ref()) =>
            {
                Vocabulary::Core
            }
            ResolveResult::Bound(namespace) => vocabulary_of_namespace(namespace.as_ref()),
            ResolveResult::Unbound => Vocabulary::Core,
            ResolveResult::Unknown(prefix) => vocabulary_of_prefix(prefix),
        };
        // An Atom author is a block with a name inside; an RSS author is text.
        let author_block = vocabulary == Vocabulary::Atom && local == "author" && !empty;
        let vocabulary = match vocabulary {
            Vocabulary::Atom => Vocabulary::Core,
            other => other,
        };
        let attrs = attributes(tag);
        let parent_foreign = self.stack.last().is_some_and(|f| f.foreign);
        let in_author_block = self.stack.last().is_some_and(|f| f.author_block);
        let opens_item = vocabulary == Vocabulary::Core
            && matches!(local.as_str(), "item" | "entry")
            && !self.in_item()
            && !parent_foreign;
        if opens_item {
            let mut item = Target::new();
            // CDF and RSS 1.0 give an item's address as an attribute.
            if let Some(href) = attrs.get("href") {
                item.offer("link", 1, href.clone());
            }
            if let Some(about) = attrs.get("about") {
                item.offer("link", 2, about.clone());
                item.offer("id", 2, about.clone());
            }
            if let Some(modified) = attrs.get("lastmod") {
                item.offer("updated", 3, modified.clone());
            }
            if let Some(lang) = attrs.get("xml:lang") {
                item.offer("language", 0, lang.clone());
            }
            self.current = Some(item);
        } else if self.stack.is_empty() {
            self.root.get_or_insert_with(|| local.clone());
            // The root: a CDF channel's address, an Atom feed's language.
            if let Some(href) = attrs.get("href") {
                self.feed.offer("link", 1, href.clone());
            }
            if let Some(lang) = attrs.get("xml:lang") {
                self.feed.offer("language", 0, lang.clone());
            }
        }
        let author_block = author_block && !parent_foreign;
        let foreign = parent_foreign
            || is_foreign_container(vocabulary, &local)
            || (self.in_item() && !opens_item && matches!(local.as_str(), "item" | "entry"));
        let in_item = self.in_item();
        // An Atom author's name, not its e-mail or URI.
        let role = if in_author_block {
            (local == "name").then_some(Role::Author)
        } else if foreign || opens_item || author_block {
            None
        } else {
            role_of(vocabulary, &local)
        };
        if let Some(role) = role {
            self.start_role(role, &attrs, in_item, empty);
        }
        if !empty {
            self.stack.push(Frame {
                name: name.as_ref().to_vec(),
                foreign: foreign || author_block,
                item: opens_item,
                author_block,
            });
        } else if opens_item {
            self.close_item();
        }
    }

    fn start_role(
        &mut self,
        role: Role,
        attrs: &BTreeMap<String, String>,
        in_item: bool,
        empty: bool,
    ) {
        let target = self.target(in_item);
        if let (Some(lang), true) = (attrs.get("xml:lang"), in_item) {
            // Content in a language of its own: the item is in that language.
            target.offer("language", 1, lang.clone());
        }
        match role {
            Role::Link(_) => {
                if let Some(href) = attrs.get("href") {
                    let rank = match attrs.get("rel").map(|r| r.trim().to_ascii_lowercase()) {
                        None => 0,
                        Some(rel) if rel.is_empty() || rel == "alternate" => 0,
                        Some(rel) if rel == "self" => 5,
                        Some(_) => 4,
                    };
                    target.offer("link", rank, href.clone());
                    return;
                }
            }
            Role::Category => {
                if let Some(term) = attrs.get("label").or_else(|| attrs.get("term")) {
                    target.fill(role, term.clone(), None);
                    return;
                }
            }
            _ => {}
        }
        if empty {
            return;
        }
        let kind = attrs
            .get("type")
            .map(|t| t.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let mode = attrs
            .get("mode")
            .map(|m| m.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let encoding = if mode == "base64" {
            Encoding::Base64
        } else if kind == "xhtml" || kind.ends_with("xhtml+xml") || mode == "xml" {
            Encoding::Xhtml
        } else {
            Encoding::Text
        };
        let is_html = match (encoding, kind.as_str()) {
            (Encoding::Text, "") if mode.is_empty() => None,
            (Encoding::Text, "html" | "text/html") => Some(true),
            (Encoding::Text, _) if mode == "escaped" => Some(true),
            _ => Some(false),
        };
        self.capture = Some(Capture {
            role,
            is_html,
            depth: self.stack.len() + 1,
            encoding,
            text: String::new(),
            in_item,
        });
    }

    fn text(&mut self, text: &str) {
        if let Some(capture) = &mut self.capture {
            capture.text.push_str(text);
        }
    }

    fn close(&mut self, name: &[u8]) {
        // An end tag closes the innermost open element of its name; one nothing opened is
        // ignored (unclosed `<br>`s and stray ends are common in feeds).
        // Looked for among the innermost few only: a hostile document of stray end tags
        // inside deep nesting must not cost depth × ends.
        let window = self.stack.len().saturating_sub(CLOSE_SEARCH_DEPTH);
        let Some(position) = self
            .stack
            .get(window..)
            .and_then(|open| open.iter().rposition(|f| f.name == name))
            .map(|at| at + window)
        else {
            return;
        };
        while self.stack.len() > position {
            let Some(frame) = self.stack.pop() else {
                break;
            };
            if self
                .capture
                .as_ref()
                .is_some_and(|c| c.depth > self.stack.len())
            {
                self.finish_capture();
            }
            if frame.item {
                self.close_item();
            }
        }
    }

    fn finish_capture(&mut self) {
        let Some(capture) = self.capture.take() else {
            return;
        };
        let text = match capture.encoding {
            Encoding::Base64 => {
                use base64::Engine;
                let compact: String = capture
                    .text
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                match base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()) {
                    Ok(bytes) => {
                        self.tally.base64 += 1;
                        String::from_utf8_lossy(&bytes).into_owned()
                    }
                    Err(_) => capture.text,
                }
            }
            Encoding::Xhtml => {
                self.tally.xhtml += 1;
                capture.text
            }
            Encoding::Text => capture.text,
        };
        self.target(capture.in_item)
            .fill(capture.role, text, capture.is_html);
    }

    fn close_item(&mut self) {
        if let Some(item) = self.current.take() {
            if let Some(source) = item.ranked.title_source {
                *self.tally.title_sources.entry(source).or_default() += 1;
            }
            self.items.push(item);
        }
    }
}

/// The document elements of RSS (0.90 to 2.0), Atom and CDF.
const FEED_ROOTS: [&str; 4] = ["rss", "rdf", "feed", "channel"];

/// Reads an XML document as a feed, element by element. `None` when it holds nothing a feed
/// has (no title and no items).
pub(crate) fn read_xml(text: &str) -> Option<Recovered> {
    let mut reader = quick_xml::NsReader::from_str(text);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;
    config.check_comments = false;
    let mut walker = Walker {
        stack: Vec::new(),
        root: None,
        root_namespace: None,
        capture: None,
        feed: Target::new(),
        items: Vec::new(),
        current: None,
        tally: Tally::default(),
    };
    loop {
        let before = reader.buffer_position();
        match reader.read_resolved_event() {
            Ok((resolved, Event::Start(tag))) => walker.open(&resolved, &tag, false),
            Ok((resolved, Event::Empty(tag))) => walker.open(&resolved, &tag, true),
            Ok((_, Event::End(tag))) => walker.close(tag.name().as_ref()),
            Ok((_, Event::Text(text))) => {
                walker.text(&unescape(&String::from_utf8_lossy(text.as_ref())));
            }
            Ok((_, Event::CData(text))) => walker.text(&String::from_utf8_lossy(text.as_ref())),
            Ok((_, Event::GeneralRef(reference))) => {
                let name = String::from_utf8_lossy(reference.as_ref()).into_owned();
                match resolve_reference(&name) {
                    Some(resolved) => walker.text(&resolved),
                    None => walker.text(&format!("&{name};")),
                }
            }
            Ok((_, Event::Eof)) => break,
            Ok(_) => {}
            Err(_) => {
                walker.tally.errors += 1;
                // Reading resumes after the bad part; a reader that cannot move on, or a
                // document that is mostly errors, ends here with what was read.
                if walker.tally.errors > MAX_ERRORS || reader.buffer_position() <= before {
                    break;
                }
            }
        }
    }
    // A document cut off inside an element: what was collected still counts.
    if walker.capture.is_some() {
        walker.finish_capture();
    }
    walker.close_item();
    let Walker {
        feed,
        items,
        tally,
        root,
        ..
    } = walker;
    let feed_root = root.is_some_and(|r| FEED_ROOTS.contains(&r.as_str()));
    // A feed with nothing in it yet is still a feed; any other document needs items.
    if items.is_empty() && !feed_root {
        return None;
    }
    let mut notes = Vec::new();
    for (source, count) in &tally.title_sources {
        if *source != "title" {
            notes.push(format!("item titles from {source}: {count}"));
        }
    }
    if let Some(source) = feed.ranked.title_source.filter(|s| *s != "title") {
        notes.push(format!("feed title from {source}"));
    }
    if tally.xhtml > 0 {
        notes.push(format!("XHTML text flattened: {}", tally.xhtml));
    }
    if tally.base64 > 0 {
        notes.push(format!("base64 text decoded: {}", tally.base64));
    }
    if tally.errors > 0 {
        notes.push(format!("malformed parts skipped: {}", tally.errors));
    }
    Some(Recovered {
        feed: feed.fields,
        items: items.into_iter().map(|t| t.fields).collect(),
        notes,
    })
}

fn json_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn json_names(value: &Value, list: &str, single: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut add = |person: &Value| {
        let name = match person {
            Value::Object(fields) => json_text(fields.get("name")),
            other => json_text(Some(other)),
        };
        if let Some(name) = name.filter(|n| !names.contains(n)) {
            names.push(name);
        }
    };
    match value.get(list) {
        Some(Value::Array(people)) => people.iter().for_each(&mut add),
        Some(person) => add(person),
        None => {}
    }
    if let Some(person) = value.get(single) {
        add(person);
    }
    names
}

/// Reads a JSON document as a JSON Feed (1.0 or 1.1), field by field: a field of the wrong
/// type is skipped, not the feed. `None` when it is not JSON or has neither title nor items.
pub(crate) fn read_json(text: &str) -> Option<Recovered> {
    let document: Value = serde_json::from_str(text.trim_start_matches('\u{feff}')).ok()?;
    let object = document.as_object()?;
    let feed = Fields {
        title: json_text(object.get("title")),
        link: json_text(object.get("home_page_url")),
        summary: json_text(object.get("description")),
        language: json_text(object.get("language")),
        ..Fields::default()
    };
    let items: Vec<Fields> = object
        .get("items")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter(|item| item.is_object())
                .map(|item| Fields {
                    title: json_text(item.get("title")),
                    title_is_html: None,
                    link: json_text(item.get("url"))
                        .or_else(|| json_text(item.get("external_url"))),
                    id: json_text(item.get("id")),
                    published: json_text(item.get("date_published")),
                    updated: json_text(item.get("date_modified")),
                    summary: json_text(item.get("summary"))
                        .or_else(|| json_text(item.get("content_html")))
                        .or_else(|| json_text(item.get("content_text"))),
                    authors: json_names(item, "authors", "author"),
                    categories: item
                        .get("tags")
                        .and_then(Value::as_array)
                        .map(|tags| tags.iter().filter_map(|t| json_text(Some(t))).collect())
                        .unwrap_or_default(),
                    language: json_text(item.get("language")),
                    ttl: None,
                })
                .collect()
        })
        .unwrap_or_default();
    if feed.title.is_none() && items.is_empty() {
        return None;
    }
    Some(Recovered {
        feed,
        items,
        notes: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(xml: &str) -> Recovered {
        read_xml(xml).unwrap_or_default()
    }

    #[test]
    fn atom_text_constructs_of_every_kind() {
        let entry = |title: &str| {
            read(&format!(
                r#"<feed xmlns="http://www.w3.org/2005/Atom"><title type="text/plain">F</title><entry>{title}<link rel="self" href="https://ex.org/self"/><link href="https://ex.org/e"/></entry></feed>"#
            ))
        };
        for (title, expected) in [
            (r#"<title type="text/plain">Plain</title>"#, "Plain"),
            (r#"<title type="">Empty &amp; type</title>"#, "Empty & type"),
            (
                r#"<title type="application/xhtml+xml">X &lt;b&gt;</title>"#,
                "X <b>",
            ),
            (
                r#"<title mode="base64" type="text/plain">SGVsbG8gd29ybGQ=</title>"#,
                "Hello world",
            ),
            (
                r#"<title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">Hi <b>there</b><p>again</p></div></title>"#,
                "Hi there again",
            ),
            (
                r#"<title>&lang;x&rang; &#x41;&#66; &eacute;</title>"#,
                "\u{2329}x\u{232A} AB é",
            ),
        ] {
            let feed = entry(title);
            assert_eq!(feed.feed.title.as_deref(), Some("F"));
            assert_eq!(feed.items.len(), 1, "{title}");
            assert_eq!(feed.items[0].title.as_deref(), Some(expected), "{title}");
            assert_eq!(feed.items[0].link.as_deref(), Some("https://ex.org/e"));
        }
    }

    #[test]
    fn rss_090_prefixed_rss_1_0_and_cdf() {
        let rss090 = read(
            r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://my.netscape.com/rdf/simple/0.9/"><channel><title>N</title><link>https://ex.org/</link></channel><image><title>Logo</title><url>x</url></image><item><title>I</title><link>https://ex.org/i</link></item></rdf:RDF>"#,
        );
        assert_eq!(rss090.feed.title.as_deref(), Some("N"));
        assert_eq!(rss090.items[0].title.as_deref(), Some("I"));
        let prefixed = read(
            r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:rss="http://purl.org/rss/1.0/"><rss:channel><rss:title>N</rss:title></rss:channel><rss:item rdf:about="https://ex.org/i"><rss:title>I</rss:title></rss:item></rdf:RDF>"#,
        );
        assert_eq!(prefixed.items[0].link.as_deref(), Some("https://ex.org/i"));
        let cdf = read(
            r#"<CHANNEL HREF="https://ex.org/"><TITLE>N</TITLE><ITEM HREF="https://ex.org/i" LASTMOD="2002-01-01T10:00"><TITLE>I</TITLE><ABSTRACT>x</ABSTRACT></ITEM></CHANNEL>"#,
        );
        assert_eq!(cdf.feed.link.as_deref(), Some("https://ex.org/"));
        assert_eq!(cdf.items[0].link.as_deref(), Some("https://ex.org/i"));
        assert_eq!(cdf.items[0].updated.as_deref(), Some("2002-01-01T10:00"));
        assert_eq!(cdf.items[0].summary.as_deref(), Some("x"));
    }

    #[test]
    fn titles_from_modules_and_undeclared_prefixes() {
        let feed = read(
            r#"<rss version="2.0"><channel><dc:title>N</dc:title><item><media:title>M</media:title><link>https://ex.org/1</link></item><item><itunes:TITLE>P</itunes:TITLE><dc:title>D</dc:title><title>T</title></item><item><ITUNES:Title>U</ITUNES:Title></item></channel></rss>"#,
        );
        assert_eq!(feed.feed.title.as_deref(), Some("N"));
        let titles: Vec<_> = feed.items.iter().map(|i| i.title.clone()).collect();
        assert_eq!(
            titles,
            vec![Some("M".into()), Some("T".into()), Some("U".into())]
        );
        assert!(feed
            .notes
            .iter()
            .any(|n| n == "item titles from media:title: 1"));
    }

    #[test]
    fn authors_sources_and_languages() {
        let feed = read(
            r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>F</title><entry><title>E</title><author><name>Ann</name><email>a@x</email></author><source><title>Other feed</title></source><content xml:lang="ar"/></entry></feed>"#,
        );
        assert_eq!(feed.items[0].title.as_deref(), Some("E"));
        assert_eq!(feed.items[0].authors, vec!["Ann".to_string()]);
        assert_eq!(feed.items[0].language.as_deref(), Some("ar"));
    }

    #[test]
    fn broken_documents_keep_what_was_read() {
        let feed = read(
            "<rss><channel><title>T</title><item><title>A</title></item><item><title>B<br>x</title></item><item><title>C</titl",
        );
        let titles: Vec<_> = feed.items.iter().filter_map(|i| i.title.clone()).collect();
        assert_eq!(titles.first().map(String::as_str), Some("A"));
        assert!(titles.len() >= 2, "{titles:?}");
        assert!(read_xml("<html><p>no feed</p></html>").is_none());
        assert!(read_xml("").is_none());
    }

    #[test]
    fn json_feed_fields_of_the_wrong_type_are_skipped() {
        let feed = read_json(
            r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[{"id":7,"title":"A","url":"https://ex.org/a","date_published":20200101,"authors":[{"name":"Ann"}]}]}"#,
        )
        .unwrap_or_default();
        assert_eq!(feed.feed.title.as_deref(), Some("J"));
        assert_eq!(feed.items[0].id.as_deref(), Some("7"));
        assert_eq!(feed.items[0].authors, vec!["Ann".to_string()]);
    }

    #[test]
    fn stray_end_tags_in_deep_nesting_take_linear_time() {
        let document = format!(
            "<rss><channel><title>T</title>{}{}<item><title>I</title></item></channel></rss>",
            "<x>".repeat(3000),
            "</y>".repeat(200_000)
        );
        let started = std::time::Instant::now();
        let feed = read(&document);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(feed.feed.title.as_deref(), Some("T"));
    }
}
