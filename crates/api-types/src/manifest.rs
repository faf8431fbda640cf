//! The add-in manifest is committed as `manifest.xml` with [`PLACEHOLDER_ORIGIN`] in every URL; the
//! server serves it at `/manifest.xml` with its own public URL filled in by [`render`].

/// The origin written in the committed `manifest.xml`.
pub const PLACEHOLDER_ORIGIN: &str = "https://localhost:8080";

/// Replaces every occurrence of [`PLACEHOLDER_ORIGIN`] in `template` with `public_url` (trailing slashes
/// dropped, XML-escaped so any URL keeps the document well-formed).
pub fn render(template: &str, public_url: &str) -> String {
    let origin = public_url.trim().trim_end_matches('/');
    template.replace(PLACEHOLDER_ORIGIN, &escape(origin))
}

/// The client id written in the committed `manifest.xml` (`WebApplicationInfo`, Office SSO).
pub const PLACEHOLDER_CLIENT_ID: &str = "00000000-0000-0000-0000-00000000c1d0";

/// The SSO resource's host part in the committed manifest (`api://localhost:8080/<client id>`).
const PLACEHOLDER_RESOURCE_HOST: &str = "api://localhost:8080/";

/// [`render`], and also fills in the server's Microsoft app registration for Office SSO:
/// `WebApplicationInfo/Id` becomes `client_id` and `Resource` becomes `api://<public host>/<client_id>`.
pub fn render_with_client_id(template: &str, public_url: &str, client_id: &str) -> String {
    let host = public_url
        .trim()
        .trim_end_matches('/')
        .split_once("://")
        .map_or(public_url, |(_, rest)| rest);
    let client: String = client_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    render(template, public_url)
        .replace(
            PLACEHOLDER_RESOURCE_HOST,
            &format!("api://{}/", escape(host)),
        )
        .replace(PLACEHOLDER_CLIENT_ID, &client)
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
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

    #[test]
    fn fills_in_the_sso_registration() {
        let t = "<Id>00000000-0000-0000-0000-00000000c1d0</Id><Resource>api://localhost:8080/00000000-0000-0000-0000-00000000c1d0</Resource><U>https://localhost:8080/x</U>";
        assert_eq!(
            render_with_client_id(t, "https://addin.example.com:8443/", "1234-abcd"),
            "<Id>1234-abcd</Id><Resource>api://addin.example.com:8443/1234-abcd</Resource><U>https://addin.example.com:8443/x</U>"
        );
    }
}
