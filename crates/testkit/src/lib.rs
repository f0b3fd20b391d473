//! Test helpers shared by Khabar's crates: an HTTP server on 127.0.0.1 whose answers a test
//! scripts. Only for tests (every HTTP test starts its own loopback server).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What a handler answers.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub delay: Duration,
}

impl Reply {
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status: 200,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

/// The parts of a request a handler looks at.
pub struct Seen {
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

type Handler = dyn Fn(&Seen, &[u8]) -> Reply + Send + Sync;

/// An HTTP server on 127.0.0.1 with a random port; each request is answered on its own
/// thread, so slow answers do not block others. Stops when dropped.
pub struct TestServer {
    server: Arc<tiny_http::Server>,
    pub base: String,
    pub hits: Arc<AtomicUsize>,
}

impl TestServer {
    pub fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> TestServer {
        TestServer::start_with_body(move |seen, _| handler(seen))
    }

    /// Like [`TestServer::start`], the handler also getting the request body.
    pub fn start_with_body(
        handler: impl Fn(&Seen, &[u8]) -> Reply + Send + Sync + 'static,
    ) -> TestServer {
        let server =
            Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind a loopback port"));
        let port = server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .expect("an IP listener");
        let handler: Arc<Handler> = Arc::new(handler);
        let hits = Arc::new(AtomicUsize::new(0));
        let (srv, count) = (Arc::clone(&server), Arc::clone(&hits));
        std::thread::spawn(move || {
            for request in srv.incoming_requests() {
                count.fetch_add(1, Ordering::SeqCst);
                let handler = Arc::clone(&handler);
                std::thread::spawn(move || {
                    let mut request = request;
                    let mut body = Vec::new();
                    let _ = std::io::Read::read_to_end(request.as_reader(), &mut body);
                    let seen = Seen {
                        path: request.url().to_string(),
                        headers: request
                            .headers()
                            .iter()
                            .map(|h| (h.field.to_string(), h.value.to_string()))
                            .collect(),
                    };
                    let reply = handler(&seen, &body);
                    std::thread::sleep(reply.delay);
                    let mut response =
                        tiny_http::Response::from_data(reply.body).with_status_code(reply.status);
                    for (name, value) in reply.headers {
                        if let Ok(h) =
                            tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
                        {
                            response.add_header(h);
                        }
                    }
                    let _ = request.respond(response);
                });
            }
        });
        TestServer {
            server,
            base: format!("http://127.0.0.1:{port}"),
            hits,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

/// The file (named by this variable) where tests that skip themselves write their names, so
/// that `cargo xtask ci` counts them as skipped rather than passed (libtest cannot).
pub const SKIP_LOG_VAR: &str = "KHABAR_SKIP_LOG";

/// The URL of a service a test needs, from `var`. Without it the test is skipped (and noted
/// in the [`SKIP_LOG_VAR`] file), except under `CI=true`, where a missing service fails the
/// run loudly.
pub fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{var} is not set: this test needs the service under CI (.ci/run sets it)")
        }
        _ => {
            eprintln!("skipped: {var} is not set");
            note_skipped(var);
            None
        }
    }
}

/// A program a test drives (a browser, its driver): the path in `var`, else `name` found on
/// `PATH`. Missing, the test is skipped (and noted), except under `CI=true`, where it fails
/// loudly with `install` (what puts the program there).
pub fn program(var: &str, name: &str, install: &str) -> Option<std::path::PathBuf> {
    let given = std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from);
    let found = given.or_else(|| {
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .find(|candidate| candidate.is_file())
        })
    });
    match found {
        Some(program) => Some(program),
        None if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{name} is not installed (nor given in {var}): {install}")
        }
        None => {
            eprintln!("skipped: {name} is not installed ({install})");
            note_skipped(name);
            None
        }
    }
}

/// Appends "<test name>\t<reason>" to the skip log, when there is one.
fn note_skipped(reason: &str) {
    use std::io::Write as _;
    let Some(log) = std::env::var_os(SKIP_LOG_VAR) else {
        return;
    };
    // libtest names each test's thread after the test.
    let test = std::thread::current()
        .name()
        .unwrap_or("unnamed test")
        .to_string();
    let line = format!("{test}\t{reason}\n");
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .and_then(|mut file| file.write_all(line.as_bytes()));
    if let Err(e) = written {
        eprintln!(
            "cannot note the skipped test in {}: {e}",
            log.to_string_lossy()
        );
    }
}

/// A TCP server on 127.0.0.1 that hands each connection (after reading the request head) to
/// `serve`, for answers no well-behaved HTTP server gives: a body that never ends, one byte a
/// second, a connection reset mid-body. Each connection runs on its own thread; the server
/// stops accepting when dropped. `serve` must bound its own work (count and time).
pub struct RawServer {
    pub base: String,
    stop: Arc<std::sync::atomic::AtomicBool>,
    port: u16,
}

impl RawServer {
    pub fn start(serve: impl Fn(std::net::TcpStream) + Send + Sync + 'static) -> RawServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("an address").port();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let serve = Arc::new(serve);
        let stopping = Arc::clone(&stop);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(mut stream) = stream else { continue };
                let serve = Arc::clone(&serve);
                std::thread::spawn(move || {
                    // The request head, up to its blank line (requests here have no body).
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") && head.len() < 65536 {
                        match std::io::Read::read(&mut stream, &mut byte) {
                            Ok(1) => head.push(byte[0]),
                            _ => return,
                        }
                    }
                    serve(stream);
                });
            }
        });
        RawServer {
            base: format!("http://127.0.0.1:{port}"),
            stop,
            port,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
    }
}

#[cfg(test)]
mod skip_log_tests {
    #[test]
    fn a_skipped_test_notes_its_name_and_reason() {
        let dir = std::env::temp_dir().join(format!("khabar-skip-log-{}", std::process::id()));
        let log = dir.with_extension("log");
        let _ = std::fs::remove_file(&log);
        // The only test here that touches this variable.
        std::env::set_var(super::SKIP_LOG_VAR, &log);
        super::note_skipped("KHABAR_TEST_NATS_URL");
        std::env::remove_var(super::SKIP_LOG_VAR);
        let noted = std::fs::read_to_string(&log).unwrap_or_default();
        let _ = std::fs::remove_file(&log);
        assert_eq!(
            noted,
            "skip_log_tests::a_skipped_test_notes_its_name_and_reason\tKHABAR_TEST_NATS_URL\n"
        );
    }
}
