//! A small scripted LSP client over stdio (Content-Length framing) for end-to-end tests of
//! `natmod-lsp`: it answers the server's requests, keeps the newest diagnostics per file like
//! an editor does, and waits on notifications with timeouts.

use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long to wait for any one expected message.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// A running server and the messages it sent.
pub struct LspClient {
    child: Child,
    stdin: Arc<Mutex<ChildStdin>>,
    rx: Receiver<Value>,
    inbox: VecDeque<Value>,
    next_id: i64,
    /// The newest `publishDiagnostics` per URI.
    pub diagnostics: HashMap<String, Vec<Value>>,
    /// Every `window/showMessage` text, in order.
    pub messages: Vec<String>,
    /// Every message received, for failure reports.
    pub log: Vec<Value>,
    /// The version of each open document, by URI.
    versions: HashMap<String, i32>,
}

fn write_frame(w: &mut impl Write, body: &[u8]) -> std::io::Result<()> {
    write!(w, "Content-Length: {}\r\n\r\n", body.len())?;
    w.write_all(body)?;
    w.flush()
}

/// Reads one framed message; `None` at end of stream or on a framing error.
fn read_frame(r: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut len = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().ok();
            }
        }
    }
    let mut body = vec![0; len?];
    r.read_exact(&mut body).ok()?;
    Some(body)
}

/// The `file://` URI of an absolute path: its bytes percent-encoded as they are, so a path
/// that is not UTF-8 keeps its exact name.
pub fn file_uri(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut s = String::from("file://");
    for &b in path.as_os_str().as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                s.push(b as char)
            }
            _ => s.push_str(&format!("%{b:02X}")),
        }
    }
    s
}

impl LspClient {
    /// Starts `bin`, sends `initialize` (workspace folder `root`, `init_options`) and
    /// `initialized`.
    pub fn start(bin: &Path, root: &Path, init_options: Value) -> LspClient {
        LspClient::launch(bin, root, init_options, true)
    }

    /// Like [`LspClient::start`], but the client never answers the server's requests
    /// (`window/workDoneProgress/create`...), as a broken or minimal editor would not.
    pub fn start_unanswering(bin: &Path, root: &Path, init_options: Value) -> LspClient {
        LspClient::launch(bin, root, init_options, false)
    }

