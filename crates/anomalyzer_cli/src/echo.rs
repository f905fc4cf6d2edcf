//! Quoting user input in messages, bounded: a message quotes at most
//! [`ECHO_CHARS`] characters of what it complains about, then says how long
//! the whole text was, so a 1 GiB line cannot become a 1 GiB error message.

/// How many characters of an offending input a message quotes.
pub const ECHO_CHARS: usize = 80;

/// `text` decoded leniently (invalid UTF-8 as U+FFFD), cut after
/// [`ECHO_CHARS`] characters with `… (N bytes)` appended when it is longer.
pub fn echo(text: &[u8]) -> String {
    // Decode only a bounded prefix: 4 bytes per character at most.
    let prefix = &text[..text.len().min(ECHO_CHARS * 4 + 4)];
    let decoded = String::from_utf8_lossy(prefix);
    let mut chars = decoded.char_indices();
    match chars.nth(ECHO_CHARS) {
        None if prefix.len() == text.len() => decoded.into_owned(),
        Some((cut, _)) => format!("{}… ({} bytes)", &decoded[..cut], text.len()),
        // The prefix decoded to at most ECHO_CHARS characters but was cut
        // short in bytes: only possible with replacement characters.
        None => format!("{decoded}… ({} bytes)", text.len()),
    }
}

/// [`echo`] for text already decoded.
pub fn echo_str(text: &str) -> String {
    echo(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_quoted_whole() {
        assert_eq!(echo(b"t1,abc"), "t1,abc");
        assert_eq!(echo(&[b'x'; ECHO_CHARS]), "x".repeat(ECHO_CHARS));
        assert_eq!(echo(b"a\xffb"), "a\u{fffd}b");
    }

    #[test]
    fn long_text_is_cut_at_80_characters_with_its_length() {
        let long = "y".repeat(5000);
        assert_eq!(echo_str(&long), format!("{}… (5000 bytes)", "y".repeat(80)));
        // Multi-byte characters are counted as characters, never split.
        let wide = "é".repeat(100);
        assert_eq!(echo_str(&wide), format!("{}… (200 bytes)", "é".repeat(80)));
        // Invalid bytes: still bounded, length still right.
        let junk = vec![0xff; 10_000];
        let e = echo(&junk);
        assert!(e.ends_with("… (10000 bytes)"), "{e}");
        assert!(e.chars().count() <= ECHO_CHARS + 20, "{e}");
    }
}
