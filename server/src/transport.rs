//! The stdio transport, hardened: frames are read here first, and only well-formed JSON-RPC
//! messages reach tower-lsp-server (its reader stops for good at the first malformed body).
//! Malformed input gets a JSON-RPC error response and the server keeps running.

use crate::backend::Backend;
use serde_json::{json, Value};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tower_lsp_server::jsonrpc::{Request, Response};

/// Largest message body accepted; bigger ones are skipped.
const MAX_BODY: usize = 64 << 20;
/// Longest header line kept.
const MAX_HEADER_LINE: u64 = 8 << 10;

/// One frame read from the client.
pub enum Frame {
    /// A body.
    Body(Vec<u8>),
    /// A frame that cannot be used (no Content-Length, too big).
    Bad(&'static str),
}

/// Reads one frame; `None` at end of input.
pub async fn read_frame<R: AsyncBufRead + Unpin>(r: &mut R) -> std::io::Result<Option<Frame>> {
    let mut len: Option<Result<usize, ()>> = None;
    let mut saw_header = false;
    loop {
        let mut line = Vec::new();
        let n = (&mut *r)
            .take(MAX_HEADER_LINE)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim();
        if text.is_empty() {
            if saw_header {
                break;
            }
            continue;
        }
        saw_header = true;
        if let Some((k, v)) = text.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                len = Some(v.trim().parse().map_err(|_| ()));
            }
        }
    }
    let len = match len {
        Some(Ok(l)) => l,
        _ => return Ok(Some(Frame::Bad("missing or invalid Content-Length"))),
    };
    if len > MAX_BODY {
        tokio::io::copy(&mut (&mut *r).take(len as u64), &mut tokio::io::sink()).await?;
        return Ok(Some(Frame::Bad("message too large")));
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).await?;
    Ok(Some(Frame::Body(body)))
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

/// A message as tower-lsp-server's codec decodes it (its own `Message` is private).
#[derive(serde::Deserialize)]
#[serde(untagged)]
#[allow(dead_code)]
enum Message {
    Response(Response),
    Request(Request),
}

/// The error response for a body tower-lsp-server cannot take, or `None` if it can.
pub fn reject(body: &[u8]) -> Option<Value> {
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => {
            return Some(json!({"jsonrpc": "2.0", "id": null,
                "error": {"code": -32700, "message": "Parse error"}}))
        }
    };
    // Decoded from the text as the codec does, not from `v`: a `Value` keeps the last of
    // duplicate keys, where the codec refuses the message (and then reads no more).
    if std::str::from_utf8(body).is_ok_and(|t| serde_json::from_str::<Message>(t).is_ok()) {
        return None;
    }
    let id = v
        .get("id")
        .filter(|i| i.is_number() || i.is_string())
        .cloned()
        .unwrap_or(Value::Null);
    Some(json!({"jsonrpc": "2.0", "id": id,
        "error": {"code": -32600, "message": "Invalid Request"}}))
}

/// Serves LSP on `input`/`output` until the client exits or closes the input.
pub async fn serve<I, O>(input: I, mut output: O)
where
    I: tokio::io::AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin + Send + 'static,
{
    let (server_side, proxy_side) = tokio::io::duplex(1 << 16);
    let (server_read, server_write) = tokio::io::split(server_side);
    let (proxy_read, mut proxy_write) = tokio::io::split(proxy_side);
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();

    let writer = tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if output.write_all(&bytes).await.is_err() || output.flush().await.is_err() {
                break;
            }
        }
    });
    let from_server = {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut r = tokio::io::BufReader::new(proxy_read);
            while let Ok(Some(f)) = read_frame(&mut r).await {
                if let Frame::Body(b) = f {
                    if tx.send(frame(&b)).is_err() {
                        break;
                    }
                }
            }
        })
    };
    let reader = tokio::spawn(async move {
        let mut r = tokio::io::BufReader::new(input);
        while let Ok(Some(f)) = read_frame(&mut r).await {
            let error = match &f {
                Frame::Body(b) => reject(b),
                Frame::Bad(why) => Some(json!({"jsonrpc": "2.0", "id": null,
                    "error": {"code": -32700, "message": format!("Parse error: {why}")}})),
            };
            match (f, error) {
                (_, Some(e)) => {
                    let _ = tx.send(frame(e.to_string().as_bytes()));
                }
                (Frame::Body(b), None) => {
                    if proxy_write.write_all(&frame(&b)).await.is_err() {
                        break;
                    }
                }
                (Frame::Bad(_), None) => {}
            }
        }
        let _ = proxy_write.shutdown().await;
    });

    let (service, socket) = Backend::service();
    tower_lsp_server::Server::new(server_read, server_write, socket)
        .serve(service)
        .await;
    // The server is done (exit, or input closed): send what it wrote, then stop.
    let _ = from_server.await;
    reader.abort();
    let _ = writer.await;
}

