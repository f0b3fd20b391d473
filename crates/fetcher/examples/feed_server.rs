//! A loopback server of many realistic feeds and their article pages, for `cargo xtask bench
//! poll` and `cargo xtask bench pipeline`.
//!
//! `feed_server --feeds 10000 --items 20 --addresses 8 --threads 4` listens on N loopback
//! addresses (127.0.0.1 to 127.0.0.250, then 127.0.1.1…; same port), serves `/feed/<i>.xml` (RSS 2.0, ~20 items with Arabic and English
//! text, an ETag, and 304 to a matching If-None-Match), each item's page at
//! `/article/<i>/<j>` (an Arabic news page of about 60 KB, mostly site chrome, see
//! [`article_page`]) and an allow-all `/robots.txt`; prints `ready <port>` and runs until its
//! standard input closes.
//!
//! With `--rolling`, every full answer for a feed carries the next `--items` items (answer `n`
//! of feed `i` holds items `n × items` to `n × items + items − 1`, with a new ETag), the way a
//! busy site's feed moves on between polls: what `cargo xtask bench soak` polls for hours.

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

/// Feed `i` with items `first..first + items`; `ttl` its `<ttl>` (minutes), if any.
fn feed(i: usize, first: usize, items: usize, host: &str, ttl: Option<u32>) -> String {
    let mut out = String::with_capacity(items * 800 + 512);
    let ttl = ttl.map(|m| format!("<ttl>{m}</ttl>")).unwrap_or_default();
    out.push_str(&format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><title>Feed {i} — أخبار</title><link>http://{host}/</link><description>Synthetic feed {i}</description><language>ar</language>{ttl}\n"
    ));
    for j in first..first.saturating_add(items) {
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

/// Sentences of the kind wire copy about the region is made of; `{p}` a place, `{o}` and
/// `{q}` organizations, `{s}` a speaker, `{n}` a number. Written for this benchmark.
const TEMPLATES: [&str; 24] = [
    "قصفت طائرات {o} مواقع في {p} ليلة الخميس الجمعة، ما أسفر عن سقوط {n} قتلى بحسب مصادر محلية.",
    "قال {s} في تصريح لوكالة فرانس برس إن الوضع في {p} لا يزال متوترا رغم الهدنة المعلنة.",
    "أعلنت {o} عن إجلاء {n} مدنيا من {p} خلال الأيام الماضية، بينهم نساء وأطفال.",
    "وأفاد مراسل العربي الجديد بأن عناصر {o} تقدموا نحو أطراف {p} وسط اشتباكات عنيفة مع {q}.",
    "وتسلمت {o} السيطرة على {p} بعد انسحاب عناصر {q} منها فجر اليوم.",
    "وذكرت مصادر طبية أن {n} جريحا وصلوا إلى مستشفيات {p} منذ صباح الأحد.",
    "من جهته، أكد {s} أن المفاوضات مع {o} ستستأنف الأسبوع المقبل في {p}.",
    "ويأتي ذلك بعد أسبوعين من الهدوء النسبي الذي شهدته مناطق ريف {p} الشرقي.",
    "وأشار المرصد السوري لحقوق الإنسان إلى أن {n} عائلة نزحت من قرى {p} باتجاه المخيمات.",
    "ونقلت وكالة رويترز عن {s} قوله إن {o} لن تنسحب من {p} قبل انتهاء العمليات.",
    "وطالبت {o} المجتمع الدولي بتأمين ممرات آمنة لخروج المدنيين من {p}.",
    "وشهدت مدينة {p} تظاهرات احتجاجا على تردي الأوضاع المعيشية وانقطاع الكهرباء.",
    "وبحسب بيان صادر عن {o}، فإن {n} شاحنة محملة بالمساعدات دخلت إلى {p} أمس.",
    "وكانت {o} قد أعلنت في وقت سابق بدء المرحلة الأخيرة من المعركة ضد {q} في {p}.",
    "وأوضح {s} أن الضربات استهدفت مستودعات أسلحة ومقرات قيادية تابعة لـ{q}.",
    "وفي سياق متصل، اجتمع ممثلون عن {o} و{q} في {p} لبحث ترتيبات تسليم المعابر.",
    "ولفت المتحدث إلى أن عمليات البحث عن المفقودين تحت الأنقاض ما زالت مستمرة في {p}.",
    "وتعد {p} من أكثر المناطق تضررا من المعارك التي اندلعت منذ مطلع العام.",
    "وحذرت منظمة الصحة العالمية من تفشي الأمراض في مخيمات النازحين قرب {p}.",
    "وأضاف {s} أن {n} من عناصر {q} سلموا أنفسهم إلى {o} خلال اليومين الماضيين.",
    "وتشير التقديرات إلى أن نحو {n} ألف شخص ما زالوا يقيمون في {p} وسط نقص حاد في الغذاء.",
    "The coalition said its aircraft struck {n} targets near {p} overnight, according to a statement.",
    "ورفضت {o} التعليق على الأنباء التي تحدثت عن سقوط ضحايا مدنيين في {p}.",
    "وختم {s} بالقول إن الحل السياسي هو السبيل الوحيد لإنهاء معاناة أهالي {p}.",
];

const PLACES: [&str; 20] = [
    "دير الزور",
    "الرقة",
    "حلب",
    "إدلب",
    "الموصل",
    "بغداد",
    "بيروت",
    "صنعاء",
    "طرابلس",
    "غزة",
    "درعا",
    "الحسكة",
    "القامشلي",
    "منبج",
    "عفرين",
    "الباغوز",
    "حمص",
    "حماة",
    "دمشق",
    "الميادين",
];

const ORGANIZATIONS: [&str; 10] = [
    "قوات سورية الديمقراطية",
    "التحالف الدولي",
    "الأمم المتحدة",
    "اللجنة الدولية للصليب الأحمر",
    "قوات النظام السوري",
    "تنظيم داعش",
    "هيئة تحرير الشام",
    "وزارة الدفاع الأميركية",
    "الهلال الأحمر العربي السوري",
    "الجيش الوطني السوري",
];

const SPEAKERS: [&str; 8] = [
    "المتحدث باسم التحالف الدولي شون رايان",
    "مدير المرصد السوري رامي عبد الرحمن",
    "القيادي في قسد مصطفى بالي",
    "وزير الخارجية التركي مولود جاووش أوغلو",
    "المبعوث الأممي غير بيدرسون",
    "الناشط الإعلامي أبو محمد",
    "مسؤول محلي فضل عدم الكشف عن اسمه",
    "الرئيس الأميركي دونالد ترامب",
];

/// A small deterministic generator (SplitMix64): the same page for the same address, run
/// after run.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
}

