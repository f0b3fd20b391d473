#!/usr/bin/env python3
"""Writes the feed corpus: small feeds in every format and encoding Khabar reads, each with
the feed title, first-item title, link, id and date a reader must find (expected.jsonl).

Run from this folder: `python3 generate.py`. The expectations come from the values the
templates are filled with, never from Khabar's output; `tests/feed_corpus.rs` checks them.
Each format is written the way real publishers write it (the specifications' own examples,
and the variants feed validators report as common): namespaces declared or not, prefixes,
CDATA, entities, upper-case CDF and iTunes names, Atom text constructs of every type.
"""

import base64
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "feeds")
FEED_URL = "https://corpus.example/news/feed"

# Titles in the scripts each encoding can carry: (feed title, first item title, second).
SCRIPTS = {
    "arabic": ("أخبار الشرق", "التحالف يقصف مواقع في الباغوز", "قسد تعلن السيطرة على الباغوز"),
    "latin": ("Les Échos du Midi", "Grève générale à Montréal: l'été s'annonce chaud", "Ça va, François?"),
    "english": ("World Desk", "Talks resume in Geneva as ceasefire holds", "Markets close higher"),
    "cyrillic": ("Новости дня", "Переговоры в Женеве возобновились", "Рынки закрылись ростом"),
    "greek": ("Ειδήσεις", "Συνομιλίες στη Γενεύη", "Οι αγορές έκλεισαν"),
    "hebrew": ("חדשות", "השיחות בז'נבה חודשו", "השווקים נסגרו"),
    "turkish": ("Haberler", "Cenevre'de görüşmeler yeniden başladı", "Piyasalar yükselişle kapandı"),
    "central": ("Zprávy", "Jednání v Ženevě pokračují", "Trhy uzavřely výš"),
    "chinese_s": ("新闻", "日内瓦会谈恢复", "市场收高"),
    "chinese_t": ("新聞", "日內瓦會談恢復", "市場收高"),
    "japanese": ("ニュース", "ジュネーブで協議再開", "市場は上昇"),
    "korean": ("뉴스", "제네바 회담 재개", "시장 상승 마감"),
    "thai": ("ข่าว", "การเจรจาที่เจนีวากลับมาอีกครั้ง", "ตลาดปิดบวก"),
    "vietnamese": ("Báo Đông Á", "Đàm phán Genève: Ưu tiên", "Giá vàng"),
    "baltic": ("Žinios", "Derybos Ženevoje atnaujintos", "Rinkos užsidarė"),
    "nordic": ("Nyheter", "Forhandlingene i Genf gjenopptas", "Børsene steg"),
    "romanian": ("Știri", "Negocierile de la Geneva au fost reluate", "Piețele au crescut"),
    "ukrainian": ("Новини", "Переговори в Женеві відновилися", "Ринки зросли, ґрунтовно"),
    "maltese": ("Aħbarijiet", "Il-ħidma f'Ġinevra terġa' tibda", "Is-swieq għolew"),
    "celtic": ("Newyddion", "Ailddechrau trafodaethau yn Genefa", "Marchnadoedd ŵ ŷ"),
}

