//! Bytes → the client's whole input stream to the language server: `transport::serve` (the
//! real framing, the reject path, the proxy and tower-lsp-server's dispatch to the backend)
//! over an in-memory duplex, until the input ends or the client exits. The client waits for
//! the server to go idle after each frame, except where a blank line follows the frame
//! (then the next frame goes straight after, as a pipelining client sends it).
//!
//! Checks beyond "no panic": `serve` returns after the end of the input (within a bound on a
//! paused clock, so a deadlock is caught at once); the output is a sequence of well-formed
//! `Content-Length` frames of JSON-RPC 2.0 objects; every response answers an id the client
//! sent (or is `null`), no id is answered more often than it was sent, and every request
//! tower-lsp-server can decode (before an `exit`) is answered; `natmod/buildStatus` never says
//! the workspace is trusted.
//!
//! The server must stay untrusted (a trusted one runs make, gcc and micropython): inputs that
//! set a `"trusted": true` anywhere in a body are skipped, and `PATH` points nowhere.

#![no_main]

use libfuzzer_sys::fuzz_target;
use natmod_lsp::transport::{self, Frame};
use serde_json::Value;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::runtime::Runtime;
use tower_lsp_server::jsonrpc::{Request, Response};

/// How long (on the paused clock) `serve` may take after the input ends.
const SERVE_BOUND: Duration = Duration::from_secs(600);

/// One current-thread runtime for every input, on a paused clock: timers (the server's
/// debounces) fire as soon as the runtime is idle, and the `SERVE_BOUND` timeout fires only
/// when nothing can make progress any more.
fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        // Defence in depth: nothing the server might spawn can be found.
        std::env::set_var("PATH", "/nonexistent-natmod-fuzz");
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("runtime")
    })
}

/// Whether to print the server's output (`NATMOD_FUZZ_DEBUG=1`, when reproducing).
fn debug() -> bool {
    static DEBUG: OnceLock<bool> = OnceLock::new();
    *DEBUG.get_or_init(|| std::env::var_os("NATMOD_FUZZ_DEBUG").is_some())
}

/// The server's output, collected.
struct Out(Arc<Mutex<Vec<u8>>>);

