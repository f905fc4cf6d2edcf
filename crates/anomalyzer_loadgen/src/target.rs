//! Where the load goes: the server's `http://host:port` base address and
//! the optional bearer token every request carries.

use std::fs;
use std::path::Path;

use hyper::http::uri::{Authority, Uri};

use crate::error::{Error, Result};

/// Largest token file read, as the server's own limit.
const MAX_TOKEN_BYTES: u64 = 4096;

/// The server to load: its authority (what TCP connects to and `Host`
/// says) and the bearer token, if any.
#[derive(Debug, Clone)]
pub struct Target {
    /// `host:port`.
    pub authority: Authority,
    /// The base URL as given, without a trailing slash (for messages).
    pub base: String,
    /// `Bearer <token>` when `--token-file` is given.
    pub authorization: Option<String>,
}

impl Target {
    /// Parses `url` (`http://host:port`, an optional trailing `/`; no path,
    /// no TLS: put a reverse proxy's plain side here) and reads the token.
    pub fn new(url: &str, token_file: Option<&Path>) -> Result<Target> {
        let bad = |reason: &str| Error::BadUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let uri: Uri = url.parse().map_err(|e| bad(&format!("{e}")))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(other) => {
                return Err(bad(&format!(
                    "scheme {other:?} is not supported; only http:// (no TLS)"
                )))
            }
            None => return Err(bad("needs a scheme: http://host:port")),
        }
        let authority = uri.authority().ok_or_else(|| bad("no host"))?.clone();
        if authority.port_u16().is_none() {
            return Err(bad("needs an explicit port, e.g. http://127.0.0.1:9464"));
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(bad(
                "must be the server's base address without a path or query",
            ));
        }
        let authorization = token_file.map(read_token).transpose()?;
        Ok(Target {
            base: format!("http://{authority}"),
            authority,
            authorization,
        })
    }
}

/// Reads a token file as the server does: one word of visible ASCII,
/// surrounding whitespace removed.
fn read_token(path: &Path) -> Result<String> {
    let io = |source| Error::TokenFile {
        path: path.to_owned(),
        source,
    };
    let bad = |reason: &str| Error::BadToken {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let len = fs::metadata(path).map_err(io)?.len();
    if len > MAX_TOKEN_BYTES {
        return Err(bad(&format!(
            "is {len} bytes; a token file is at most {MAX_TOKEN_BYTES}"
        )));
    }
    let text = fs::read(path).map_err(io)?;
    let token = std::str::from_utf8(&text)
        .map_err(|_| bad("is not UTF-8"))?
        .trim();
    if token.is_empty() {
        return Err(bad("is empty"));
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad(
            "must hold one word of visible ASCII (no spaces or control characters)",
        ));
    }
    Ok(format!("Bearer {token}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_parsed_and_bad_ones_explained() {
        let t = Target::new("http://127.0.0.1:9464/", None).unwrap();
        assert_eq!(t.authority.as_str(), "127.0.0.1:9464");
        assert_eq!(t.base, "http://127.0.0.1:9464");
        assert!(t.authorization.is_none());
        for (url, says) in [
            ("https://127.0.0.1:9464", "only http://"),
            ("127.0.0.1:9464", "scheme"),
            ("http://127.0.0.1", "explicit port"),
            ("http://127.0.0.1:9464/api", "without a path"),
            ("http://[::1", "--url"),
        ] {
            let err = Target::new(url, None).unwrap_err().to_string();
            assert!(err.contains(says), "{url}: {err}");
        }
    }

    #[test]
    fn token_files_are_read_like_the_server_does() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("token");
        fs::write(&good, "  s3cret\n").unwrap();
        let t = Target::new("http://127.0.0.1:1", Some(&good)).unwrap();
        assert_eq!(t.authorization.as_deref(), Some("Bearer s3cret"));

        let spaced = dir.path().join("spaced");
        fs::write(&spaced, "two words").unwrap();
        let err = Target::new("http://127.0.0.1:1", Some(&spaced)).unwrap_err();
        assert!(err.to_string().contains("one word"), "{err}");

        let empty = dir.path().join("empty");
        fs::write(&empty, "\n").unwrap();
        let err = Target::new("http://127.0.0.1:1", Some(&empty)).unwrap_err();
        assert!(err.to_string().contains("is empty"), "{err}");

        let missing = dir.path().join("missing");
        let err = Target::new("http://127.0.0.1:1", Some(&missing)).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }
}
