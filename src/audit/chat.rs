//! The `text` of an audit record, which Slack-compatible webhooks display.
//!
//! Slack reads `<…>` as a control sequence: `<!channel>` pings a channel,
//! `<@U123>` a user, and `<https://evil|ticket #42>` shows a link under any
//! label. Reasons, review messages and names are user text, so every text is
//! built from them escaped as Slack's formatting rules require: `&`, `<` and
//! `>` become `&amp;`, `&lt;` and `&gt;`. kudo's own sentences use none of
//! the three, so escaping the whole sentence escapes exactly the user's part.

/// `raw` safe for a terminal (see [`crate::printable`]) and for chat.
pub fn text(raw: &str) -> String {
    let printable = crate::printable::printable(raw);
    let mut out = String::with_capacity(printable.len());
    for c in printable.chars() {
        match c {
            // `&` first in Slack's rules; here each character is escaped once.
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// The text as written, from an escaped one: for a terminal, which reads no
/// markup (it still goes through [`crate::printable`] there).
pub fn unescape(text: &str) -> String {
    // `&amp;` last, so that a written `&lt;` (escaped `&amp;lt;`) stays `&lt;`.
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// At most `max` bytes of an escaped `text`, then `…`; never cuts a
/// character or an entity in half (a cut `&am` would show as raw text, and
/// a cut `&l` followed by more text could still be read as markup).
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    // In escaped text every `&` starts an entity, which ends at its `;`.
    if let Some(amp) = text[..end].rfind('&')
        && !text[amp..end].contains(';')
    {
        end = amp;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_could_ping_or_disguise_a_link_is_escaped() {
        assert_eq!(text("<!channel>"), "&lt;!channel&gt;");
        assert_eq!(text("<@U123>"), "&lt;@U123&gt;");
        assert_eq!(text("<https://x|label>"), "&lt;https://x|label&gt;");
        assert_eq!(text("&"), "&amp;");
        // An entity the user wrote is shown as written, not decoded.
        assert_eq!(text("&lt;!here&gt;"), "&amp;lt;!here&amp;gt;");
        assert_eq!(text("a\u{1b}[2J<b>"), "a\\u{1b}[2J&lt;b&gt;", "terminal escapes too");
        assert_eq!(text("debug app B, ticket #42"), "debug app B, ticket #42");
        for written in ["<!channel> <@U123> <https://x|label> &", "&lt;!here&gt; &amp;amp;"] {
            assert_eq!(unescape(&text(written)), written);
        }
    }

    #[test]
    fn truncation_never_cuts_an_entity_or_a_character() {
        let escaped = text("ab<c");
        assert_eq!(escaped, "ab&lt;c");
        for max in 2..6 {
            assert_eq!(truncate(&escaped, max), "ab…", "max {max}");
        }
        assert_eq!(truncate(&escaped, 6), "ab&lt;…");
        assert_eq!(truncate(&escaped, 7), "ab&lt;c");
        assert_eq!(truncate("aé&amp;", 2), "a…", "é is two bytes");
        assert_eq!(truncate(&text("&&&"), 7), "&amp;…");
    }
}