# (encoding label as declared, Python codec, script, how it is declared). "prolog": in the
# XML declaration; "http": in the Content-Type charset only; "both"; "bom": byte-order mark.
ENCODINGS = [
    ("utf-8", "utf-8", "arabic", "prolog"),
    ("utf-8", "utf-8", "latin", "none"),
    ("utf-8", "utf-8-sig", "cyrillic", "bom"),
    ("utf-16", "utf-16-le", "arabic", "bom16le"),
    ("utf-16", "utf-16-be", "chinese_s", "bom16be"),
    ("utf-16le", "utf-16-le", "english", "nobom16le"),
    ("windows-1256", "cp1256", "arabic", "prolog"),
    ("windows-1256", "cp1256", "arabic", "http"),
    ("iso-8859-6", "iso8859_6", "arabic", "prolog"),
    ("iso-8859-6", "iso8859_6", "arabic", "http"),
    ("windows-1252", "cp1252", "latin", "prolog"),
    ("iso-8859-1", "latin_1", "latin", "both"),
    ("iso-8859-15", "iso8859_15", "latin", "prolog"),
    ("macintosh", "mac_roman", "latin", "prolog"),
    ("windows-1251", "cp1251", "cyrillic", "prolog"),
    ("koi8-r", "koi8_r", "cyrillic", "http"),
    ("iso-8859-5", "iso8859_5", "cyrillic", "prolog"),
    ("iso-8859-7", "iso8859_7", "greek", "prolog"),
    ("windows-1253", "cp1253", "greek", "http"),
    ("iso-8859-8", "iso8859_8", "hebrew", "prolog"),
    ("windows-1255", "cp1255", "hebrew", "prolog"),
    ("windows-1254", "cp1254", "turkish", "prolog"),
    ("iso-8859-9", "iso8859_9", "turkish", "http"),
    ("iso-8859-2", "iso8859_2", "central", "prolog"),
    ("windows-1250", "cp1250", "central", "both"),
    ("windows-1257", "cp1257", "baltic", "prolog"),
    ("iso-8859-13", "iso8859_13", "baltic", "prolog"),
    ("gb18030", "gb18030", "chinese_s", "prolog"),
    ("gbk", "gbk", "chinese_s", "http"),
    ("big5", "big5", "chinese_t", "prolog"),
    ("shift_jis", "shift_jis", "japanese", "prolog"),
    ("euc-jp", "euc_jp", "japanese", "prolog"),
    ("iso-2022-jp", "iso2022_jp", "japanese", "prolog"),
    ("euc-kr", "euc_kr", "korean", "prolog"),
    ("windows-874", "cp874", "thai", "prolog"),
    ("windows-1258", "cp1258", "vietnamese", "prolog"),
    ("us-ascii", "ascii", "english", "prolog"),
    ("ibm866", "cp866", "cyrillic", "prolog"),
    ("koi8-u", "koi8_u", "ukrainian", "prolog"),
    ("x-mac-cyrillic", "mac_cyrillic", "cyrillic", "prolog"),
    ("iso-8859-3", "iso8859_3", "maltese", "prolog"),
    ("iso-8859-4", "iso8859_4", "baltic", "prolog"),
    ("iso-8859-10", "iso8859_10", "nordic", "prolog"),
    ("iso-8859-14", "iso8859_14", "celtic", "prolog"),
    ("iso-8859-16", "iso8859_16", "romanian", "prolog"),
    ("iso-8859-8-i", "iso8859_8", "hebrew", "http"),
    # Served as windows-1256 while the prolog says UTF-8, or says nothing: still common on
    # Arabic sites; the decoder's detection has to find it.
    ("utf-8", "cp1256", "arabic", "misdeclared"),
    ("", "cp1256", "arabic", "undeclared"),
]

# Date forms in feeds, with the instant they name (UTC).
DATES = [
    ("Fri, 01 Mar 2019 10:12:00 GMT", "2019-03-01T10:12:00+00:00"),
    ("Fri, 01 Mar 2019 13:12:00 +0300", "2019-03-01T10:12:00+00:00"),
    ("01 Mar 2019 05:12 EST", "2019-03-01T10:12:00+00:00"),
    ("Friday, 01-Mar-19 10:12:00 UT", "2019-03-01T10:12:00+00:00"),
    ("2019-03-01T10:12:00Z", "2019-03-01T10:12:00+00:00"),
    ("2019-03-01T12:12:00+02:00", "2019-03-01T10:12:00+00:00"),
    ("2019-03-01T10:12:00.000Z", "2019-03-01T10:12:00+00:00"),
    ("2019-03-01 10:12:00", "2019-03-01T10:12:00+00:00"),
    ("Fri, 1 Mar 2019 10:12:00 Z", "2019-03-01T10:12:00+00:00"),
    ("الجمعة ٠١ مارس ٢٠١٩ ١٠:١٢", "2019-03-01T10:12:00+00:00"),
]

# Real feeds run from a handful of items to a few dozen; two is enough to check the first.
def rss_item(title, link, guid, date, extra=""):
    return (
        f"<item><title>{title}</title><link>{link}</link>"
        f'<guid isPermaLink="false">{guid}</guid><pubDate>{date}</pubDate>{extra}</item>'
    )


