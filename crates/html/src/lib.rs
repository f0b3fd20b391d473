//! A page read into a compact tree for extraction: elements with their attributes, and text.
//!
//! Built for reading news pages fast, not for rendering them. The tokenizer passes over what
//! no reader of text needs (scripts other than JSON-LD, styles, SVG, `<noscript>`,
//! `<template>`, comments), and the tree builder applies the HTML rules that decide where
//! text ends up on real pages: implied end tags (`<p>` closed by the next block, `<li>` by the
//! next item, table cells and rows), end tags that close everything opened inside them, stray
//! end tags ignored, content after `</head>` or `</body>` kept in the body, and a nesting
//! limit (as browsers have) so that hostile pages cannot make the tree arbitrarily deep. It
//! does not rebuild misnested formatting elements (`<b><i></b></i>`) or move stray table text
//! the way a browser does; neither changes what text a page holds.
//!
//! Character references are decoded by `html-escape`.

mod tokenizer;

use std::borrow::Cow;

pub use tokenizer::{Token, Tokenizer};

/// Deepest nesting kept; deeper elements are attached at this depth (browsers do the same).
pub const MAX_DEPTH: usize = 512;

/// Index of a node in its document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(u32);

impl NodeId {
    /// The node's position in document order, usable as an index into per-node tables.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// An element; names and values borrow from the page where they need no decoding.
#[derive(Debug)]
pub struct Element<'a> {
    name: Cow<'a, str>,
    attrs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl Element<'_> {
    /// Lower-cased tag name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// An attribute's value, by lower-case name.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_ref())
    }

    pub fn attrs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.attrs.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))
    }
}

#[derive(Debug)]
pub enum NodeData<'a> {
    Document,
    Element(Element<'a>),
    Text(Cow<'a, str>),
}

#[derive(Debug)]
struct Node<'a> {
    parent: Option<NodeId>,
    first_child: Option<NodeId>,
    last_child: Option<NodeId>,
    next_sibling: Option<NodeId>,
    data: NodeData<'a>,
}

/// A parsed page. Nodes are stored in document order, so a node's id is smaller than its
/// children's.
#[derive(Debug)]
pub struct Document<'a> {
    nodes: Vec<Node<'a>>,
}

/// Elements that never have content.
fn is_void(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "param"
            | "source"
            | "track"
            | "wbr"
            | "keygen"
            | "basefont"
            | "bgsound"
            | "frame"
            | "image"
    )
}