    /// Starts the server; `answer` says whether to answer its requests.
    fn launch(bin: &Path, root: &Path, init_options: Value, answer_requests: bool) -> LspClient {
        let mut child = Command::new(bin)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .env_remove("MAKEFLAGS")
            .env_remove("MFLAGS")
            .env_remove("MAKELEVEL")
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let stdin = Arc::new(Mutex::new(child.stdin.take().expect("stdin")));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = channel();
        let answer = stdin.clone();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            while let Some(body) = read_frame(&mut r) {
                let Ok(msg) = serde_json::from_slice::<Value>(&body) else {
                    continue;
                };
                // Answer the server's requests (progress tokens, configuration) at once.
                if answer_requests && msg.get("method").is_some() && msg.get("id").is_some() {
                    let result = match msg["method"].as_str() {
                        Some("workspace/configuration") => json!([]),
                        _ => Value::Null,
                    };
                    let reply = json!({"jsonrpc": "2.0", "id": msg["id"], "result": result});
                    if let Ok(mut w) = answer.lock() {
                        let _ = write_frame(&mut *w, reply.to_string().as_bytes());
                    }
                }
                if tx.send(msg).is_err() {
                    break;
                }
            }
        });
        let mut c = LspClient {
            child,
            stdin,
            rx,
            inbox: VecDeque::new(),
            next_id: 1,
            diagnostics: HashMap::new(),
            messages: Vec::new(),
            log: Vec::new(),
            versions: HashMap::new(),
        };
        let root_uri = file_uri(root);
        let init = c.request(
            "initialize",
            json!({
                "processId": std::process::id(),
                "rootUri": root_uri,
                "workspaceFolders": [{"uri": root_uri, "name": "ws"}],
                "capabilities": {
                    "window": {"workDoneProgress": true},
                    "textDocument": {"publishDiagnostics": {"relatedInformation": true}}
                },
                "initializationOptions": init_options,
            }),
        );
        assert!(
            init.get("result").is_some(),
            "initialize failed: {init}\n{}",
            c.transcript()
        );
        c.notify("initialized", json!({}));
        c
    }

    /// Sends raw bytes (for malformed-input tests).
    pub fn send_raw(&mut self, bytes: &[u8]) {
        let mut w = self.stdin.lock().expect("stdin lock");
        let _ = w.write_all(bytes);
        let _ = w.flush();
    }

    /// Sends one framed JSON body.
    pub fn send_body(&mut self, body: &[u8]) {
        let mut w = self.stdin.lock().expect("stdin lock");
        let _ = write_frame(&mut *w, body);
    }

    /// Sends a notification.
    pub fn notify(&mut self, method: &str, params: Value) {
        let msg = json!({"jsonrpc": "2.0", "method": method, "params": params});
        self.send_body(msg.to_string().as_bytes());
    }

    /// Sends a request without waiting for its response; returns its id (wait for the
    /// response with [`LspClient::wait_for`] on `m["id"]`).
    pub fn send_request(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send_body(msg.to_string().as_bytes());
        id
    }

    /// Sends a request and waits for its response (the whole response object).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send_body(msg.to_string().as_bytes());
        self.wait_for(&format!("response to {method} #{id}"), TIMEOUT, |m| {
            m.get("method").is_none() && m.get("id") == Some(&json!(id))
        })
    }

    fn take(&mut self, m: Value) {
        match m.get("method").and_then(Value::as_str) {
            Some("textDocument/publishDiagnostics") => {
                let uri = m["params"]["uri"].as_str().unwrap_or("").to_string();
                let diags = m["params"]["diagnostics"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                self.diagnostics.insert(uri, diags);
            }
            Some("window/showMessage") => {
                self.messages
                    .push(m["params"]["message"].as_str().unwrap_or("").to_string());
            }
            _ => {}
        }
        self.log.push(m.clone());
        self.inbox.push_back(m);
    }

    /// Waits up to `timeout` for a message matching `pred` (received earlier or later) and
    /// removes it from the inbox; panics with the transcript on timeout.
    pub fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        match self.try_wait_for(timeout, pred) {
            Some(m) => m,
            None => panic!(
                "timed out after {timeout:?} waiting for {what}; server alive: {}\n{}",
                self.is_alive(),
                self.transcript()
            ),
        }
    }

    /// Like [`LspClient::wait_for`] but returns `None` on timeout.
    pub fn try_wait_for(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = self.inbox.iter().position(&pred) {
                return self.inbox.remove(i);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(m) => self.take(m),
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    return None
                }
            }
        }
    }

    /// Drops the messages received so far (diagnostics and messages stay recorded).
    pub fn clear_inbox(&mut self) {
        while let Ok(m) = self.rx.try_recv() {
            self.take(m);
        }
        self.inbox.clear();
    }

    /// Opens a file with its current content.
    pub fn open(&mut self, path: &Path, language: &str) {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let uri = file_uri(path);
        self.versions.insert(uri.clone(), 1);
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": language,
                                     "version": 1, "text": text}}),
        );
    }

    /// Edits `path` as an editor does before a save: when it is open, sends the new text
    /// (`didChange`, the whole document); then writes it to disk.
    pub fn write(&mut self, path: &Path, text: &str) {
        let uri = file_uri(path);
        if let Some(v) = self.versions.get_mut(&uri) {
            *v += 1;
            let version = *v;
            self.notify(
                "textDocument/didChange",
                json!({"textDocument": {"uri": uri, "version": version},
                       "contentChanges": [{"text": text}]}),
            );
        }
        std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// How many `window/showMessage` texts so far contain `needle`.
    pub fn messages_containing(&self, needle: &str) -> usize {
        self.messages.iter().filter(|m| m.contains(needle)).count()
    }

    /// Says `path` was saved (write the file first).
    pub fn save(&mut self, path: &Path) {
        self.notify(
            "textDocument/didSave",
            json!({"textDocument": {"uri": file_uri(path)}}),
        );
    }

    /// Waits until the build the server last accepted for the project in `dir` has
    /// published (asks `natmod/buildStatus` for its generation, then waits for
    /// `natmod/buildFinished` with it). Returns that notification's params.
    pub fn wait_build(&mut self, dir: &Path) -> Value {
        let status = self.request("natmod/buildStatus", Value::Null);
        let makefile = dir.join("Makefile");
        let g = status["result"]["projects"]
            .as_array()
            .and_then(|ps| {
                ps.iter()
                    .find(|p| p["makefile"].as_str() == Some(&*makefile.to_string_lossy()))
            })
            .and_then(|p| p["generation"].as_u64())
            .unwrap_or_else(|| panic!("no project {} in {status}", makefile.display()));
        assert!(
            g > 0,
            "no build was requested for {}: {status}",
            dir.display()
        );
        let project = file_uri(dir);
        self.wait_for(
            &format!("natmod/buildFinished generation {g} of {}", dir.display()),
            TIMEOUT,
            |m| {
                m["method"] == "natmod/buildFinished"
                    && m["params"]["project"].as_str() == Some(&project)
                    && m["params"]["generation"].as_u64() == Some(g)
            },
        )["params"]
            .clone()
    }

    /// Says `path` was saved and waits for the build of the project in `dir` (see
    /// [`LspClient::wait_build`]); returns the `natmod/buildFinished` params.
    pub fn save_and_build(&mut self, path: &Path, dir: &Path) -> Value {
        self.save(path);
        self.wait_build(dir)
    }

    /// The code action for diagnostic `diag` of `path` whose title contains `title`.
    pub fn code_action(&mut self, path: &Path, diag: &Value, title: &str) -> Value {
        let actions = self.request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": file_uri(path)}, "range": diag["range"],
                   "context": {"diagnostics": [diag]}}),
        );
        actions["result"]
            .as_array()
            .and_then(|a| {
                a.iter()
                    .find(|a| a["title"].as_str().unwrap_or("").contains(title))
            })
            .unwrap_or_else(|| panic!("no code action `{title}` for {diag} in {actions}"))
            .clone()
    }

    /// The newest diagnostics for `path`.
    pub fn diagnostics_for(&self, path: &Path) -> Vec<Value> {
        self.diagnostics
            .get(&file_uri(path))
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until the newest diagnostics for `path` satisfy `pred` (at once when they do
    /// already), taking each later `publishDiagnostics` of it in turn: the build's and the
    /// typing-time checks' diagnostics arrive separately. Panics on timeout, with the newest
    /// diagnostics and the transcript.
    pub fn wait_diagnostics(
        &mut self,
        path: &Path,
        what: &str,
        pred: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let uri = file_uri(path);
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let now = self.diagnostics_for(path);
            if pred(&now) {
                return now;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let next = self.try_wait_for(left, |m| {
                m["method"] == "textDocument/publishDiagnostics"
                    && m["params"]["uri"].as_str() == Some(&uri)
            });
            if next.is_none() {
                panic!(
                    "timed out after {TIMEOUT:?} waiting for {what} in {}: newest {now:#?}\n{}",
                    path.display(),
                    self.transcript()
                );
            }
        }
    }

    /// Waits until `path` has no diagnostics left (see [`LspClient::wait_diagnostics`]).
    pub fn wait_clean(&mut self, path: &Path) {
        self.wait_diagnostics(path, "no diagnostics", <[Value]>::is_empty);
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the server process is still running.
    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the server with SIGKILL (its children live on) and reaps it; returns its status.
    pub fn kill(&mut self) -> std::process::ExitStatus {
        let _ = self.child.kill();
        self.child.wait().expect("wait for the killed server")
    }

    /// `shutdown` then `exit`; returns the exit status code (None if it had to be killed).
    pub fn shutdown(mut self) -> Option<i32> {
        let r = self.request("shutdown", Value::Null);
        assert!(r.get("error").is_none(), "shutdown failed: {r}");
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// The last messages received, one per line, for failure reports.
    pub fn transcript(&self) -> String {
        let start = self.log.len().saturating_sub(40);
        let mut s = format!(
            "--- last {} of {} messages ---\n",
            self.log.len() - start,
            self.log.len()
        );
        for m in &self.log[start..] {
            let t = m.to_string();
            s.push_str(&t.chars().take(600).collect::<String>());
            s.push('\n');
        }
        s
    }
}

impl Drop for LspClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