def esc(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Case:
    """What one template writes and what a reader must find in it."""

    def __init__(self, body, feed_title, first_title, link, guid, date, kind="xml", notes=""):
        self.body = body
        self.feed_title = feed_title
        self.first_title = first_title
        self.link = link
        self.guid = guid
        self.date = date
        self.kind = kind
        self.notes = notes


def templates(script, n):
    """Every template, filled with titles in `script`; `n` varies dates and links."""
    feed_t, t1, t2 = SCRIPTS[script]
    date_text, date_iso = DATES[n % len(DATES)]
    link = f"https://corpus.example/news/{n}/first"
    link2 = f"https://corpus.example/news/{n}/second"
    guid = f"urn:corpus:{n}:1"
    guid2 = f"urn:corpus:{n}:2"
    second = rss_item(esc(t2), link2, guid2, "Fri, 01 Mar 2019 09:00:00 GMT")
    channel_head = f"<title>{esc(feed_t)}</title><link>https://corpus.example/</link><description>d</description>"
    cases = {}

    cases["rss20"] = Case(
        f'<rss version="2.0"><channel>{channel_head}'
        f"{rss_item(esc(t1), link, guid, date_text)}{second}</channel></rss>",
        feed_t, t1, link, guid, date_iso)
    cases["rss20-cdata"] = Case(
        f'<rss version="2.0"><channel><title><![CDATA[{feed_t}]]></title><link>https://corpus.example/</link>'
        f"<item><title><![CDATA[{t1}]]></title><link><![CDATA[{link}]]></link><guid isPermaLink=\"false\">{guid}</guid>"
        f"<pubDate>{date_text}</pubDate><description><![CDATA[<p>Body & more</p>]]></description></item>{second}</channel></rss>",
        feed_t, t1, link, guid, date_iso)
    cases["rss20-html-title"] = Case(
        f'<rss version="2.0"><channel>{channel_head}'
        f"{rss_item('&lt;b&gt;' + esc(t1) + '&lt;/b&gt;', link, guid, date_text)}{second}</channel></rss>",
        feed_t, t1, link, guid, date_iso, notes="escaped markup in a title is read as HTML")
    cases["rss20-modules"] = Case(
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:atom="http://www.w3.org/2005/Atom" xmlns:slash="http://purl.org/rss/1.0/modules/slash/">'
        f'<channel>{channel_head}<atom:link rel="self" href="{FEED_URL}" type="application/rss+xml"/>'
        f"<item><title>{esc(t1)}</title><link>{link}</link><dc:creator>Staff</dc:creator>"
        f"<guid isPermaLink=\"false\">{guid}</guid><dc:date>2019-03-01T10:12:00Z</dc:date>"
        f"<content:encoded><![CDATA[<p>{t1}</p>]]></content:encoded><slash:comments>3</slash:comments></item>"
        f"{second}</channel></rss>",
        feed_t, t1, link, guid, "2019-03-01T10:12:00+00:00")
    cases["rss20-dc-title"] = Case(
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<dc:title>{esc(feed_t)}</dc:title><link>https://corpus.example/</link>"
        f"<item><dc:title>{esc(t1)}</dc:title><link>{link}</link><guid isPermaLink=\"false\">{guid}</guid>"
        f"<dc:date>2019-03-01T10:12:00Z</dc:date></item>"
        f"<item><dc:title>{esc(t2)}</dc:title><link>{link2}</link></item></channel></rss>",
        feed_t, t1, link, guid, "2019-03-01T10:12:00+00:00", notes="titles only in dc:title")
    cases["rss20-media-title"] = Case(
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>'
        f"{channel_head}<item><media:title>{esc(t1)}</media:title><link>{link}</link>"
        f"<guid isPermaLink=\"false\">{guid}</guid><pubDate>{date_text}</pubDate>"
        f'<media:content url="https://corpus.example/v.mp4" type="video/mp4"><media:description>x</media:description></media:content></item>'
        f"{second}</channel></rss>",
        feed_t, t1, link, guid, date_iso, notes="titles only in media:title")
    cases["rss20-media-group"] = Case(
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>'
        f"{channel_head}<item><link>{link}</link><guid isPermaLink=\"false\">{guid}</guid><pubDate>{date_text}</pubDate>"
        f"<media:group><media:title>{esc(t1)}</media:title><media:content url=\"https://corpus.example/a.mp4\"/></media:group></item>"
        f"{second}</channel></rss>",
        feed_t, t1, link, guid, date_iso, notes="the title inside media:group")
    cases["rss20-itunes-upper"] = Case(
        '<rss version="2.0" xmlns:itunes="http://www.itunes.com/DTDs/Podcast-1.0.dtd"><channel>'
        f"<itunes:TITLE>{esc(feed_t)}</itunes:TITLE><link>https://corpus.example/</link>"
        f"<item><itunes:Title>{esc(t1)}</itunes:Title><link>{link}</link><guid isPermaLink=\"false\">{guid}</guid>"
        f'<pubDate>{date_text}</pubDate><enclosure url="https://corpus.example/e.mp3" length="1" type="audio/mpeg"/></item>'
        f"{second}</channel></rss>",
        feed_t, t1, link, guid, date_iso, notes="upper-case itunes: names, namespace in another case")
    cases["rss20-itunes-beside-title"] = Case(
        '<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel>'
        f"{channel_head}<itunes:title>Show</itunes:title>"
        f"<item><itunes:title>Episode 12</itunes:title><title>{esc(t1)}</title><link>{link}</link>"
        f"<guid isPermaLink=\"false\">{guid}</guid><pubDate>{date_text}</pubDate></item>{second}</channel></rss>",
        feed_t, t1, link, guid, date_iso, notes="<title> wins over itunes:title")
    cases["rss20-undeclared-prefix"] = Case(
        f'<rss version="2.0"><channel><dc:title>{esc(feed_t)}</dc:title><link>https://corpus.example/</link>'
        f"<item><dc:title>{esc(t1)}</dc:title><link>{link}</link><guid isPermaLink=\"false\">{guid}</guid>"
        f"<dc:date>2019-03-01T10:12:00Z</dc:date></item></channel></rss>",
        feed_t, t1, link, guid, "2019-03-01T10:12:00+00:00", notes="dc: used without its namespace declared")
    cases["rss20-permalink-guid"] = Case(
        f'<rss version="2.0"><channel>{channel_head}'
        f"<item><title>{esc(t1)}</title><guid>{link}</guid><pubDate>{date_text}</pubDate></item>{second}</channel></rss>",
        feed_t, t1, link, link, date_iso, notes="the link only as a permalink guid")
    cases["rss20-relative-link"] = Case(
        f'<rss version="2.0"><channel>{channel_head}'
        f"<item><title>{esc(t1)}</title><link>/news/{n}/first</link><guid isPermaLink=\"false\">{guid}</guid>"
        f"<pubDate>{date_text}</pubDate></item>{second}</channel></rss>",
        feed_t, t1, link, guid, date_iso, notes="a relative link resolves against the feed")
    cases["rss20-entities"] = Case(
        f'<rss version="2.0"><channel><title>{esc(feed_t)} &#x26; &#65;&#x42;</title><link>https://corpus.example/</link>'
        f"<item><title>{esc(t1)} &mdash; &eacute;t&eacute; &lang;x&rang;</title><link>{link}</link>"
        f"<guid isPermaLink=\"false\">{guid}</guid><pubDate>{date_text}</pubDate></item>{second}</channel></rss>",
        feed_t + " & AB", t1 + " — été \u2329x\u232a", link, guid, date_iso,
        notes="numeric references and HTML named entities, &lang; by the HTML 4 table")
    cases["rss20-no-version"] = Case(
        f"<rss><channel>{channel_head}{rss_item(esc(t1), link, guid, date_text)}{second}</channel></rss>",
        feed_t, t1, link, guid, date_iso)
    cases["rss20-userland-ns"] = Case(
        f'<rss version="2.0" xmlns="http://backend.userland.com/rss2"><channel>{channel_head}'
        f"{rss_item(esc(t1), link, guid, date_text)}{second}</channel></rss>",
        feed_t, t1, link, guid, date_iso, notes="RSS 2.0 in the UserLand namespace")
    cases["rss20-image-first"] = Case(
        f'<rss version="2.0"><channel><image><title>Logo of the site</title><url>https://corpus.example/l.png</url>'
        f"<link>https://corpus.example/</link></image>{channel_head}"
        f"{rss_item(esc(t1), link, guid, date_text)}{second}</channel></rss>",
        feed_t, t1, link, guid, date_iso, notes="the channel image's title is not the feed's")
    cases["rss091-netscape"] = Case(
        '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        '"http://my.netscape.com/publish/formats/rss-0.91.dtd">'
        f'<rss version="0.91"><channel>{channel_head}<language>en</language>'
        f"<item><title>{esc(t1)}</title><link>{link}</link><description>x</description></item>"
        f"<item><title>{esc(t2)}</title><link>{link2}</link></item></channel></rss>",
        feed_t, t1, link, None, None, notes="RSS 0.91 with the Netscape DOCTYPE")
    cases["rss091-userland"] = Case(
        f'<rss version="0.91"><channel>{channel_head}'
        f"<item><title>{esc(t1)}</title><link>{link}</link></item></channel></rss>",
        feed_t, t1, link, None, None)
    cases["rss092"] = Case(
        f'<rss version="0.92"><channel>{channel_head}'
        f'<item><title>{esc(t1)}</title><link>{link}</link><category domain="x">World</category>'
        f'<enclosure url="https://corpus.example/m.mp3" length="1" type="audio/mpeg"/>'
        f'<source url="https://other.example/rss">Other</source></item></channel></rss>',
        feed_t, t1, link, None, None)
    cases["rss093"] = Case(
        f'<rss version="0.93"><channel>{channel_head}'
        f"<item><title>{esc(t1)}</title><link>{link}</link><pubDate>{date_text}</pubDate></item></channel></rss>",
        feed_t, t1, link, None, date_iso)
    cases["rss090"] = Case(
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://my.netscape.com/rdf/simple/0.9/">'
        f"<channel><title>{esc(feed_t)}</title><link>https://corpus.example/</link><description>d</description></channel>"
        "<image><title>Logo</title><url>https://corpus.example/l.gif</url><link>https://corpus.example/</link></image>"
        f"<item><title>{esc(t1)}</title><link>{link}</link></item>"
        f"<item><title>{esc(t2)}</title><link>{link2}</link></item></rdf:RDF>",
        feed_t, t1, link, None, None, notes="RSS 0.90")
    cases["rss10"] = Case(
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">'
        f'<channel rdf:about="https://corpus.example/"><title>{esc(feed_t)}</title><link>https://corpus.example/</link>'
        f'<description>d</description><sy:updatePeriod>hourly</sy:updatePeriod><items><rdf:Seq><rdf:li resource="{link}"/></rdf:Seq></items></channel>'
        f'<item rdf:about="{link}"><title>{esc(t1)}</title><link>{link}</link><dc:date>2019-03-01T10:12:00Z</dc:date>'
        f"<dc:creator>Staff</dc:creator><dc:subject>World</dc:subject></item></rdf:RDF>",
        feed_t, t1, link, None, "2019-03-01T10:12:00+00:00")
    cases["rss10-prefixed"] = Case(
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:rss="http://purl.org/rss/1.0/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f'<rss:channel rdf:about="https://corpus.example/"><rss:title>{esc(feed_t)}</rss:title><rss:link>https://corpus.example/</rss:link></rss:channel>'
        f'<rss:item rdf:about="{link}"><rss:title>{esc(t1)}</rss:title><rss:link>{link}</rss:link>'
        f"<dc:date>2019-03-01T10:12:00Z</dc:date></rss:item></rdf:RDF>",
        feed_t, t1, link, None, "2019-03-01T10:12:00+00:00", notes="RSS 1.0 elements with a prefix")
    cases["rss10-about-only"] = Case(
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f'<channel rdf:about="https://corpus.example/"><title>{esc(feed_t)}</title></channel>'
        f'<item rdf:about="{link}"><title>{esc(t1)}</title><dc:date>2019-03-01T10:12:00Z</dc:date>'
        f"<content:encoded>&lt;p&gt;x&lt;/p&gt;</content:encoded></item></rdf:RDF>",
        feed_t, t1, link, None, "2019-03-01T10:12:00+00:00", notes="the link only as rdf:about")

    atom_head = f'<title>{esc(feed_t)}</title><id>urn:corpus:feed</id><updated>2019-03-01T10:12:00Z</updated><link href="https://corpus.example/"/>'

    def atom_entry(title_element, extra="", entry_link=link, entry_id=guid):
        return (
            f'<entry>{title_element}<link rel="self" href="https://corpus.example/self/{n}"/>'
            f'<link rel="alternate" type="text/html" href="{entry_link}"/><id>{entry_id}</id>'
            f"<published>{date_iso.replace('+00:00', 'Z')}</published><updated>2019-03-02T00:00:00Z</updated>{extra}</entry>"
        )

    second_entry = atom_entry(f"<title>{esc(t2)}</title>", entry_link=link2, entry_id=guid2)

    def atom(entry, root_extra=""):
        return f'<feed xmlns="http://www.w3.org/2005/Atom"{root_extra}>{atom_head}{entry}{second_entry}</feed>'

    cases["atom10"] = Case(atom(atom_entry(f"<title>{esc(t1)}</title>")), feed_t, t1, link, guid, date_iso)
    cases["atom10-type-text"] = Case(
        atom(atom_entry(f'<title type="text">{esc(t1)}</title><summary type="text">s</summary>')),
        feed_t, t1, link, guid, date_iso)
    cases["atom10-type-html"] = Case(
        atom(atom_entry(f'<title type="html">&lt;em&gt;{esc(esc(t1))}&lt;/em&gt;</title>')),
        feed_t, t1, link, guid, date_iso, notes="an HTML title: markup and references read as HTML")
    cases["atom10-type-xhtml"] = Case(
        atom(atom_entry(f'<title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><b>{esc(t1)}</b></div></title>')),
        feed_t, t1, link, guid, date_iso, notes="inline XHTML comes out as text")
    cases["atom10-type-text-plain"] = Case(
        atom(atom_entry(f'<title type="text/plain">{esc(t1)}</title><summary type="text/plain">s</summary><rights type="text/plain">r</rights>')),
        feed_t, t1, link, guid, date_iso, notes="type=text/plain (a media type) in title, summary, rights")
    cases["atom10-type-xhtml-media"] = Case(
        atom(atom_entry(f'<title type="application/xhtml+xml">{esc(t1)}</title>')),
        feed_t, t1, link, guid, date_iso, notes="type=application/xhtml+xml")
    cases["atom10-type-empty"] = Case(
        atom(atom_entry(f'<title type="">{esc(t1)}</title>')),
        feed_t, t1, link, guid, date_iso, notes="an empty type")
    cases["atom10-content-lang"] = Case(
        atom(atom_entry(f"<title>{esc(t1)}</title>", '<content xml:lang="ar"/>')),
        feed_t, t1, link, guid, date_iso, notes="xml:lang on empty content")
    cases["atom10-content-src"] = Case(
        atom(atom_entry(f"<title>{esc(t1)}</title>", '<content xml:lang="en" type="text/html" src="https://corpus.example/c"/>')),
        feed_t, t1, link, guid, date_iso, notes="out-of-line content")
    cases["atom10-rights-xhtml"] = Case(
        atom(atom_entry(f'<title xml:lang="ar">{esc(t1)}</title>', '<rights type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">© <b>x</b></div></rights>'),
             ' xml:lang="ar"'),
        feed_t, t1, link, guid, date_iso)
    cases["atom10-prefixed"] = Case(
        f'<atom:feed xmlns:atom="http://www.w3.org/2005/Atom"><atom:title>{esc(feed_t)}</atom:title><atom:id>urn:f</atom:id>'
        f'<atom:updated>2019-03-01T10:12:00Z</atom:updated><atom:entry><atom:title>{esc(t1)}</atom:title>'
        f'<atom:link href="{link}"/><atom:id>{guid}</atom:id><atom:updated>{date_iso.replace("+00:00", "Z")}</atom:updated></atom:entry></atom:feed>',
        feed_t, t1, link, guid, date_iso, notes="Atom with a prefix")
    cases["atom10-source"] = Case(
        atom(atom_entry(f"<title>{esc(t1)}</title>", '<source><title>Another feed</title><id>urn:other</id></source><author><name>Ann</name><email>a@corpus.example</email></author>')),
        feed_t, t1, link, guid, date_iso, notes="an entry's source has a title of its own")
    cases["atom03"] = Case(
        f'<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>{esc(feed_t)}</title>'
        f'<link rel="alternate" type="text/html" href="https://corpus.example/"/><modified>2019-03-01T10:12:00Z</modified>'
        f'<entry><title>{esc(t1)}</title><link rel="alternate" type="text/html" href="{link}"/><id>{guid}</id>'
        f"<issued>{date_iso.replace('+00:00', 'Z')}</issued><modified>2019-03-02T00:00:00Z</modified></entry></feed>",
        feed_t, t1, link, guid, date_iso, notes="Atom 0.3")
    b64 = base64.b64encode(t1.encode("utf-8")).decode("ascii")
    cases["atom03-base64"] = Case(
        f'<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title mode="escaped" type="text/html">{esc(feed_t)}</title>'
        f'<entry><title mode="base64" type="text/plain">{b64}</title><link rel="alternate" type="text/html" href="{link}"/>'
        f"<id>{guid}</id><issued>{date_iso.replace('+00:00', 'Z')}</issued>"
        f'<content type="application/xhtml+xml" mode="xml"><div xmlns="http://www.w3.org/1999/xhtml">x</div></content></entry></feed>',
        feed_t, t1, link, guid, date_iso, notes="Atom 0.3 mode=base64 and mode=xml")
    cases["atom10-no-namespace"] = Case(
        f'<feed><title>{esc(feed_t)}</title><entry><title>{esc(t1)}</title><link href="{link}"/><id>{guid}</id>'
        f"<published>{date_iso.replace('+00:00', 'Z')}</published></entry></feed>",
        feed_t, t1, link, guid, date_iso, notes="Atom without its namespace")

    cases["cdf"] = Case(
        f'<CHANNEL HREF="https://corpus.example/" BASE="https://corpus.example/"><TITLE>{esc(feed_t)}</TITLE><ABSTRACT>a</ABSTRACT>'
        f'<ITEM HREF="{link}" LASTMOD="2019-03-01T10:12"><TITLE>{esc(t1)}</TITLE><ABSTRACT>x</ABSTRACT></ITEM>'
        f'<ITEM HREF="{link2}"><TITLE>{esc(t2)}</TITLE></ITEM></CHANNEL>',
        feed_t, t1, link, None, "2019-03-01T10:12:00+00:00", notes="Microsoft CDF")
    cases["cdf-nested"] = Case(
        f'<CHANNEL HREF="https://corpus.example/"><TITLE>{esc(feed_t)}</TITLE><LOGO HREF="https://corpus.example/l.gif" STYLE="IMAGE"/>'
        f'<SCHEDULE><INTERVALTIME DAY="1"/></SCHEDULE><ITEM HREF="{link}" PRECACHE="NO"><TITLE>{esc(t1)}</TITLE><USAGE VALUE="Channel"/></ITEM></CHANNEL>',
        feed_t, t1, link, None, None, notes="CDF with logo, schedule and usage")

    return cases


def json_feeds(script, n):
    feed_t, t1, t2 = SCRIPTS[script]
    link = f"https://corpus.example/news/{n}/first"
    out = {}
    out["jsonfeed10"] = Case(json.dumps({
        "version": "https://jsonfeed.org/version/1", "title": feed_t, "home_page_url": "https://corpus.example/",
        "feed_url": FEED_URL, "author": {"name": "Desk"},
        "items": [
            {"id": f"urn:corpus:{n}:1", "url": link, "title": t1, "content_text": "x",
             "date_published": "2019-03-01T10:12:00Z", "author": {"name": "Ann"}},
            {"id": f"urn:corpus:{n}:2", "url": link + "2", "title": t2, "content_html": "<p>y</p>"},
        ]}, ensure_ascii=(n % 2 == 0)), feed_t, t1, link, f"urn:corpus:{n}:1", "2019-03-01T10:12:00+00:00", kind="json")
    out["jsonfeed11"] = Case(json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": feed_t, "language": "ar",
        "items": [
            {"id": f"urn:corpus:{n}:1", "url": link, "title": t1, "content_html": "<p>x</p>",
             "date_published": "2019-03-01T13:12:00+03:00", "authors": [{"name": "Ann"}], "tags": ["a"]},
        ]}, ensure_ascii=False), feed_t, t1, link, f"urn:corpus:{n}:1", "2019-03-01T10:12:00+00:00", kind="json")
    out["jsonfeed-loose"] = Case(json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": feed_t,
        "items": [
            {"id": 1000 + n, "url": link, "title": t1, "content_text": "x",
             "date_published": "2019-03-01T10:12:00Z", "authors": "Ann", "tags": "one"},
        ]}, ensure_ascii=False), feed_t, t1, link, str(1000 + n), "2019-03-01T10:12:00+00:00", kind="json",
        notes="fields of the wrong type (a numeric id, authors as a string)")
    return out


