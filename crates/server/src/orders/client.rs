//! A deliberately small HTTP/1.1 GET client for the shop's order API.
//!
//! Why not hyper: one GET per lookup to one configured host, plain `http://` on the shop's own
//! network, `Connection: close`, a hard deadline around the whole exchange. That is ~150 lines
//! over the tokio and httparse the server already has, where hyper's client (hyper-util, tower,
//! http-body) would add a dozen crates for features not used here (pooling, HTTP/2, TLS needs
//! yet another stack). What it supports, and nothing more: `Content-Length` bodies, `chunked`
//! bodies, bodies delimited by the connection closing; status line and headers parsed by
//! httparse; header block ≤ 16 KiB, body ≤ 256 KiB. No redirects, no TLS, no keep-alive; the
//! caller applies the timeout.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest header block accepted.
const MAX_HEAD: usize = 16 * 1024;
/// Largest body accepted (an order is a few KiB).
pub(crate) const MAX_BODY: usize = 256 * 1024;

/// Why an exchange failed (the caller turns these into breaker failures).
#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    #[error("connecting or talking to the order API: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed HTTP response: {0}")]
    Malformed(String),
    #[error("response too large")]
    TooLarge,
}

/// A response: status code and the decoded body.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

/// `GET path` on `host:port`, with `host_header` as the Host header and an optional bearer
/// token. Reads the whole response.
pub(crate) async fn get(
    host: &str,
    port: u16,
    host_header: &str,
    path: &str,
    token: Option<&str>,
) -> Result<Response, HttpError> {
    let mut stream = TcpStream::connect((host, port)).await?;
    stream.set_nodelay(true)?;
    let mut req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host_header}\r\nAccept: application/json\r\nUser-Agent: huashu\r\nConnection: close\r\n"
    );
    if let Some(t) = token {
        req.push_str("Authorization: Bearer ");
        req.push_str(t);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await?;

    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let (status, head_len, framing) = loop {
        if read_more(&mut stream, &mut buf).await? == 0 {
            return Err(HttpError::Malformed(
                "connection closed before the headers".into(),
            ));
        }
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut resp = httparse::Response::new(&mut headers);
        match resp.parse(&buf) {
            Ok(httparse::Status::Complete(n)) => {
                let status = resp.code.unwrap_or(0);
                break (status, n, framing(resp.headers)?);
            }
            Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
                return Err(HttpError::TooLarge);
            }
            Ok(httparse::Status::Partial) => continue,
            Err(e) => return Err(HttpError::Malformed(e.to_string())),
        }
    };
    let mut body = buf.split_off(head_len);
    match framing {
        Framing::Length(n) => {
            if n > MAX_BODY {
                return Err(HttpError::TooLarge);
            }
            while body.len() < n {
                if read_more(&mut stream, &mut body).await? == 0 {
                    return Err(HttpError::Malformed(
                        "body shorter than Content-Length".into(),
                    ));
                }
            }
            body.truncate(n);
            Ok(Response { status, body })
        }
        Framing::Chunked => loop {
            if let Some(decoded) = dechunk(&body)? {
                return Ok(Response {
                    status,
                    body: decoded,
                });
            }
            if body.len() > MAX_BODY + MAX_HEAD {
                return Err(HttpError::TooLarge);
            }
            if read_more(&mut stream, &mut body).await? == 0 {
                return Err(HttpError::Malformed("chunked body cut short".into()));
            }
        },
        Framing::UntilClose => {
            while read_more(&mut stream, &mut body).await? > 0 {
                if body.len() > MAX_BODY {
                    return Err(HttpError::TooLarge);
                }
            }
            Ok(Response { status, body })
        }
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut chunk = [0u8; 8192];
    let n = stream.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

fn framing(headers: &[httparse::Header<'_>]) -> Result<Framing, HttpError> {
    let mut length = None;
    for h in headers {
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            let v = String::from_utf8_lossy(h.value).to_ascii_lowercase();
            if v.split(',').any(|p| p.trim() == "chunked") {
                return Ok(Framing::Chunked);
            }
        } else if h.name.eq_ignore_ascii_case("content-length") {
            let v = std::str::from_utf8(h.value)
                .ok()
                .and_then(|s| s.trim().parse::<usize>().ok())
                .ok_or_else(|| HttpError::Malformed("bad Content-Length".into()))?;
            length = Some(v);
        }
    }
    Ok(length.map_or(Framing::UntilClose, Framing::Length))
}

/// Decodes a complete chunked body; `None` while more bytes are needed. Chunk extensions and
/// trailers are ignored.
pub(crate) fn dechunk(data: &[u8]) -> Result<Option<Vec<u8>>, HttpError> {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        let Some(eol) = find_crlf(&data[pos..]) else {
            return Ok(None);
        };
        let line = std::str::from_utf8(&data[pos..pos + eol])
            .map_err(|_| HttpError::Malformed("chunk size is not text".into()))?;
        let hex = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(hex, 16)
            .map_err(|_| HttpError::Malformed(format!("bad chunk size {hex:?}")))?;
        pos += eol + 2;
        if size == 0 {
            return Ok(Some(out));
        }
        if out.len() + size > MAX_BODY {
            return Err(HttpError::TooLarge);
        }
        if data.len() < pos + size + 2 {
            return Ok(None);
        }
        out.extend_from_slice(&data[pos..pos + size]);
        if &data[pos + size..pos + size + 2] != b"\r\n" {
            return Err(HttpError::Malformed("chunk not followed by CRLF".into()));
        }
        pos += size + 2;
    }
}

fn find_crlf(data: &[u8]) -> Option<usize> {
    data.windows(2).position(|w| w == b"\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dechunk_cases() {
        const CASES: &[(&[u8], Option<&[u8]>)] = &[
            (b"5\r\nhello\r\n0\r\n\r\n", Some(b"hello")),
            (
                b"3\r\nhel\r\n2;ext=1\r\nlo\r\n0\r\nTrailer: x\r\n\r\n",
                Some(b"hello"),
            ),
            (b"A\r\n0123456789\r\n0\r\n\r\n", Some(b"0123456789")),
            (b"5\r\nhel", None),
            (b"5\r\nhello\r\n", None),
            (b"", None),
        ];
        for (input, want) in CASES {
            let got = dechunk(input).expect("valid chunked input");
            assert_eq!(
                got.as_deref(),
                *want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        for bad in [&b"zz\r\nhello\r\n0\r\n\r\n"[..], b"2\r\nhello\r\n0\r\n\r\n"] {
            assert!(dechunk(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
