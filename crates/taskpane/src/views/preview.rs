//! Browser preview (outside Office): the user names the mailbox to act as; the demo server gives an
//! identity token for it. Also the "not connected" screen for both modes.

use leptos::prelude::*;

use crate::app::{connect, ctx};
use crate::i18n::K;
use crate::office::{self, Host};
use crate::views::widgets::{dynamic, handler};
use crate::{api, browser};

#[component]
pub fn PreviewBar() -> impl IntoView {
    let ctx = ctx();
    let email = RwSignal::new(
        browser::query_param("mailbox")
            .or_else(|| office::setting("preview-mailbox"))
            .unwrap_or_default(),
    );
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let e = email.get_untracked().trim().to_owned();
        if e.is_empty() {
            browser::focus("preview-mailbox");
            return;
        }
        office::set_setting("preview-mailbox", &e);
        api::set_preview_email(Some(e));
        ctx.connected.set(false);
        connect(ctx);
    };
    view! {
        <form class="preview" on:submit=handler(submit)>
            <p class="preview-title">
                <strong>{ctx.tx(K::PreviewTitle)}</strong>
                " "
                {ctx.tx(K::PreviewExplain)}
            </p>
            <div class="inline">
                <label for="preview-mailbox">{ctx.tx(K::PreviewMailbox)}</label>
                <input
                    id="preview-mailbox"
                    type="email"
                    autocomplete="email"
                    prop:value=move || email.get()
                    on:input=handler(move |ev| email.set(event_target_value(&ev)))
                />
                <button type="submit" class="secondary">{ctx.tx(K::Connect)}</button>
            </div>
        </form>
    }
}

#[component]
pub fn NotConnected() -> impl IntoView {
    let ctx = ctx();
    view! {
        <div class="notice" role="status">
            {dynamic(move || match ctx.connect_error.get() {
                Some(err) => view! {
                    <p class="action-error">{err}</p>
                    <button type="button" on:click=handler(move |_| connect(ctx))>{ctx.tx(K::Retry)}</button>
                }
                    .into_any(),
                None if matches!(ctx.host.get(), Some(Host::Preview)) && api::current_session().is_none() => {
                    view! { <p>{ctx.tx(K::PreviewStart)}</p> }.into_any()
                }
                None => view! { <p class="muted">{ctx.tx(K::Connecting)}</p> }.into_any(),
            })}
        </div>
    }
}
