//! Parsers for `anomalyzer serve`'s flags whose errors clap cannot word
//! well by itself: the remote_write URL, probabilities and timeouts.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

/// The longest `--client-timeout`: one hour.
const MAX_CLIENT_TIMEOUT_SECONDS: f64 = 3600.0;

/// `--remote-write URL`: an absolute `http` or `https` URL with a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteWriteUrl(http::Uri);

impl RemoteWriteUrl {
    /// The parsed URL.
    #[allow(dead_code)] // read by the remote_write output once it is built in
    pub fn uri(&self) -> &http::Uri {
        &self.0
    }
}

impl FromStr for RemoteWriteUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let uri: http::Uri = text
            .parse()
            .map_err(|e| format!("{text:?} is not a URL: {e}"))?;
        match uri.scheme_str() {
            Some(scheme)
                if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") => {}
            Some(scheme) => {
                return Err(format!("{text:?}: scheme {scheme:?} is not http or https"))
            }
            None => {
                return Err(format!(
                    "{text:?} is not an absolute URL; write it as http://HOST:PORT/api/v1/write"
                ))
            }
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(format!("{text:?} has no host"));
        }
        Ok(RemoteWriteUrl(uri))
    }
}

impl fmt::Display for RemoteWriteUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// `--listen ADDR`: an IP address and a port (`127.0.0.1:9464`,
/// `[::1]:0`); host names are not looked up, so what is bound is what is
/// written.
pub fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    text.trim().parse().map_err(|_| {
        format!("{text:?} is not an IP address and port such as 127.0.0.1:9464 or [::1]:9464")
    })
}

/// `--metrics-min-score X`: a probability in [0, 1].
pub fn parse_probability(text: &str) -> Result<f64, String> {
    let x: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if (0.0..=1.0).contains(&x) {
        Ok(x)
    } else {
        Err(format!("{text} is not a probability in [0, 1]"))
    }
}

/// `--client-timeout SECONDS`: more than 0, at most an hour; fractions
/// allowed.
pub fn parse_client_timeout(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if seconds.is_finite() && seconds > 0.0 && seconds <= MAX_CLIENT_TIMEOUT_SECONDS {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err(format!(
            "{text} seconds is not in (0, {MAX_CLIENT_TIMEOUT_SECONDS}]"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_write_urls_are_http_or_https_with_a_host() {
        for good in [
            "http://127.0.0.1:9090/api/v1/write",
            "https://mimir.example/api/v1/push",
            "HTTP://localhost/w",
        ] {
            let url: RemoteWriteUrl = good.parse().unwrap();
            assert!(url.uri().host().is_some(), "{good}");
        }
        for (bad, says) in [
            ("ftp://host/x", "not http or https"),
            ("/api/v1/write", "not an absolute URL"),
            ("localhost:9090", "not an absolute URL"),
            ("http://", "not a URL"),
            ("not a url", "not a URL"),
        ] {
            let err = bad.parse::<RemoteWriteUrl>().unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn probabilities_and_timeouts_are_bounded() {
        assert_eq!(parse_probability("0.9"), Ok(0.9));
        assert_eq!(parse_probability("1"), Ok(1.0));
        assert!(parse_probability("1.5").unwrap_err().contains("[0, 1]"));
        assert!(parse_probability("NaN").is_err());
        assert!(parse_probability("x").unwrap_err().contains("not a number"));
        assert_eq!(parse_listen("127.0.0.1:0").unwrap().port(), 0);
        assert!(parse_listen("[::1]:9464").is_ok());
        assert!(parse_listen("localhost:9464")
            .unwrap_err()
            .contains("IP address and port"));
        assert_eq!(parse_client_timeout("1.5"), Ok(Duration::from_millis(1500)));
        for bad in ["0", "-1", "inf", "NaN", "3601"] {
            assert!(parse_client_timeout(bad).is_err(), "{bad}");
        }
    }
}
