//! "Kirjaudu sisään" with "Muista kirjautumistiedot", and "Kirjaudu ulos".

use api_types::error::ErrorCode;
use api_types::validation::fields;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::widgets::{
    action_error, check_field, dynamic, focus_first_error, handler, needs_pairing, text_field,
};
use crate::app::ctx;
use crate::forms::{FormErrors, LoginForm};
use crate::i18n::K;
use crate::route::Route;
use crate::{api, browser};

#[component]
pub fn LoginView() -> impl IntoView {
    let ctx = ctx();
    if ctx.login.get_untracked().is_none() && ctx.is_paired() {
        ctx.refresh_account();
    }
    view! {
        <section aria-labelledby="login-title">
            <h2 id="login-title">{ctx.tx(K::LoginTitle)}</h2>
            {dynamic(move || {
                if !ctx.is_paired() {
                    return needs_pairing(ctx).into_any();
                }
                match ctx.login.get() {
                    None => view! { <p class="muted">{ctx.tx(K::Loading)}</p> }.into_any(),
                    // Logged in by pairing but nothing remembered: the form stays, so "Muista
                    // kirjautumistiedot" can be turned on without logging out first.
                    Some(state) if state.logged_in && !state.remembered => {
                        let username = state.username.unwrap_or_default();
                        view! {
                            <LoggedIn remembered=false username=username.clone()/>
                            <LoginFormView username=username cooldown=state.cooldown_until.map(|t| t.timestamp_millis())/>
                        }
                        .into_any()
                    }
                    Some(state) if state.logged_in => view! { <LoggedIn remembered=state.remembered username=state.username.unwrap_or_default()/> }.into_any(),
                    Some(state) => view! { <LoginFormView username=state.username.unwrap_or_default() cooldown=state.cooldown_until.map(|t| t.timestamp_millis())/> }.into_any(),
                }
            })}
        </section>
    }
}

#[component]
fn LoggedIn(remembered: bool, username: String) -> impl IntoView {
    let ctx = ctx();
    let errors = RwSignal::new(FormErrors::default());
    let busy = RwSignal::new(false);
    let logout = move |_| {
        busy.set(true);
        spawn_local(async move {
            match api::logout().await {
                Ok(state) => {
                    ctx.login.set(Some(state));
                    ctx.say(K::LoggedOut);
                }
                Err(e) => errors.set(FormErrors::from_api(&e, &[])),
            }
            busy.set(false);
        });
    };
    view! {
        <div class="notice success" role="status">
            <p>{ctx.tx(K::LoggedInAs)} " " <strong>{username.clone()}</strong></p>
            <p class="hint">{ctx.tx(if remembered { K::RememberedNote } else { K::NotRememberedNote })}</p>
        </div>
        <div class="actions">
            <button type="button" on:click=handler(logout) disabled=move || busy.get() aria-describedby="logout-error">{ctx.tx(K::LogOut)}</button>
            <a class="button" href=Route::Status.hash()>{ctx.tx(K::NavStatus)}</a>
            {action_error(ctx, errors, "logout-error")}
        </div>
    }
}

#[component]
fn LoginFormView(username: String, cooldown: Option<i64>) -> impl IntoView {
    let ctx = ctx();
    let form = RwSignal::new(LoginForm {
        username,
        password: String::new(),
        remember: false,
    });
    let errors = RwSignal::new(FormErrors::default());
    let busy = RwSignal::new(false);
    let cooldown_until = RwSignal::new(cooldown);
    let in_cooldown = move || {
        cooldown_until
            .get()
            .is_some_and(|t| (t as f64) > browser::now_ms())
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let req = match form.with_untracked(LoginForm::to_request) {
            Ok(r) => r,
            Err(e) => {
                focus_first_error(&e, &LoginForm::FIELDS);
                errors.set(e);
                return;
            }
        };
        errors.set(FormErrors::default());
        busy.set(true);
        spawn_local(async move {
            match api::login(&req).await {
                Ok(state) => {
                    form.update(|f| f.password.clear());
                    ctx.login.set(Some(state));
                    ctx.say(K::LoggedIn);
                }
                Err(e) => {
                    if e.code == ErrorCode::LoginCooldown
                        && let Ok(state) = api::login_state().await
                    {
                        cooldown_until.set(state.cooldown_until.map(|t| t.timestamp_millis()));
                    }
                    let fe = FormErrors::from_api(&e, &LoginForm::FIELDS);
                    if fe.fields.is_empty() {
                        browser::focus("login-submit");
                    } else {
                        focus_first_error(&fe, &LoginForm::FIELDS);
                    }
                    errors.set(fe);
                }
            }
            busy.set(false);
        });
    };

    view! {
        <form class="form" on:submit=handler(submit) novalidate=true>
            {text_field(ctx, K::User, None, fields::USERNAME, "text", "username", errors,
                move || form.with(|f| f.username.clone()), move |v| form.update(|f| f.username = v))}
            {text_field(ctx, K::Password, None, fields::PASSWORD, "password", "current-password", errors,
                move || form.with(|f| f.password.clone()), move |v| form.update(|f| f.password = v))}
            {check_field(ctx, K::RememberCredentials, Some(K::RememberHint), "remember",
                move || form.with(|f| f.remember), move |v| form.update(|f| f.remember = v))}
            {dynamic(move || in_cooldown().then(|| {
                let until = cooldown_until.get().unwrap_or_default();
                let at = chrono::DateTime::from_timestamp_millis(until).map(|t| browser::fmt_time(&t, ctx.lang.get().code())).unwrap_or_default();
                view! { <p class="warning" role="alert">{ctx.tx(K::CooldownUntil)} " " {at}</p> }
            }))}
            <div class="actions">
                <button id="login-submit" type="submit" class="primary" disabled=move || busy.get() aria-describedby="login-error">
                    {dynamic(move || if busy.get() { ctx.t(K::Working) } else { ctx.t(K::LogIn) })}
                </button>
                {action_error(ctx, errors, "login-error")}
            </div>
        </form>
    }
}