def write(name, text, label, codec, how):
    """Encodes one document and says how a server would serve it."""
    content_type = "application/xml"
    if how in ("prolog", "both", "misdeclared"):
        prolog = f'<?xml version="1.0" encoding="{label}"?>\n'
    elif how.startswith("bom") or how == "nobom16le":
        prolog = '<?xml version="1.0" encoding="utf-16"?>\n' if "16" in how else '<?xml version="1.0"?>\n'
    else:
        prolog = '<?xml version="1.0"?>\n' if how == "http" else ""
    if how in ("http", "both"):
        content_type = f"application/rss+xml; charset={label}"
    document = prolog + text
    if codec == "utf-16-le" and how == "bom16le":
        data = b"\xff\xfe" + document.encode("utf-16-le")
    elif codec == "utf-16-be":
        data = b"\xfe\xff" + document.encode("utf-16-be")
    else:
        data = document.encode(codec)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    return content_type


def representable(case, codec):
    try:
        for text in (case.feed_title, case.first_title, case.body):
            text.encode(codec)
        return True
    except (UnicodeEncodeError, LookupError):
        return False


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    expected = []
    n = 0
    names = list(templates("english", 0).keys())
    # Every template in UTF-8 with Arabic, Latin and English titles, then in the encodings
    # taken in turn, so each template meets several encodings and each encoding several
    # templates.
    plan = []
    for index, name in enumerate(names):
        plan.append((name, ("utf-8", "utf-8", "arabic", "prolog")))
        plan.append((name, ("utf-8", "utf-8", "english", "none")))
        for step in range(6):
            plan.append((name, ENCODINGS[(index * 6 + step) % len(ENCODINGS)]))
    # Every encoding at least three times, whatever the rotation gave it.
    for encoding in ENCODINGS:
        given = sum(1 for _, e in plan if e == encoding)
        for name in names[: max(0, 3 - given)]:
            plan.append((name, encoding))
    for name, (label, codec, script, how) in plan:
        n += 1
        case = templates(script, n)[name]
        if not representable(case, codec):
            continue
        file = f"{n:03d}-{name}-{(label or 'undeclared')}-{how}.xml"
        content_type = write(file, case.body, label, codec, how)
        expected.append({
            "file": file, "content_type": content_type, "format": name, "encoding": label or codec,
            "feed_title": case.feed_title, "first_title": case.first_title, "first_link": case.link,
            "first_id": case.guid, "first_date": case.date, "notes": case.notes,
        })
    for script in ("arabic", "latin", "english", "chinese_s", "cyrillic", "hebrew"):
        for name, case in json_feeds(script, n).items():
            n += 1
            case = json_feeds(script, n)[name]
            file = f"{n:03d}-{name}-{script}.json"
            with open(os.path.join(OUT, file), "wb") as f:
                f.write(case.body.encode("utf-8"))
            expected.append({
                "file": file, "content_type": "application/feed+json", "format": name, "encoding": "utf-8",
                "feed_title": case.feed_title, "first_title": case.first_title, "first_link": case.link,
                "first_id": case.guid, "first_date": case.date, "notes": case.notes,
            })
    with open(os.path.join(HERE, "expected.jsonl"), "w", encoding="utf-8") as f:
        for row in expected:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(expected)} feeds written to {OUT}")


if __name__ == "__main__":
    main()