/// The story an article tells: 18 to 41 sentences in paragraphs of two to four.
fn story(seed: u64) -> Vec<String> {
    let mut mix = Mix(seed);
    let sentences = 18 + mix.next() % 24;
    (0..sentences)
        .map(|_| {
            mix.pick(&TEMPLATES)
                .replace("{p}", mix.pick(&PLACES))
                .replace("{o}", mix.pick(&ORGANIZATIONS))
                .replace("{q}", mix.pick(&ORGANIZATIONS))
                .replace("{s}", mix.pick(&SPEAKERS))
                .replace("{n}", &(2 + mix.next() % 300).to_string())
        })
        .collect()
}

/// Site chrome around every page (menus, most-read lists, footer, scripts, styles): what
/// makes a 6 KB story a 60 KB page, and what the extractor has to see through.
fn chrome() -> (String, String) {
    let mut mix = Mix(7);
    let mut head = String::from("<style>");
    for k in 0..250 {
        head.push_str(&format!(
            ".c{k}{{margin:{}px;padding:{}px;color:#{:06x};font-family:Tahoma,sans-serif}}\n",
            k % 17,
            k % 11,
            mix.next() % 0xFF_FFFF
        ));
    }
    head.push_str("</style><script>window.__SITE__={\"sections\":[");
    for k in 0..400 {
        head.push_str(&format!(
            "{{\"id\":{k},\"slug\":\"section-{k}\",\"ad\":\"slot-{}\"}},",
            mix.next() % 9999
        ));
    }
    head.push_str("{}]};</script>");
    let mut nav = String::from("<header class=\"c1\"><nav><ul>");
    for k in 0..90 {
        nav.push_str(&format!(
            "<li class=\"c{}\"><a href=\"/section/{k}\">{} {}</a></li>",
            k % 120,
            mix.pick(&["سياسة", "اقتصاد", "رياضة", "ثقافة", "مجتمع", "منوعات"]),
            mix.pick(&PLACES)
        ));
    }
    nav.push_str("</ul></nav></header>");
    let mut aside = String::from("<aside class=\"c2\"><h3>الأكثر قراءة</h3><ol>");
    for k in 0..40 {
        aside.push_str(&format!(
            "<li><a href=\"/article/related/{k}\">{} في {}</a></li>",
            mix.pick(&[
                "تطورات ميدانية",
                "اجتماع طارئ",
                "قرار جديد",
                "أزمة الوقود",
                "انتخابات بلدية"
            ]),
            mix.pick(&PLACES)
        ));
    }
    aside.push_str("</ol></aside><footer class=\"c3\"><ul>");
    for k in 0..80 {
        aside.push_str(&format!(
            "<li><a href=\"/page/{k}\">{}</a></li>",
            mix.pick(&[
                "من نحن",
                "اتصل بنا",
                "سياسة الخصوصية",
                "أعلن معنا",
                "الأرشيف",
                "النشرة البريدية"
            ])
        ));
    }
    aside.push_str("</ul><p>جميع الحقوق محفوظة</p></footer>");
    (head + &nav, aside)
}

