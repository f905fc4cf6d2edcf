//! `--auth-token-file`: a shared secret that every request but `/healthz`
//! must carry as `Authorization: Bearer <token>`, compared in constant time.

use std::path::Path;

use subtle::ConstantTimeEq;

use crate::error::{Error, Result};

/// Largest token file read: a token is a line, not a document.
const MAX_TOKEN_FILE_BYTES: u64 = 4096;

/// The expected bearer token.
#[derive(Clone)]
pub struct AuthToken {
    token: Vec<u8>,
}

impl std::fmt::Debug for AuthToken {
    /// Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthToken(..)")
    }
}

impl AuthToken {
    /// A token from its text; surrounding whitespace (a trailing newline)
    /// is removed, and what remains must be non-empty visible ASCII, as an
    /// HTTP header value can carry it.
    pub fn new(text: &str) -> Result<Self> {
        let token = text.trim();
        if token.is_empty() {
            return Err(token_error("the token is empty"));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(token_error(
                "the token must be one word of visible ASCII characters",
            ));
        }
        Ok(AuthToken {
            token: token.as_bytes().to_vec(),
        })
    }

    /// Reads the token from a file of at most 4 KiB.
    pub fn from_file(path: &Path) -> Result<Self> {
        let origin = || format!("--auth-token-file {}", path.display());
        let fail = |reason: String| Error::InvalidConfig {
            origin: origin(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        if !meta.is_file() {
            return Err(fail("is not a regular file".into()));
        }
        if meta.len() > MAX_TOKEN_FILE_BYTES {
            return Err(fail(format!(
                "is {} bytes; a token file may have at most {MAX_TOKEN_FILE_BYTES}",
                meta.len()
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        Self::new(&text).map_err(|e| match e {
            Error::InvalidConfig { reason, .. } => fail(reason),
            other => other,
        })
    }

    /// Whether an `Authorization` header value grants access. The token
    /// bytes are compared in constant time; only the length can leak.
    #[must_use]
    pub fn allows(&self, authorization: Option<&[u8]>) -> bool {
        let Some(value) = authorization else {
            return false;
        };
        // The scheme is case-insensitive (RFC 9110 §11.1).
        let Some((scheme, credentials)) = split_scheme(value) else {
            return false;
        };
        scheme.eq_ignore_ascii_case(b"bearer") && bool::from(credentials.ct_eq(&self.token))
    }
}

fn split_scheme(value: &[u8]) -> Option<(&[u8], &[u8])> {
    let space = value.iter().position(|&b| b == b' ')?;
    let (scheme, rest) = value.split_at(space);
    Some((scheme, rest.trim_ascii_start()))
}

fn token_error(reason: &str) -> Error {
    Error::InvalidConfig {
        origin: "auth token".into(),
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_right_bearer_token_is_allowed() {
        let t = AuthToken::new("s3cret\n").unwrap();
        assert!(t.allows(Some(b"Bearer s3cret")));
        assert!(t.allows(Some(b"bearer  s3cret")));
        for bad in [
            &b"Bearer s3cre"[..],
            b"Bearer s3cret2",
            b"Bearer",
            b"Basic s3cret",
            b"s3cret",
            b"",
        ] {
            assert!(!t.allows(Some(bad)), "{:?}", String::from_utf8_lossy(bad));
        }
        assert!(!t.allows(None));
        assert_eq!(format!("{t:?}"), "AuthToken(..)");
    }

    #[test]
    fn bad_tokens_and_files_are_refused() {
        assert!(AuthToken::new(" \n").is_err());
        assert!(AuthToken::new("two words").is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "abc\n").unwrap();
        assert!(AuthToken::from_file(&path)
            .unwrap()
            .allows(Some(b"Bearer abc")));
        std::fs::write(&path, "").unwrap();
        let err = AuthToken::from_file(&path).unwrap_err().to_string();
        assert!(
            err.contains("--auth-token-file") && err.contains("empty"),
            "{err}"
        );
        let err = AuthToken::from_file(dir.path()).unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
        std::fs::write(&path, vec![b'a'; 5000]).unwrap();
        let err = AuthToken::from_file(&path).unwrap_err().to_string();
        assert!(err.contains("at most 4096"), "{err}");
    }
}
