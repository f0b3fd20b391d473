//! Canonical URLs: one spelling per article, so ids and duplicates line up.

/// Query parameters that only track a click.
fn is_tracking_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("utm_")
        || matches!(
            name.as_str(),
            "fbclid"
                | "gclid"
                | "dclid"
                | "msclkid"
                | "yclid"
                | "mc_cid"
                | "mc_eid"
                | "igshid"
                | "_ga"
                | "_gl"
                | "ocid"
                | "cmpid"
                | "ref_src"
                | "at_medium"
                | "at_campaign"
                | "smid"
                | "smtyp"
                | "mbid"
                | "wt.mc_id"
                | "spm"
                | "share"
        )
}

/// Lower-case scheme and host (the url crate does that), default port dropped, fragment and
/// tracking parameters removed, the remaining query sorted.
pub fn canonicalize(raw: &str) -> Option<String> {
    let mut url = url::Url::parse(raw.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return Some(url.to_string());
    }
    url.set_fragment(None);
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !is_tracking_param(k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort();
    if pairs.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    Some(url.to_string())
}

/// The registrable-ish host of a URL without `www.`, for "same site" checks.
pub fn site_of(raw: &str) -> Option<String> {
    let url = url::Url::parse(raw).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    Some(host.strip_prefix("www.").unwrap_or(&host).to_string())
}

/// A page's `rel=canonical` is followed only when it stays on the site that served the page
/// (a hijacked or syndicated page must not claim another site's id).
pub fn choose_canonical(page_url: &str, declared: Option<&str>) -> Option<String> {
    let page = canonicalize(page_url);
    let Some(declared) = declared else {
        return page;
    };
    let absolute = url::Url::parse(page_url)
        .ok()
        .and_then(|base| base.join(declared.trim()).ok())
        .map(|u| u.to_string())?;
    let same_site = match (site_of(page_url), site_of(&absolute)) {
        (Some(a), Some(b)) => {
            a == b || a.ends_with(&format!(".{b}")) || b.ends_with(&format!(".{a}"))
        }
        _ => false,
    };
    if same_site {
        canonicalize(&absolute).or(page)
    } else {
        page
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_table() {
        let table = [
            (
                "HTTPS://WWW.Example.COM:443/a?utm_source=x&b=2&a=1#frag",
                "https://www.example.com/a?a=1&b=2",
            ),
            ("http://example.com:80/p?fbclid=1", "http://example.com/p"),
            (
                "https://example.com/p?gclid=z&id=5",
                "https://example.com/p?id=5",
            ),
        ];
        for (input, expected) in table {
            assert_eq!(canonicalize(input).as_deref(), Some(expected), "{input}");
        }
    }

    #[test]
    fn canonical_link_only_on_same_site() {
        assert_eq!(
            choose_canonical("https://www.ex.org/a?utm_medium=rss", Some("/story/a")).as_deref(),
            Some("https://www.ex.org/story/a")
        );
        assert_eq!(
            choose_canonical("https://www.ex.org/a", Some("https://other.com/a")).as_deref(),
            Some("https://www.ex.org/a")
        );
    }
}
