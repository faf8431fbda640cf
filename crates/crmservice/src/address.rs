//! The CRM address as users type it, normalised to a base URL.

use std::fmt;

use url::Url;

use crate::Error;

/// A normalised CRM address: `https://` added when no scheme was typed, an explicit `http://` or
/// `https://` kept, surrounding spaces and trailing slashes removed. The API lives under
/// `{address}/api/v1`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CrmAddress {
    base: Url,
}

impl CrmAddress {
    /// Parses an address as typed: `crm.example.fi`, `crm.example.fi/`, `https://crm.example.fi`,
    /// `http://localhost:8081`, with optional surrounding spaces. Anything else (spaces inside, other
    /// schemes, credentials, query strings, no host) is [`Error::InvalidAddress`].
    pub fn parse(input: &str) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidAddress {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(invalid("the address is empty"));
        }
        if trimmed.chars().any(char::is_whitespace) {
            return Err(invalid("the address contains spaces"));
        }
        let typed_scheme = trimmed.contains("://");
        let with_scheme = if typed_scheme {
            trimmed.to_owned()
        } else {
            format!("https://{trimmed}")
        };
        let url = Url::parse(&with_scheme).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("only http:// and https:// addresses are supported"));
        }
        let host = url.host_str().unwrap_or("");
        if host.is_empty() {
            return Err(invalid("the address has no host name"));
        }
        // A bare word typed without a scheme (other than localhost) is almost always a typo, not a CRM;
        // with an explicit scheme it may well be a container or intranet host name.
        let is_ip = url
            .host()
            .is_some_and(|h| !matches!(h, url::Host::Domain(_)));
        if !typed_scheme && !is_ip && host != "localhost" && !host.contains('.') {
            return Err(invalid("the host name is incomplete"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                "the address must not contain a user name or password",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("the address must not contain ? or #"));
        }
        let mut base = url;
        let path = base.path().trim_end_matches('/').to_owned();
        base.set_path(&path);
        Ok(CrmAddress { base })
    }

    /// `https://crm.example.fi` (no trailing slash).
    pub fn as_str(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// The host name, for per-host politeness limits and messages.
    pub fn host(&self) -> &str {
        self.base.host_str().unwrap_or("")
    }

    /// `{base}/api/v1/{path}`.
    pub fn api_url(&self, path: &str) -> String {
        let path = path.trim_start_matches('/');
        if path.is_empty() {
            format!("{}/api/v1/", self.as_str())
        } else {
            format!("{}/api/v1/{path}", self.as_str())
        }
    }
}

impl fmt::Display for CrmAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CrmAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CrmAddress({})", self.as_str())
    }
}

impl std::str::FromStr for CrmAddress {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        CrmAddress::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_https_and_trims_as_users_type_it() {
        for typed in [
            "crm.example.fi",
            "crm.example.fi/",
            " https://crm.example.fi ",
            "https://crm.example.fi//",
        ] {
            assert_eq!(
                CrmAddress::parse(typed).unwrap().as_str(),
                "https://crm.example.fi",
                "{typed:?}"
            );
        }
    }

    #[test]
    fn keeps_an_explicit_scheme_port_and_path() {
        assert_eq!(
            CrmAddress::parse("http://localhost:8081").unwrap().as_str(),
            "http://localhost:8081"
        );
        assert_eq!(
            CrmAddress::parse("http://127.0.0.1:9/")
                .unwrap()
                .api_url("activities"),
            "http://127.0.0.1:9/api/v1/activities"
        );
        assert_eq!(
            CrmAddress::parse("crm.example.fi/yritys/")
                .unwrap()
                .as_str(),
            "https://crm.example.fi/yritys"
        );
        // With an explicit scheme a dotless host (a container or intranet name) is accepted.
        assert_eq!(
            CrmAddress::parse("http://crm-sim:8081").unwrap().as_str(),
            "http://crm-sim:8081"
        );
    }

    #[test]
    fn rejects_garbage_with_a_reason() {
        for bad in [
            "",
            "   ",
            "not a url",
            "ftp://crm.example.fi",
            "https://",
            "crm",
            "https://user:pw@crm.example.fi",
            "crm.example.fi/?x=1",
        ] {
            let err = CrmAddress::parse(bad).unwrap_err();
            assert!(
                matches!(err, Error::InvalidAddress { .. }),
                "{bad:?}: {err:?}"
            );
        }
    }
}
