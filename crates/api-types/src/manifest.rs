//! The add-in manifest is committed as `manifest.xml` with [`PLACEHOLDER_ORIGIN`] in every URL; the
//! server serves it at `/manifest.xml` with its own public URL filled in by [`render`].

/// The origin written in the committed `manifest.xml`.
pub const PLACEHOLDER_ORIGIN: &str = "https://localhost:8080";

/// Replaces every occurrence of [`PLACEHOLDER_ORIGIN`] in `template` with `public_url` (trailing slashes
/// dropped, XML-escaped so any URL keeps the document well-formed).
pub fn render(template: &str, public_url: &str) -> String {
    let origin = public_url.trim().trim_end_matches('/');
    let mut escaped = String::with_capacity(origin.len());
    for c in origin.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            c => escaped.push(c),
        }
    }
    template.replace(PLACEHOLDER_ORIGIN, &escaped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_every_occurrence() {
        let t = "<a>https://localhost:8080/x</a><b DefaultValue=\"https://localhost:8080/y\"/>";
        assert_eq!(
            render(t, "https://crm-addin.example.com/"),
            "<a>https://crm-addin.example.com/x</a><b DefaultValue=\"https://crm-addin.example.com/y\"/>"
        );
    }

    #[test]
    fn escapes_xml() {
        assert_eq!(
            render("https://localhost:8080", "https://h/?a=1&b=2"),
            "https://h/?a=1&amp;b=2"
        );
    }
}