/// Serves LSP on the process's stdin/stdout, then exits the process.
pub fn serve_stdio() -> ! {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("natmod-lsp: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    rt.block_on(serve(tokio::io::stdin(), tokio::io::stdout()));
    // stdin's reader thread cannot be interrupted; do not wait for it.
    std::process::exit(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_what_the_server_cannot_decode() {
        assert_eq!(reject(b"{ nope").unwrap()["error"]["code"], -32700);
        assert_eq!(reject(b"[1,2]").unwrap()["error"]["code"], -32600);
        assert_eq!(reject(br#"{"id": 4, "x": 1}"#).unwrap()["id"], 4);
        assert!(reject(br#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#).is_none());
        assert!(reject(br#"{"jsonrpc":"2.0","method":"exit"}"#).is_none());
        assert!(reject(br#"{"jsonrpc":"2.0","id":1,"result":null}"#).is_none());
        // Found by the `lsp` fuzz target: tower-lsp-server refuses duplicate keys.
        let dup = reject(br#"{"jsonrpc":"2.0","id":3,"method":"x","method":"shutdown"}"#);
        assert_eq!(dup.unwrap()["id"], 3);
        assert!(reject(br#"{"jsonrpc":"2.0","params":1,"params":{}}"#).is_some());
    }

    /// Serves `input` (then end of input) and returns the messages written.
    async fn session(input: &[u8]) -> Vec<Value> {
        let (mut client, server_in) = tokio::io::duplex(1 << 16);
        let (server_out, out) = tokio::io::duplex(1 << 16);
        client.write_all(input).await.unwrap();
        drop(client);
        let reader = tokio::spawn(async move {
            let mut r = tokio::io::BufReader::new(out);
            let mut msgs = Vec::new();
            while let Ok(Some(Frame::Body(b))) = read_frame(&mut r).await {
                msgs.push(serde_json::from_slice(&b).unwrap());
            }
            msgs
        });
        serve(server_in, server_out).await;
        reader.await.unwrap()
    }

    #[tokio::test]
    async fn a_duplicate_key_does_not_stop_the_server() {
        let mut input = Vec::new();
        for body in [
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{},"params":{}}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"shutdown"}"#,
        ] {
            input.extend(frame(body.as_bytes()));
        }
        let msgs = session(&input).await;
        let answer = |id: i64| msgs.iter().find(|m| m["id"] == id);
        assert_eq!(answer(1).unwrap()["error"]["code"], -32600, "{msgs:?}");
        assert!(answer(2).is_some(), "still reading after it: {msgs:?}");
    }

    #[tokio::test]
    async fn reads_frames_and_skips_garbage() {
        let input = b"junk\r\n\r\nContent-Length: 2\r\n\r\n{}Content-Length: x\r\n\r\n";
        let mut r = tokio::io::BufReader::new(&input[..]);
        assert!(matches!(
            read_frame(&mut r).await.unwrap(),
            Some(Frame::Bad(_))
        ));
        assert!(matches!(read_frame(&mut r).await.unwrap(), Some(Frame::Body(b)) if b == b"{}"));
        assert!(matches!(
            read_frame(&mut r).await.unwrap(),
            Some(Frame::Bad(_))
        ));
        assert!(read_frame(&mut r).await.unwrap().is_none());
    }
}
