//! A loopback server of many realistic feeds, for `cargo xtask bench poll`.
//!
//! `feed_server --feeds 10000 --items 20 --addresses 8 --threads 4` listens on 127.0.0.1 to
//! 127.0.0.N (same port), serves `/feed/<i>.xml` (RSS 2.0, ~20 items with Arabic and English
//! text, an ETag, and 304 to a matching If-None-Match), prints `ready <port>` and runs until
//! its standard input closes.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn feed(i: usize, items: usize, host: &str) -> String {
    let mut out = String::with_capacity(items * 800 + 512);
    out.push_str(&format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><title>Feed {i} — أخبار</title><link>http://{host}/</link><description>Synthetic feed {i}</description><language>ar</language><ttl>15</ttl>\n"
    ));
    for j in 0..items {
        out.push_str(&format!(
            "<item><title>خبر رقم {j} من الموقع {i}: التحالف الدولي يقصف مواقع في ريف دير الزور</title>\
<link>http://{host}/article/{i}/{j}</link><guid isPermaLink=\"false\">feed-{i}-item-{j}</guid>\
<pubDate>Fri, 01 Mar 2019 {:02}:{:02}:00 GMT</pubDate><dc:creator>Newsroom</dc:creator><category>سياسة</category>\
<description>قصفت قوات التحالف الدولي، ليلة الخميس الجمعة، عدة نقاط ومواقع في المنطقة التي يتمترس بها تنظيم &quot;داعش&quot; في ناحية الباغوز بريف دير الزور، شمال شرق سورية. The coalition struck positions near al-Baghouz overnight, local sources said; item {j} of feed {i}.</description></item>\n",
            j % 24,
            (i + j) % 60
        ));
    }
    out.push_str("</channel></rss>\n");
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let feeds = arg(&args, "--feeds", 10_000);
    let items = arg(&args, "--items", 20);
    let addresses = arg(&args, "--addresses", 8).clamp(1, 250);
    let threads = arg(&args, "--threads", 4).max(1);
    let first = match tiny_http::Server::http("127.0.0.1:0") {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot listen: {e}");
            std::process::exit(1);
        }
    };
    let port = first.server_addr().to_ip().map(|a| a.port()).unwrap_or(0);
    let mut servers = vec![Arc::new(first)];
    for n in 2..=addresses {
        match tiny_http::Server::http(format!("127.0.0.{n}:{port}")) {
            Ok(s) => servers.push(Arc::new(s)),
            Err(e) => {
                eprintln!("cannot listen on 127.0.0.{n}:{port}: {e}");
                std::process::exit(1);
            }
        }
    }
    let served = Arc::new(AtomicU64::new(0));
    for server in &servers {
        for _ in 0..threads {
            let server = Arc::clone(server);
            let served = Arc::clone(&served);
            std::thread::spawn(move || {
                while let Ok(request) = server.recv() {
                    served.fetch_add(1, Ordering::Relaxed);
                    let host = request
                        .headers()
                        .iter()
                        .find(|h| h.field.equiv("Host"))
                        .map(|h| h.value.to_string())
                        .unwrap_or_default();
                    let index = request
                        .url()
                        .strip_prefix("/feed/")
                        .and_then(|r| r.strip_suffix(".xml"))
                        .and_then(|n| n.parse::<usize>().ok())
                        .filter(|n| *n < feeds);
                    let Some(i) = index else {
                        let _ = request.respond(tiny_http::Response::empty(404));
                        continue;
                    };
                    let etag = format!("\"feed-{i}-v1\"");
                    let fresh = request
                        .headers()
                        .iter()
                        .any(|h| h.field.equiv("If-None-Match") && h.value.as_str() == etag);
                    let etag_header = tiny_http::Header::from_bytes("ETag", etag.as_bytes());
                    let response = if fresh {
                        tiny_http::Response::from_data(Vec::new()).with_status_code(304)
                    } else {
                        tiny_http::Response::from_data(feed(i, items, &host).into_bytes())
                    };
                    let response = match etag_header {
                        Ok(h) => response.with_header(h),
                        Err(_) => response,
                    };
                    let _ = request.respond(response);
                }
            });
        }
    }
    println!("ready {port}");
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    eprintln!("served {} requests", served.load(Ordering::Relaxed));
}
