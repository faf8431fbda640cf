//! Hash routing (office.js sets `history.pushState` to null, so the path never changes).
//!
//! `#/pairing` (Preferences step 1), `#/settings` (step 2), `#/login`, `#/item`, `#/status`. The manifest's
//! buttons open `index.html?view=preferences|login|item|status`; [`Route::initial`] maps that query to a
//! route when the hash is empty.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Preferences step 1: pairing, unpair, forced removal.
    Pairing,
    /// Preferences step 2: detailed settings.
    Settings,
    Login,
    /// "Link to CRM": the open appointment or message.
    Item,
    Status,
}

impl Route {
    pub const ALL: [Route; 5] = [
        Route::Pairing,
        Route::Settings,
        Route::Login,
        Route::Item,
        Route::Status,
    ];

    pub fn hash(self) -> &'static str {
        match self {
            Route::Pairing => "#/pairing",
            Route::Settings => "#/settings",
            Route::Login => "#/login",
            Route::Item => "#/item",
            Route::Status => "#/status",
        }
    }

    /// From `location.hash`; `None` for an empty or unknown hash.
    pub fn from_hash(hash: &str) -> Option<Route> {
        let h = hash.trim_start_matches('#').trim_start_matches('/');
        let h = h.split(['?', '/']).next().unwrap_or("");
        match h {
            "pairing" => Some(Route::Pairing),
            "settings" => Some(Route::Settings),
            "login" => Some(Route::Login),
            "item" => Some(Route::Item),
            "status" => Some(Route::Status),
            _ => None,
        }
    }

    /// From the manifest's `?view=` (the query string without `?` or with it).
    pub fn from_view_query(search: &str) -> Option<Route> {
        search
            .trim_start_matches('?')
            .split('&')
            .find_map(|kv| match kv.split_once('=') {
                Some(("view", "preferences")) => Some(Route::Pairing),
                Some(("view", "settings")) => Some(Route::Settings),
                Some(("view", "login")) => Some(Route::Login),
                Some(("view", "item")) => Some(Route::Item),
                Some(("view", "status")) => Some(Route::Status),
                _ => None,
            })
    }

    /// The first screen: the hash wins, then `?view=`, then Preferences.
    pub fn initial(hash: &str, search: &str) -> Route {
        Route::from_hash(hash)
            .or_else(|| Route::from_view_query(search))
            .unwrap_or(Route::Pairing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_round_trip() {
        for r in Route::ALL {
            assert_eq!(Route::from_hash(r.hash()), Some(r));
        }
        assert_eq!(Route::from_hash(""), None);
        assert_eq!(Route::from_hash("#/nope"), None);
        assert_eq!(Route::from_hash("#item"), Some(Route::Item));
    }

    #[test]
    fn manifest_views_open_the_right_screen() {
        assert_eq!(
            Route::initial("", "?view=login&_host_Info=Outlook$Win32$16.02$fi-FI"),
            Route::Login
        );
        assert_eq!(
            Route::initial("", "?_host_Info=x&view=preferences"),
            Route::Pairing
        );
        assert_eq!(Route::initial("#/status", "?view=login"), Route::Status);
        assert_eq!(Route::initial("", ""), Route::Pairing);
    }
}
