//! The shell: start-up (Office or browser preview, session, language, theme), navigation, shared state.

use api_types::login::LoginState;
use api_types::pairing::PairingSummary;
use api_types::preferences::UiLanguage;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::i18n::{K, t};
use crate::office::{self, Host, OfficeItem};
use crate::route::Route;
use crate::views;
use crate::views::widgets::{dynamic, handler};
use crate::{api, browser};

/// Something loaded from the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Load<T> {
    Loading,
    Ready(T),
    Failed(String),
}

/// State shared by all screens (all `Copy`: signals only).
#[derive(Clone, Copy)]
pub struct Ctx {
    pub lang: RwSignal<UiLanguage>,
    pub dark: RwSignal<bool>,
    pub route: RwSignal<Route>,
    /// `None` while Office.js is starting.
    pub host: RwSignal<Option<Host>>,
    /// Our session exists (the screens may call the API).
    pub connected: RwSignal<bool>,
    pub connect_error: RwSignal<Option<String>>,
    /// The signed-in mailbox.
    pub email: RwSignal<Option<String>>,
    pub pairing: RwSignal<Load<Option<PairingSummary>>>,
    /// Whether a pairing exists, as a memo: screens switch on it without being rebuilt each time the
    /// pairing is reloaded with the same answer (that rebuilt step 2 right after pairing).
    pub paired: Memo<bool>,
    pub login: RwSignal<Option<LoginState>>,
    pub item: RwSignal<Option<OfficeItem>>,
    /// Polite announcements for screen readers (and a visible status line).
    pub announce: RwSignal<String>,
}

impl Ctx {
    pub fn t(&self, k: K) -> &'static str {
        t(k, self.lang.get())
    }

    /// The text of `k` as a reactive closure. One concrete closure type for every text of the UI,
    /// instead of one `move || ctx.t(..)` type per use: this keeps the WASM small (each distinct
    /// closure type instantiates its own render effect).
    pub fn tx(self, k: K) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
        let lang = self.lang;
        move || t(k, lang.get())
    }

    pub fn go(&self, r: Route) {
        browser::set_hash(r.hash());
        self.route.set(r);
    }

    pub fn say(&self, k: K) {
        // Re-set even when equal so the live region re-reads it.
        let text = t(k, self.lang.get_untracked());
        self.announce.set(String::new());
        self.announce.set(text.to_owned());
        // The visible status line clears itself after a while (unless something newer was said).
        let announce = self.announce;
        set_timeout(
            move || {
                if announce.get_untracked() == text {
                    announce.set(String::new());
                }
            },
            std::time::Duration::from_secs(8),
        );
    }

    pub fn is_paired(&self) -> bool {
        self.paired.get()
    }

    /// Reloads the pairing and the login state (after pairing, unpairing, logging in).
    pub fn refresh_account(self) {
        spawn_local(async move {
            match api::pairing().await {
                Ok(p) => self.pairing.set(Load::Ready(p)),
                Err(e) => self.pairing.set(Load::Failed(e.message)),
            }
            if let Ok(l) = api::login_state().await {
                self.login.set(Some(l));
            }
        });
    }
}

pub fn ctx() -> Ctx {
    expect_context::<Ctx>()
}

/// Creates the session and loads what every screen needs; then applies the user's language and
/// performs the start-up auto-login ("Kirjaudu CRM:ään Outlookin käynnistyessä" + remembered).
pub fn connect(ctx: Ctx) {
    ctx.connect_error.set(None);
    spawn_local(async move {
        match api::session(true).await {
            Ok(s) => {
                ctx.email.set(Some(s.email.clone()));
                ctx.connected.set(true);
            }
            Err(e) => {
                ctx.connected.set(false);
                ctx.connect_error.set(Some(e.message));
                return;
            }
        }
        let paired = match api::pairing().await {
            Ok(p) => {
                let paired = p.is_some();
                ctx.pairing.set(Load::Ready(p));
                paired
            }
            Err(e) => {
                ctx.pairing.set(Load::Failed(e.message));
                false
            }
        };
        if !paired {
            return;
        }
        let prefs = api::preferences().await.ok();
        if let Some(p) = &prefs {
            ctx.lang.set(p.app_language);
        }
        let Ok(mut login) = api::login_state().await else {
            return;
        };
        if !login.logged_in
            && login.remembered
            && prefs.as_ref().is_some_and(|p| p.login_at_start)
            && let Ok(l) = api::login_auto().await
        {
            login = l;
            ctx.say(K::AutoLoggedIn);
        }
        ctx.login.set(Some(login));
    });
}

/// `performance.mark` set when the first screen shows its content (read by `cargo xtask bench`).
pub const FIRST_RENDER_MARK: &str = "crm-pane-first-render";

fn mark_first_render() {
    static MARKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !MARKED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        browser::mark(FIRST_RENDER_MARK);
    }
}

