//! Text meant to be spoken by a voice agent: one line, no markdown, lists read naturally.

/// Collapse whitespace (including line breaks, which break Vapi's result parsing) and strip
/// markdown emphasis and bullets, which text-to-speech would read out.
pub fn single_line(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| match c {
            '*' | '_' | '`' | '#' => ' ',
            c if c.is_whitespace() => ' ',
            c => c,
        })
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// "a", "a and b", "a, b and c" — how a person lists things out loud.
pub fn join_list<S: AsRef<str>>(items: &[S], conjunction: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_owned(),
        [init @ .., last] => {
            let head: Vec<&str> = init.iter().map(|s| s.as_ref()).collect();
            format!("{} {conjunction} {}", head.join(", "), last.as_ref())
        }
    }
}

/// Make sure a sentence ends with terminal punctuation.
pub fn sentence(s: &str) -> String {
    let t = s.trim();
    if t.ends_with(['.', '!', '?']) {
        t.to_owned()
    } else {
        format!("{t}.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_line_strips_breaks_and_markdown() {
        assert_eq!(
            single_line("**Taro**\n- $5.50\n\tcreamy"),
            "Taro - $5.50 creamy"
        );
    }

    #[test]
    fn lists() {
        assert_eq!(join_list::<&str>(&[], "and"), "");
        assert_eq!(join_list(&["a"], "and"), "a");
        assert_eq!(join_list(&["a", "b"], "or"), "a or b");
        assert_eq!(join_list(&["a", "b", "c"], "and"), "a, b and c");
    }

    #[test]
    fn sentences() {
        assert_eq!(sentence("Hi"), "Hi.");
        assert_eq!(sentence("Hi?"), "Hi?");
    }
}
