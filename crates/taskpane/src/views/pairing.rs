//! Preferences step 1: pairing ("Tallenna"), and for a paired mailbox the summary with unpairing and,
//! when unpairing cannot reach CRM or Graph, forced removal ("pakotettu poisto").

use api_types::calendars::Calendar;
use api_types::error::{ApiError, ErrorCode};
use api_types::pairing::{LeftBehind, PairingSummary};
use api_types::validation::fields;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::widgets::{action_error, dynamic, focus_first_error, handler, text_field};
use crate::api;
use crate::app::{Ctx, Load, ctx};
use crate::browser;
use crate::forms::{FormErrors, PairingForm};
use crate::i18n::K;
use crate::route::Route;

#[component]
pub fn PairingView() -> impl IntoView {
    let ctx = ctx();
    // What a forced removal left behind stays visible after the form reappears.
    let left_behind: RwSignal<Option<Vec<LeftBehind>>> = RwSignal::new(None);
    view! {
        <section aria-labelledby="prefs-title">
            <h2 id="prefs-title">{ctx.tx(K::Preferences)}</h2>
            <p class="steps">
                <span class="step current">{ctx.tx(K::Step1)}</span>
                <a class="step" href=Route::Settings.hash()>{ctx.tx(K::Step2)}</a>
            </p>
            {dynamic(move || left_behind.get().map(|items| forced_result(ctx, items)))}
            {dynamic(move || match ctx.pairing.get() {
                Load::Loading => view! { <p class="muted">{ctx.tx(K::Loading)}</p> }.into_any(),
                Load::Failed(msg) => view! { <p class="action-error" role="alert">{msg}</p> }.into_any(),
                Load::Ready(None) => view! { <PairingForm/> }.into_any(),
                Load::Ready(Some(summary)) => view! { <Paired summary=summary left_behind=left_behind/> }.into_any(),
            })}
        </section>
    }
}

fn forced_result(ctx: Ctx, items: Vec<LeftBehind>) -> impl IntoView {
    view! {
        <div class="notice success" role="status">
            <p><strong>{ctx.tx(K::ForcedDone)}</strong></p>
            {(!items.is_empty()).then(|| view! {
                <p>{ctx.tx(K::LeftBehindTitle)}</p>
                <ul>{items.into_iter().map(|i| view! { <li>{i.detail}</li> }).map(IntoAny::into_any).collect_view()}</ul>
            })}
            <p>{ctx.tx(K::NoDuplicatesAnswer)}</p>
        </div>
    }
}