/// Tags whose boundaries are paragraph breaks in the text a page shows (a `<p>`, a heading,
/// a list item, a table cell): for anything that turns markup into lines of text.
pub fn is_block_tag(name: &str) -> bool {
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

/// Start tags that close an open `<p>`.
fn closes_paragraph(name: &str) -> bool {
    matches!(
        name,
        "address"
            | "article"
            | "aside"
            | "blockquote"
            | "center"
            | "details"
            | "dialog"
            | "dir"
            | "div"
            | "dl"
            | "fieldset"
            | "figcaption"
            | "figure"
            | "footer"
            | "form"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "header"
            | "hgroup"
            | "hr"
            | "main"
            | "menu"
            | "nav"
            | "ol"
            | "p"
            | "pre"
            | "section"
            | "table"
            | "ul"
            | "li"
            | "dd"
            | "dt"
            | "listing"
            | "plaintext"
            | "search"
    )
}

/// Elements that may stand in `<head>`; any other start tag there begins the body.
fn belongs_in_head(name: &str) -> bool {
    matches!(
        name,
        "meta" | "link" | "title" | "style" | "script" | "base" | "noscript" | "template"
    )
}

/// Elements that bound the search for an open element to close (the spec's "scope").
fn is_scope_boundary(name: &str) -> bool {
    matches!(
        name,
        "html" | "table" | "td" | "th" | "caption" | "template" | "object" | "applet" | "marquee"
    )
}

fn is_heading(name: &str) -> bool {
    matches!(name, "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
}

/// Blocks an inline end tag (`</span>`, `</b>`) does not close through.
fn is_block_boundary(name: &str) -> bool {
    is_scope_boundary(name)
        || closes_paragraph(name)
        || matches!(
            name,
            "body" | "head" | "tr" | "tbody" | "thead" | "tfoot" | "button"
        )
}

struct TreeBuilder<'a> {
    nodes: Vec<Node<'a>>,
    /// Open elements, innermost last; the document node is never on it.
    open: Vec<NodeId>,
    /// Where `<head>` is on the open stack, while it is open (checked at every start tag).
    head_at: Option<usize>,
}

impl<'a> TreeBuilder<'a> {
    fn name_of(&self, id: NodeId) -> &str {
        match &self.nodes[id.index()].data {
            NodeData::Element(e) => &e.name,
            _ => "",
        }
    }

    fn current(&self) -> NodeId {
        self.open.last().copied().unwrap_or(NodeId(0))
    }

    fn append(&mut self, parent: NodeId, data: NodeData<'a>) -> NodeId {
        let id = NodeId(self.nodes.len() as u32);
        self.nodes.push(Node {
            parent: Some(parent),
            first_child: None,
            last_child: None,
            next_sibling: None,
            data,
        });
        let parent_node = &mut self.nodes[parent.index()];
        match parent_node.last_child.replace(id) {
            Some(previous) => self.nodes[previous.index()].next_sibling = Some(id),
            None => parent_node.first_child = Some(id),
        }
        id
    }

    fn text(&mut self, text: Cow<'a, str>) {
        let parent = self.current();
        // Adjacent text (split by a comment or a skipped element) is one node.
        if let Some(last) = self.nodes[parent.index()].last_child {
            if let NodeData::Text(existing) = &mut self.nodes[last.index()].data {
                existing.to_mut().push_str(&text);
                return;
            }
        }
        self.append(parent, NodeData::Text(text));
    }

    /// Position on the open stack of the innermost element named `name`, searching no
    /// further than an element for which `stop` holds.
    fn find_open(&self, name: &str, stop: impl Fn(&str) -> bool) -> Option<usize> {
        for (position, id) in self.open.iter().enumerate().rev() {
            let open_name = self.name_of(*id);
            if open_name == name {
                return Some(position);
            }
            if stop(open_name) {
                return None;
            }
        }
        None
    }

    fn close_from(&mut self, position: usize) {
        self.open.truncate(position);
        if self.head_at.is_some_and(|head| head >= position) {
            self.head_at = None;
        }
    }

    /// Closes an open element named one of `names`, not searching past `stop`.
    fn close_any(&mut self, names: &[&str], stop: impl Fn(&str) -> bool) {
        for (position, id) in self.open.iter().enumerate().rev() {
            let open_name = self.name_of(*id);
            if names.contains(&open_name) {
                self.close_from(position);
                return;
            }
            if stop(open_name) {
                return;
            }
        }
    }

    fn close_paragraph(&mut self) {
        if let Some(position) = self.find_open("p", |n| is_scope_boundary(n) || n == "button") {
            self.close_from(position);
        }
    }

    fn start(
        &mut self,
        name: Cow<'a, str>,
        attrs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
        self_closing: bool,
    ) {
        match name.as_ref() {
            "html" | "body" | "head" if self.find_open(&name, |_| false).is_some() => return,
            other if !belongs_in_head(other) => {
                if let Some(head) = self.head_at {
                    self.close_from(head);
                }
            }
            _ => {}
        }
        let tag = name.as_ref();
        if closes_paragraph(tag) {
            self.close_paragraph();
        }
        match tag {
            "li" => self.close_any(&["li"], |n| {
                matches!(n, "ul" | "ol" | "menu") || is_block_boundary(n) && n != "div"
            }),
            "dd" | "dt" => self.close_any(&["dd", "dt"], |n| {
                n == "dl" || is_block_boundary(n) && n != "div"
            }),
            "tr" => self.close_any(&["tr"], |n| {
                matches!(n, "table" | "tbody" | "thead" | "tfoot")
            }),
            "td" | "th" => self.close_any(&["td", "th"], |n| matches!(n, "tr" | "table")),
            "thead" | "tbody" | "tfoot" => {
                self.close_any(&["thead", "tbody", "tfoot"], |n| n == "table")
            }
            "option" => self.close_any(&["option"], |n| n != "option"),
            "optgroup" => self.close_any(&["option", "optgroup"], |n| {
                !matches!(n, "option" | "optgroup")
            }),
            "a" => self.close_any(&["a"], is_block_boundary),
            "button" => self.close_any(&["button"], is_scope_boundary),
            _ => {}
        }
        if is_heading(tag) && is_heading(self.name_of(self.current())) {
            self.open.pop();
        }
        let leaf = is_void(tag) || (self_closing && matches!(tag, "svg" | "math"));
        let parent = self.current();
        let is_head = tag == "head";
        let id = self.append(parent, NodeData::Element(Element { name, attrs }));
        if !leaf && self.open.len() < MAX_DEPTH {
            if is_head {
                self.head_at = Some(self.open.len());
            }
            self.open.push(id);
        }
    }

    fn end(&mut self, name: &str) {
        match name {
            // Content after these still belongs to the body, as in browsers.
            "body" | "html" => {}
            "br" => self.start(Cow::Borrowed("br"), Vec::new(), false),
            "p" => self.close_paragraph(),
            "table" => {
                if let Some(p) = self.find_open(name, |n| n == "html" || n == "template") {
                    self.close_from(p);
                }
            }
            "td" | "th" | "tr" | "tbody" | "thead" | "tfoot" | "caption" => {
                if let Some(p) = self.find_open(name, |n| n == "table" || n == "html") {
                    self.close_from(p);
                }
            }
            "li" => {
                if let Some(p) =
                    self.find_open(name, |n| matches!(n, "ul" | "ol") || is_scope_boundary(n))
                {
                    self.close_from(p);
                }
            }
            _ if closes_paragraph(name) || is_scope_boundary(name) || name == "head" => {
                if let Some(p) = self.find_open(name, is_scope_boundary) {
                    self.close_from(p);
                }
            }
            _ => {
                if let Some(p) = self.find_open(name, is_block_boundary) {
                    self.close_from(p);
                }
            }
        }
    }
}

impl<'a> Document<'a> {
    /// Reads a page (or a fragment of one). Never fails: whatever the input, a tree comes out.
    pub fn parse(html: &'a str) -> Document<'a> {
        let mut builder = TreeBuilder {
            // About one node per 32 bytes of a typical news page.
            nodes: Vec::with_capacity(html.len() / 32),
            open: Vec::new(),
            head_at: None,
        };
        builder.nodes.push(Node {
            parent: None,
            first_child: None,
            last_child: None,
            next_sibling: None,
            data: NodeData::Document,
        });
        for token in Tokenizer::new(html) {
            match token {
                Token::Start {
                    name,
                    attrs,
                    self_closing,
                } => builder.start(name, attrs, self_closing),
                Token::End { name } => builder.end(&name),
                Token::Text(text) => builder.text(text),
            }
        }
        Document {
            nodes: builder.nodes,
        }
    }

    pub fn root(&self) -> NodeRef<'_> {
        NodeRef {
            document: self,
            id: NodeId(0),
        }
    }

    pub fn get(&self, id: NodeId) -> Option<NodeRef<'_>> {
        (id.index() < self.nodes.len()).then_some(NodeRef { document: self, id })
    }

    /// How many nodes the tree holds (the size of a per-node table).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.len() <= 1
    }

    /// Every element, in document order.
    pub fn elements(&self) -> impl Iterator<Item = (NodeRef<'_>, &Element<'_>)> {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(move |(index, node)| match &node.data {
                NodeData::Element(e) => Some((
                    NodeRef {
                        document: self,
                        id: NodeId(index as u32),
                    },
                    e,
                )),
                _ => None,
            })
    }

    /// Every element with this tag name, in document order.
    pub fn elements_named<'s>(
        &'s self,
        name: &'s str,
    ) -> impl Iterator<Item = (NodeRef<'s>, &'s Element<'s>)> + 's {
        self.elements().filter(move |(_, e)| e.name == name)
    }
}