#[component]
pub fn App() -> impl IntoView {
    let initial_lang = office::setting("lang")
        .map(|l| UiLanguage::from_tag(&l))
        .unwrap_or_else(|| UiLanguage::from_tag(&browser::navigator_language()));
    let pairing = RwSignal::new(Load::Loading);
    let ctx = Ctx {
        lang: RwSignal::new(initial_lang),
        dark: RwSignal::new(browser::prefers_dark()),
        route: RwSignal::new(Route::initial(&browser::hash(), &browser::search())),
        host: RwSignal::new(None),
        connected: RwSignal::new(false),
        connect_error: RwSignal::new(None),
        email: RwSignal::new(None),
        pairing,
        paired: Memo::new(move |_| pairing.with(|p| matches!(p, Load::Ready(Some(_))))),
        login: RwSignal::new(None),
        item: RwSignal::new(None),
        announce: RwSignal::new(String::new()),
    };
    provide_context(ctx);

    // The language applies at once everywhere: texts, <html lang>, server messages, remembered locally.
    Effect::new(move |_| {
        let lang = ctx.lang.get();
        api::set_language(lang);
        browser::set_document_lang(lang.code());
        // Remembered only once Office is up, so that a guess made before (the browser's language)
        // never hides Outlook's own display language on the next start.
        if ctx.host.get_untracked().is_some() {
            office::set_setting("lang", lang.code());
        }
    });
    Effect::new(move |_| browser::set_theme(ctx.dark.get()));
    // The first screen with its content is on the page once the pairing is known (or connecting
    // failed): marked for the first-render benchmark. Effects run after the DOM updates.
    Effect::new(move |done: Option<bool>| {
        if done == Some(true) {
            return true;
        }
        let settled = ctx.connect_error.with(Option::is_some)
            || ctx.pairing.with(|p| !matches!(p, Load::Loading));
        if settled {
            mark_first_render();
        }
        settled
    });

    let hash_listener = window_event_listener(leptos::ev::hashchange, move |_| {
        if let Some(r) = Route::from_hash(&browser::hash()) {
            ctx.route.set(r);
        }
    });
    on_cleanup(move || hash_listener.remove());

    spawn_local(async move {
        let host = office::ready().await;
        if let Host::Outlook { .. } = host {
            match office::setting("lang") {
                Some(code) => ctx.lang.set(UiLanguage::from_tag(&code)),
                None => {
                    if let Some(tag) = office::display_language() {
                        ctx.lang.set(UiLanguage::from_tag(&tag));
                    }
                }
            }
            if let Some(dark) = office::theme_is_dark() {
                ctx.dark.set(dark);
            }
            ctx.item.set(office::current_item());
            office::on_item_changed(move || ctx.item.set(office::current_item()));
            ctx.host.set(Some(host));
            connect(ctx);
        } else {
            let email =
                browser::query_param("mailbox").or_else(|| office::setting("preview-mailbox"));
            ctx.host.set(Some(host));
            if let Some(email) = email {
                api::set_preview_email(Some(email));
                connect(ctx);
            } else {
                // The first screen asks for a mailbox: nothing to load.
                mark_first_render();
            }
        }
    });

    view! {
        <div class="app">
            <header class="top">
                <img class="logo" src="icons/icon-32.png" alt="" width="24" height="24"/>
                <h1>"CRM-service"</h1>
                <button
                    type="button"
                    class="icon-button"
                    on:click=handler(move |_| ctx.dark.update(|d| *d = !*d))
                    aria-pressed=move || if ctx.dark.get() { "true" } else { "false" }
                    title=ctx.tx(K::DarkTheme)
                >
                    <span aria-hidden="true">"◐"</span>
                    <span class="sr-only">{ctx.tx(K::DarkTheme)}</span>
                </button>
                <button
                    type="button"
                    class="lang-toggle"
                    on:click=handler(move |_| ctx.lang.update(|l| *l = if *l == UiLanguage::Fi { UiLanguage::En } else { UiLanguage::Fi }))
                    title=ctx.tx(K::AppLanguage)
                    lang=move || if ctx.lang.get() == UiLanguage::Fi { "en" } else { "fi" }
                >
                    {dynamic(move || if ctx.lang.get() == UiLanguage::Fi { "English" } else { "Suomi" })}
                </button>
            </header>
            {dynamic(move || matches!(ctx.host.get(), Some(Host::Preview)).then(|| view! { <views::preview::PreviewBar/> }))}
            <nav class="tabs" aria-label=ctx.tx(K::Navigation)>
                {dynamic(move || {
                    let current = ctx.route.get();
                    [
                        (Route::Pairing, K::NavPreferences),
                        (Route::Login, K::NavLogin),
                        (Route::Item, K::NavItem),
                        (Route::Status, K::NavStatus),
                    ]
                        .into_iter()
                        .map(|(r, k)| {
                            let active = current == r || (r == Route::Pairing && current == Route::Settings);
                            view! {
                                <a href=r.hash() class:active=active aria-current=if active { Some("page") } else { None }>
                                    {ctx.tx(k)}
                                </a>
                            }
                        })
                        .map(IntoAny::into_any).collect_view()
                })}
            </nav>
            <main id="main">
                {dynamic(move || {
                    if ctx.host.get().is_none() {
                        return view! { <p class="muted" role="status">{ctx.tx(K::Starting)}</p> }.into_any();
                    }
                    if !ctx.connected.get() {
                        return view! { <views::preview::NotConnected/> }.into_any();
                    }
                    match ctx.route.get() {
                        Route::Pairing => view! { <views::pairing::PairingView/> }.into_any(),
                        Route::Settings => view! { <views::settings::SettingsView/> }.into_any(),
                        Route::Login => view! { <views::login::LoginView/> }.into_any(),
                        Route::Item => view! { <views::item::ItemView/> }.into_any(),
                        Route::Status => view! { <views::status::StatusView/> }.into_any(),
                    }
                })}
            </main>
            <p class="live" aria-live="polite" role="status">{dynamic(move || ctx.announce.get())}</p>
        </div>
    }
}