/// Article `j` of feed `i`. One page in four republishes the page before it with one sentence
/// reworded, and one in eight carries the same wire story as the next feed's page: the
/// near-duplicates a news monitor sees.
fn article_page(i: usize, j: usize, host: &str, chrome: &(String, String)) -> String {
    // Room for a million stories per feed before two feeds' numbers meet.
    let base = if j % 8 == 5 {
        (i + 1) as u64 * 1_000_000 + j as u64
    } else {
        i as u64 * 1_000_000 + j as u64
    };
    let base = if j % 4 == 3 { base - 1 } else { base };
    let mut sentences = story(base);
    if j % 4 == 3 {
        let k = (i + j) % sentences.len();
        sentences[k] = format!("وفي تحديث لاحق، {}", sentences[k]);
    }
    let title = format!(
        "{} {}",
        sentences[0]
            .split(' ')
            .take(8)
            .collect::<Vec<_>>()
            .join(" "),
        j
    );
    let (head, tail) = chrome;
    let mut page = String::with_capacity(head.len() + tail.len() + 12_000);
    page.push_str(&format!(
        "<!DOCTYPE html><html lang=\"ar\" dir=\"rtl\"><head><meta charset=\"utf-8\"><title>{title} | موقع {i}</title>\
<meta property=\"og:title\" content=\"{title}\"><meta property=\"og:site_name\" content=\"موقع {i}\">\
<meta property=\"article:published_time\" content=\"2019-03-01T{:02}:{:02}:00+00:00\">\
<link rel=\"canonical\" href=\"http://{host}/article/{i}/{j}\"></head><body>",
        j % 24,
        (i + j) % 60
    ));
    page.push_str(head);
    page.push_str(&format!(
        "<main><article><h1>{title}</h1><p class=\"byline\">الكاتب: مراسل {i}</p>"
    ));
    for paragraph in sentences.chunks(3) {
        page.push_str("<p>");
        page.push_str(&paragraph.join(" "));
        page.push_str("</p>");
    }
    page.push_str("</article></main>");
    page.push_str(tail);
    page.push_str("</body></html>");
    page
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let feeds = arg(&args, "--feeds", 10_000);
    let items = arg(&args, "--items", 20);
    let addresses = arg(&args, "--addresses", 8).clamp(1, 1000);
    let threads = arg(&args, "--threads", 4).max(1);
    let rolling = args.iter().any(|a| a == "--rolling");
    // Answers given per feed: the next window of a rolling feed.
    let answers: Arc<Vec<AtomicU64>> = Arc::new((0..feeds).map(|_| AtomicU64::new(0)).collect());
    let first = match tiny_http::Server::http("127.0.0.1:0") {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot listen: {e}");
            std::process::exit(1);
        }
    };
    let port = first.server_addr().to_ip().map(|a| a.port()).unwrap_or(0);
    let mut servers = vec![Arc::new(first)];
    // Address k (from 0) is 127.0.(k / 250).(1 + k % 250): 127.0.0.1 first.
    for k in 1..addresses {
        let address = format!("127.0.{}.{}:{port}", k / 250, 1 + k % 250);
        match tiny_http::Server::http(&address) {
            Ok(s) => servers.push(Arc::new(s)),
            Err(e) => {
                eprintln!("cannot listen on {address}: {e}");
                std::process::exit(1);
            }
        }
    }
    let served = Arc::new(AtomicU64::new(0));
    let chrome = Arc::new(chrome());
    for server in &servers {
        for _ in 0..threads {
            let server = Arc::clone(server);
            let served = Arc::clone(&served);
            let chrome = Arc::clone(&chrome);
            let answers = Arc::clone(&answers);
            std::thread::spawn(move || {
                while let Ok(request) = server.recv() {
                    served.fetch_add(1, Ordering::Relaxed);
                    let host = request
                        .headers()
                        .iter()
                        .find(|h| h.field.equiv("Host"))
                        .map(|h| h.value.to_string())
                        .unwrap_or_default();
                    let html =
                        tiny_http::Header::from_bytes("Content-Type", "text/html; charset=utf-8");
                    if request.url() == "/robots.txt" {
                        let _ = request.respond(tiny_http::Response::from_string(
                            "User-agent: *\nAllow: /\n",
                        ));
                        continue;
                    }
                    let page = request
                        .url()
                        .strip_prefix("/article/")
                        .and_then(|r| r.split_once('/'))
                        .and_then(|(i, j)| {
                            Some((i.parse::<usize>().ok()?, j.parse::<usize>().ok()?))
                        })
                        .filter(|(i, j)| *i < feeds && (rolling || *j < items));
                    if let Some((i, j)) = page {
                        let response = tiny_http::Response::from_data(
                            article_page(i, j, &host, &chrome).into_bytes(),
                        );
                        let _ = request.respond(match html {
                            Ok(h) => response.with_header(h),
                            Err(_) => response,
                        });
                        continue;
                    }
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
                    if rolling {
                        // Always the next window: a busy feed has news at every poll.
                        let n = answers
                            .get(i)
                            .map_or(0, |n| n.fetch_add(1, Ordering::Relaxed) as usize);
                        let body = feed(i, n.saturating_mul(items), items, &host, None);
                        let etag = format!("\"feed-{i}-v{}\"", n + 1);
                        let response = tiny_http::Response::from_data(body.into_bytes());
                        let _ = request.respond(
                            match tiny_http::Header::from_bytes("ETag", etag.as_bytes()) {
                                Ok(h) => response.with_header(h),
                                Err(_) => response,
                            },
                        );
                        continue;
                    }
                    let etag = format!("\"feed-{i}-v1\"");
                    let fresh = request
                        .headers()
                        .iter()
                        .any(|h| h.field.equiv("If-None-Match") && h.value.as_str() == etag);
                    let etag_header = tiny_http::Header::from_bytes("ETag", etag.as_bytes());
                    let response = if fresh {
                        tiny_http::Response::from_data(Vec::new()).with_status_code(304)
                    } else {
                        tiny_http::Response::from_data(
                            feed(i, 0, items, &host, Some(15)).into_bytes(),
                        )
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