#[component]
fn PairingForm() -> impl IntoView {
    let ctx = ctx();
    let form = RwSignal::new(PairingForm {
        email: ctx.email.get_untracked().unwrap_or_default(),
        ..Default::default()
    });
    let errors = RwSignal::new(FormErrors::default());
    let busy = RwSignal::new(false);
    let calendars: RwSignal<Load<Vec<Calendar>>> = RwSignal::new(Load::Loading);

    spawn_local(async move {
        match api::calendars().await {
            Ok(list) => {
                if form.with_untracked(|f| f.calendar_id.is_empty())
                    && let Some(c) = list.iter().find(|c| c.is_default).or(list.first())
                {
                    let id = c.id.clone();
                    form.update(|f| f.calendar_id = id);
                }
                calendars.set(Load::Ready(list));
            }
            Err(e) => calendars.set(Load::Failed(e.message)),
        }
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let req = match form.with_untracked(PairingForm::to_request) {
            Ok(r) => r,
            Err(e) => {
                focus_first_error(&e, &PairingForm::FIELDS);
                errors.set(e);
                return;
            }
        };
        errors.set(FormErrors::default());
        busy.set(true);
        spawn_local(async move {
            match api::pair(&req).await {
                Ok(summary) => {
                    form.update(|f| f.crm_password.clear());
                    ctx.pairing.set(Load::Ready(Some(summary)));
                    ctx.say(K::PairingSaved);
                    ctx.refresh_account();
                    ctx.go(Route::Settings);
                }
                Err(e) => {
                    let fe = FormErrors::from_api(&e, &PairingForm::FIELDS);
                    if fe.fields.is_empty() {
                        browser::focus("pair-save");
                    } else {
                        focus_first_error(&fe, &PairingForm::FIELDS);
                    }
                    errors.set(fe);
                }
            }
            busy.set(false);
        });
    };

    let cal_invalid = move || errors.with(|e| e.fields.contains_key(fields::CALENDAR_ID));
    view! {
        <form class="form" on:submit=handler(submit) novalidate=true>
            <p class="intro">{ctx.tx(K::PairingIntro)}</p>
            {text_field(ctx, K::ApiKey, Some(K::ApiKeyHint), fields::API_KEY, "password", "off", errors,
                move || form.with(|f| f.api_key.clone()), move |v| form.update(|f| f.api_key = v))}
            {text_field(ctx, K::CrmAddress, Some(K::CrmAddressHint), fields::CRM_ADDRESS, "text", "url", errors,
                move || form.with(|f| f.crm_address.clone()), move |v| form.update(|f| f.crm_address = v))}
            {text_field(ctx, K::User, None, fields::CRM_USERNAME, "text", "username", errors,
                move || form.with(|f| f.crm_username.clone()), move |v| form.update(|f| f.crm_username = v))}
            {text_field(ctx, K::Password, None, fields::CRM_PASSWORD, "password", "current-password", errors,
                move || form.with(|f| f.crm_password.clone()), move |v| form.update(|f| f.crm_password = v))}
            {text_field(ctx, K::Email, Some(K::EmailHint), fields::EMAIL, "email", "email", errors,
                move || form.with(|f| f.email.clone()), move |v| form.update(|f| f.email = v))}
            <div class="field" class:invalid=cal_invalid>
                <label for=fields::CALENDAR_ID>{ctx.tx(K::Calendar)}</label>
                <select
                    id=fields::CALENDAR_ID
                    aria-invalid=move || if cal_invalid() { "true" } else { "false" }
                    aria-describedby="calendar_id-error"
                    prop:value=move || form.with(|f| f.calendar_id.clone())
                    on:change=handler(move |ev| { let v = event_target_value(&ev); form.update(|f| f.calendar_id = v) })
                >
                    {dynamic(move || match calendars.get() {
                        Load::Ready(list) => list
                            .into_iter()
                            .map(|c| {
                                let selected = form.with_untracked(|f| f.calendar_id == c.id);
                                view! { <option value=c.id selected=selected>{c.name}</option> }
                            })
                            .map(IntoAny::into_any).collect_view()
                            .into_any(),
                        Load::Loading => view! { <option value="">{ctx.tx(K::Loading)}</option> }.into_any(),
                        Load::Failed(_) => view! { <option value="">"—"</option> }.into_any(),
                    })}
                </select>
                <p class="field-error" id="calendar_id-error">
                    {dynamic(move || errors.with(|e| e.field(fields::CALENDAR_ID, ctx.lang.get())).or_else(|| match calendars.get() {
                        Load::Failed(m) => Some(m),
                        _ => None,
                    }))}
                </p>
            </div>
            <div class="actions">
                <button id="pair-save" type="submit" class="primary" disabled=move || busy.get() aria-describedby="pair-error">
                    {dynamic(move || if busy.get() { ctx.t(K::Checking) } else { ctx.t(K::Save) })}
                </button>
                {action_error(ctx, errors, "pair-error")}
            </div>
        </form>
    }
}

/// Unpairing goes through these stages.
#[derive(Debug, Clone, PartialEq)]
enum Stage {
    Idle,
    Confirm,
    Working,
    /// Unpairing failed: offer forced removal (with the guide's warning and our answer). `message` is
    /// the server's reason when it says more than "unpairing did not succeed", which the question
    /// already says (shown once, not twice).
    Failed {
        message: Option<String>,
    },
    ForcedWorking,
}

/// What to show above the forced-removal question when unpairing failed: nothing for the plain
/// "unpairing did not succeed" (the question says it), the message for anything more specific.
fn failure_detail(e: &ApiError) -> Option<String> {
    (e.code != ErrorCode::UnpairFailed).then(|| e.message.clone())
}

#[component]
fn Paired(
    summary: PairingSummary,
    left_behind: RwSignal<Option<Vec<LeftBehind>>>,
) -> impl IntoView {
    let ctx = ctx();
    let stage = RwSignal::new(Stage::Idle);
    let paired_at = browser::fmt_time(&summary.paired_at, ctx.lang.get_untracked().code());

    let unpair = move |_| {
        stage.set(Stage::Working);
        spawn_local(async move {
            match api::unpair().await {
                Ok(()) => {
                    left_behind.set(None);
                    ctx.pairing.set(Load::Ready(None));
                    ctx.login.set(None);
                    ctx.say(K::Unpaired);
                }
                Err(e) if e.code == ErrorCode::NotPaired => ctx.pairing.set(Load::Ready(None)),
                Err(e) => {
                    stage.set(Stage::Failed {
                        message: failure_detail(&e),
                    });
                    browser::focus("force-remove");
                }
            }
        });
    };
    let force = move |_| {
        stage.set(Stage::ForcedWorking);
        spawn_local(async move {
            match api::force_remove().await {
                Ok(r) => {
                    left_behind.set(Some(r.left_behind));
                    ctx.pairing.set(Load::Ready(None));
                    ctx.login.set(None);
                    ctx.say(K::ForcedDone);
                }
                Err(e) => stage.set(Stage::Failed {
                    message: Some(e.message),
                }),
            }
        });
    };

    view! {
        <dl class="summary">
            <dt>{ctx.tx(K::CrmAddress)}</dt><dd>{summary.crm_address.clone()}</dd>
            <dt>{ctx.tx(K::User)}</dt><dd>{summary.crm_username.clone()}</dd>
            <dt>{ctx.tx(K::Email)}</dt><dd>{summary.email.clone()}</dd>
            <dt>{ctx.tx(K::Calendar)}</dt><dd>{summary.calendar_name.clone()}</dd>
            <dt>{ctx.tx(K::PairedAt)}</dt><dd>{paired_at}</dd>
        </dl>
        <div class="actions">
            <a class="button primary" href=Route::Settings.hash()>{ctx.tx(K::NextStep)}</a>
        </div>
        <section class="danger-zone" aria-labelledby="unpair-title">
            <h3 id="unpair-title">{ctx.tx(K::UnpairTitle)}</h3>
            <p>{ctx.tx(K::UnpairExplain)}</p>
            {dynamic(move || match stage.get() {
                Stage::Idle => view! {
                    <button type="button" on:click=handler(move |_| { stage.set(Stage::Confirm); browser::focus("unpair-confirm") })>
                        {ctx.tx(K::Unpair)}
                    </button>
                }.into_any(),
                Stage::Confirm => view! {
                    <p role="alert">{ctx.tx(K::UnpairConfirm)}</p>
                    <div class="actions">
                        <button id="unpair-confirm" type="button" class="danger" on:click=handler(unpair)>{ctx.tx(K::Unpair)}</button>
                        <button type="button" on:click=handler(move |_| stage.set(Stage::Idle))>{ctx.tx(K::Cancel)}</button>
                    </div>
                }.into_any(),
                Stage::Working | Stage::ForcedWorking => view! {
                    <p class="muted" role="status">{ctx.tx(K::Working)}</p>
                }.into_any(),
                Stage::Failed { message } => view! {
                    {message.map(|m| view! { <p class="action-error">{m}</p> })}
                    <div class="warning" role="alert">
                        <p><strong>{ctx.tx(K::ForcedQuestion)}</strong></p>
                        <p>{ctx.tx(K::ForcedRiskGuide)}</p>
                        <p>{ctx.tx(K::NoDuplicatesAnswer)}</p>
                    </div>
                    <div class="actions">
                        <button id="force-remove" type="button" class="danger" on:click=handler(force)>{ctx.tx(K::ForcedRemoval)}</button>
                        <button type="button" on:click=handler(unpair)>{ctx.tx(K::Retry)}</button>
                        <button type="button" on:click=handler(move |_| stage.set(Stage::Idle))>{ctx.tx(K::Cancel)}</button>
                    </div>
                }.into_any(),
            })}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use api_types::error::{ApiError, ErrorCode};
    use api_types::preferences::UiLanguage;

    use super::failure_detail;

    #[test]
    fn a_plain_unpair_failure_is_said_once_by_the_forced_removal_question() {
        let e = ApiError::new(ErrorCode::UnpairFailed, UiLanguage::Fi);
        assert_eq!(failure_detail(&e), None);
    }

    #[test]
    fn other_unpair_failures_keep_their_own_message() {
        let e = ApiError::new(ErrorCode::Unknown, UiLanguage::Fi).with_message("Verkkovirhe.");
        assert_eq!(failure_detail(&e).as_deref(), Some("Verkkovirhe."));
    }
}