/// A node together with its document, to walk from.
#[derive(Clone, Copy)]
pub struct NodeRef<'a> {
    document: &'a Document<'a>,
    id: NodeId,
}

impl<'a> NodeRef<'a> {
    fn node(&self) -> &'a Node<'a> {
        &self.document.nodes[self.id.index()]
    }

    fn at(&self, id: Option<NodeId>) -> Option<NodeRef<'a>> {
        id.map(|id| NodeRef {
            document: self.document,
            id,
        })
    }

    pub fn id(&self) -> NodeId {
        self.id
    }

    pub fn data(&self) -> &'a NodeData<'a> {
        &self.node().data
    }

    pub fn element(&self) -> Option<&'a Element<'a>> {
        match &self.node().data {
            NodeData::Element(e) => Some(e),
            _ => None,
        }
    }

    /// The tag name, for elements.
    pub fn name(&self) -> Option<&'a str> {
        self.element().map(Element::name)
    }

    pub fn parent(&self) -> Option<NodeRef<'a>> {
        self.at(self.node().parent)
    }

    pub fn children(&self) -> Children<'a> {
        Children {
            next: self.at(self.node().first_child),
        }
    }

    /// The node and everything below it, in document order.
    pub fn descendants(&self) -> Descendants<'a> {
        Descendants {
            root: *self,
            next: Some(*self),
        }
    }

    /// All text below the node, concatenated.
    pub fn text_content(&self) -> String {
        let mut text = String::new();
        for node in self.descendants() {
            if let NodeData::Text(t) = node.data() {
                text.push_str(t);
            }
        }
        text
    }
}