impl tokio::io::AsyncWrite for Out {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        b: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.0.lock().unwrap().extend_from_slice(b);
        Poll::Ready(Ok(b.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Whether `v` has a `"trusted": true` member at any depth.
fn trusts(v: &Value) -> bool {
    match v {
        Value::Object(m) => m
            .iter()
            .any(|(k, v)| (k == "trusted" && v == &Value::Bool(true)) || trusts(v)),
        Value::Array(a) => a.iter().any(trusts),
        _ => false,
    }
}

/// The frames the server reads from `data`, by the server's own reader, each with the
/// offset just past it.
async fn frames_of(data: &[u8]) -> Vec<(Frame, usize)> {
    let mut cursor = std::io::Cursor::new(data);
    let mut r = tokio::io::BufReader::new(&mut cursor);
    let mut frames = Vec::new();
    while let Ok(Some(f)) = transport::read_frame(&mut r).await {
        let end = r.get_ref().position() as usize - r.buffer().len();
        frames.push((f, end));
    }
    frames
}

/// The client: writes `data` into the server's input a frame at a time and, unless a blank
/// line follows the frame (which the server skips), waits for the server to go idle before
/// the next one (on the paused clock, a sleep ends only when nothing else can run), like a
/// client that waits for each answer. Then closes the input.
async fn client(data: Vec<u8>, ends: Vec<usize>, mut to_server: tokio::io::DuplexStream) {
    use tokio::io::AsyncWriteExt;
    let mut start = 0;
    for end in ends {
        if to_server.write_all(&data[start..end]).await.is_err() {
            return;
        }
        start = end;
        if !matches!(data.get(end), Some(b'\r' | b'\n')) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let _ = to_server.write_all(&data[start..]).await;
    let _ = to_server.shutdown().await;
}

/// An id in the server's output as a map key.
fn key(v: &Value) -> String {
    v.to_string()
}

/// An id the client sent as a map key: as it reads back from the text the server echoes it in
/// (serde_json's default float parsing is not always correctly rounded, so a fractional id
/// can read back as a neighbouring float).
fn sent_key(v: &Value) -> String {
    let text = v.to_string();
    serde_json::from_str::<Value>(&text).map_or(text, |v| key(&v))
}

/// What the client's frames call for: how often each id was sent (in any JSON object body),
/// how many responses each id must get (requests that reach tower-lsp-server before an
/// `exit`, whose method does not start with `$/`), and the ids of `natmod/buildStatus`.
struct Expected {
    sent: HashMap<String, usize>,
    answered: HashMap<String, usize>,
    build_status: Vec<String>,
}

fn expected(frames: &[Frame]) -> Expected {
    let mut e = Expected {
        sent: HashMap::new(),
        answered: HashMap::new(),
        build_status: Vec::new(),
    };
    let mut exited = false;
    for f in frames {
        let Frame::Body(b) = f else { continue };
        if let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(b) {
            if let Some(id) = m.get("id") {
                *e.sent.entry(sent_key(id)).or_default() += 1;
            }
        }
        if exited || transport::reject(b).is_some() {
            continue;
        }
        // As tower-lsp-server's codec decodes it: UTF-8, then a response, else a request.
        let Ok(text) = std::str::from_utf8(b) else {
            continue;
        };
        if serde_json::from_str::<Response>(text).is_ok() {
            continue;
        }
        let Ok(req) = serde_json::from_str::<Request>(text) else {
            continue;
        };
        if req.method() == "exit" {
            exited = true;
            continue;
        }
        if let Some(id) = req.id() {
            let id = sent_key(&serde_json::to_value(id).unwrap());
            if req.method() == "natmod/buildStatus" {
                e.build_status.push(id.clone());
            }
            if !req.method().starts_with("$/") {
                *e.answered.entry(id).or_default() += 1;
            }
        }
    }
    e
}

/// Splits the server's output into frames, strictly: `Content-Length: N\r\n\r\n` and N bytes.
fn output_frames(mut out: &[u8]) -> Vec<Value> {
    let mut msgs = Vec::new();
    while !out.is_empty() {
        let end = out
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| {
                panic!(
                    "output frame without a header end: {:?}",
                    String::from_utf8_lossy(out)
                )
            });
        let header = std::str::from_utf8(&out[..end]).expect("UTF-8 header");
        let len: usize = header
            .strip_prefix("Content-Length: ")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("bad output header {header:?}"));
        out = &out[end + 4..];
        assert!(
            len <= out.len(),
            "output frame of {len} bytes, {} left",
            out.len()
        );
        let body = &out[..len];
        out = &out[len..];
        let v: Value = serde_json::from_slice(body).unwrap_or_else(|e| {
            panic!(
                "output body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(body)
            )
        });
        msgs.push(v);
    }
    msgs
}

fn check(frames: &[Frame], out: &[u8]) {
    let e = expected(frames);
    let mut responses: HashMap<String, usize> = HashMap::new();
    for m in output_frames(out) {
        let obj = m
            .as_object()
            .unwrap_or_else(|| panic!("output is not an object: {m}"));
        assert_eq!(obj.get("jsonrpc"), Some(&Value::from("2.0")), "{m}");
        if obj.contains_key("method") {
            continue; // a notification or request to the client
        }
        let id = obj
            .get("id")
            .unwrap_or_else(|| panic!("response without an id: {m}"));
        assert!(
            obj.contains_key("result") != obj.contains_key("error"),
            "a response has a result or an error: {m}"
        );
        let k = key(id);
        if e.build_status.contains(&k) && obj.contains_key("result") {
            assert_ne!(m["result"]["trusted"], Value::Bool(true), "trusted: {m}");
        }
        let n = responses.entry(k.clone()).or_default();
        *n += 1;
        // `null` also answers what could not be read (bad frames, unparsable JSON).
        if !id.is_null() {
            let sent = e.sent.get(&k).copied().unwrap_or(0);
            assert!(
                *n <= sent,
                "id {k} answered {n} times, sent {sent} times: {m}"
            );
        }
    }
    for (id, n) in &e.answered {
        let got = responses.get(id).copied().unwrap_or(0);
        assert!(got >= *n, "request id {id}: {n} requests, {got} responses");
    }
}

fuzz_target!(|data: &[u8]| {
    runtime().block_on(async {
        let frames = frames_of(data).await;
        let trusted = frames.iter().any(|(f, _)| match f {
            Frame::Body(b) => serde_json::from_slice::<Value>(b).is_ok_and(|v| trusts(&v)),
            Frame::Bad(_) => false,
        });
        if trusted {
            return;
        }
        let (to_server, input) = tokio::io::duplex(1 << 16);
        let ends = frames.iter().map(|(_, end)| *end).collect();
        let client = tokio::spawn(client(data.to_vec(), ends, to_server));
        let out = Arc::new(Mutex::new(Vec::new()));
        tokio::time::timeout(SERVE_BOUND, transport::serve(input, Out(out.clone())))
            .await
            .expect("serve did not return after the end of its input");
        // After an `exit` the client may still be writing.
        client.abort();
        let out = std::mem::take(&mut *out.lock().unwrap());
        if debug() {
            eprintln!("{}", String::from_utf8_lossy(&out));
        }
        let frames: Vec<Frame> = frames.into_iter().map(|(f, _)| f).collect();
        check(&frames, &out);
        // Let what the session left behind (debounced live checks) finish before the next
        // input; on the paused clock this takes no time.
        tokio::time::sleep(SERVE_BOUND).await;
    });
});