pub struct Children<'a> {
    next: Option<NodeRef<'a>>,
}

impl<'a> Iterator for Children<'a> {
    type Item = NodeRef<'a>;

    fn next(&mut self) -> Option<NodeRef<'a>> {
        let current = self.next?;
        self.next = current.at(current.node().next_sibling);
        Some(current)
    }
}

pub struct Descendants<'a> {
    root: NodeRef<'a>,
    next: Option<NodeRef<'a>>,
}

impl<'a> Iterator for Descendants<'a> {
    type Item = NodeRef<'a>;

    fn next(&mut self) -> Option<NodeRef<'a>> {
        let current = self.next?;
        // Down to the first child, else across to the next sibling of the nearest ancestor
        // (up to the root) that has one.
        self.next = match current.at(current.node().first_child) {
            Some(child) => Some(child),
            None => {
                let mut node = current;
                loop {
                    if node.id == self.root.id {
                        break None;
                    }
                    if let Some(sibling) = node.at(node.node().next_sibling) {
                        break Some(sibling);
                    }
                    match node.parent() {
                        Some(parent) => node = parent,
                        None => break None,
                    }
                }
            }
        };
        Some(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree as nested `name(children)` with text in quotes.
    fn outline(node: NodeRef<'_>) -> String {
        let inner: Vec<String> = node.children().map(outline).collect();
        match node.data() {
            NodeData::Text(t) => format!("{t:?}"),
            NodeData::Element(e) if inner.is_empty() => e.name().to_string(),
            NodeData::Element(e) => format!("{}({})", e.name(), inner.join(" ")),
            NodeData::Document => inner.join(" "),
        }
    }

    fn tree(html: &str) -> String {
        outline(Document::parse(html).root())
    }

    #[test]
    fn implied_end_tags() {
        assert_eq!(
            tree("<div><p>one<p>two</div><p>three"),
            r#"div(p("one") p("two")) p("three")"#
        );
        assert_eq!(tree("<ul><li>a<li>b</ul>"), r#"ul(li("a") li("b"))"#);
        assert_eq!(
            tree("<ul><li>a<ul><li>b</ul><li>c</ul>"),
            r#"ul(li("a" ul(li("b"))) li("c"))"#
        );
        assert_eq!(
            tree("<table><tr><td>a<td>b<tr><td>c</table>d"),
            r#"table(tr(td("a") td("b")) tr(td("c"))) "d""#
        );
        assert_eq!(
            tree("<dl><dt>a<dd>b<dt>c</dl>"),
            r#"dl(dt("a") dd("b") dt("c"))"#
        );
        assert_eq!(tree("<h2>a<h3>b"), r#"h2("a") h3("b")"#);
        assert_eq!(tree("<a href=1>x<a href=2>y"), r#"a("x") a("y")"#);
    }

    #[test]
    fn end_tags_close_what_was_opened_inside() {
        assert_eq!(tree("<div><span><b>x</div>y"), r#"div(span(b("x"))) "y""#);
        // A stray inline end tag does not close the block around it.
        assert_eq!(tree("<div>x</span>y</div>z"), r#"div("xy") "z""#);
        // Nor does it reach out of a table cell.
        assert_eq!(
            tree("<div><table><tr><td>x</div>y</td></tr></table>z"),
            r#"div(table(tr(td("xy"))) "z")"#
        );
    }

    #[test]
    fn head_and_body() {
        assert_eq!(
            tree("<html><head><title>T</title><meta charset=utf-8><div>x</div></html>after"),
            r#"html(head(title("T") meta) div("x") "after")"#
        );
        assert_eq!(
            tree("<head><title>T</title><body><p>x</body><p>y"),
            r#"head(title("T")) body(p("x") p("y"))"#
        );
    }

    #[test]
    fn void_and_skipped_elements() {
        assert_eq!(
            tree("<p>a<br>b<img src=x>c<!-- n --><script>var x='<p>'</script>d</p>"),
            r#"p("a" br "b" img "c" script "d")"#
        );
        assert_eq!(tree("<p>a</br>b"), r#"p("a" br "b")"#);
    }

    #[test]
    fn nesting_is_bounded() {
        let html = "<div>".repeat(20_000) + "deep";
        let document = Document::parse(&html);
        let mut depth = 0;
        let mut node = document.root();
        while let Some(child) = node.children().next() {
            node = child;
            depth += 1;
        }
        assert!(depth <= MAX_DEPTH + 1, "depth {depth}");
        assert!(document.root().text_content().contains("deep"));
    }

    #[test]
    fn arbitrary_markup_never_panics() {
        // Fragments of real and broken markup, shuffled by a fixed-seed generator.
        const PIECES: &[&str] = &[
            "<p>",
            "</p>",
            "<div class=\"x\">",
            "</div>",
            "<li>",
            "<table><tr><td>",
            "</td>",
            "<script>",
            "</script>",
            "<!--",
            "-->",
            "<",
            ">",
            "&amp;",
            "&#x",
            "&",
            "\"",
            "'",
            "<a href='",
            "<br/>",
            "</",
            "<svg>",
            "<title>",
            "قسد",
            "text ",
            "\u{0}",
            "<!DOCTYPE",
            "<head>",
            "<body>",
            "</html>",
            "<p class=a b=c d>",
            "é",
            "<template>",
            "</br>",
        ];
        let mut rng = fastrand::Rng::with_seed(0x9E37_79B9_7F4A_7C15);
        for _ in 0..2_000 {
            let length = rng.usize(..40);
            let html: String = (0..length)
                .map(|_| PIECES[rng.usize(..PIECES.len())])
                .collect();
            let document = Document::parse(&html);
            let _ = document.root().text_content();
            assert!(document.len() <= html.len() + 1, "{html:?}");
        }
    }

    #[test]
    fn walks_in_document_order() {
        let document = Document::parse("<div><p>a<b>b</b></p><p>c</p></div><p>d</p>");
        let texts: String = document
            .root()
            .descendants()
            .filter_map(|n| match n.data() {
                NodeData::Text(t) => Some(t.as_ref()),
                _ => None,
            })
            .collect();
        assert_eq!(texts, "abcd");
        let (first_p, _) = document.elements_named("p").next().expect("a p");
        assert_eq!(first_p.text_content(), "ab");
    }
}
