//! Preferences step 2: both directions, languages and the calendar section, exactly as in the guide.

use api_types::picklists::PicklistEntry;
use api_types::preferences::{
    FUTURE_DAYS_MAX, HISTORY_DAYS_MAX, Language, PrivateEntries, UiLanguage,
};
use api_types::validation::fields;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::widgets::{
    action_error, check_field, days_field, dynamic, field_error, focus_first_error, handler,
    needs_pairing,
};
use crate::api;
use crate::app::{Ctx, Load, ctx};
use crate::forms::{Dir, FormErrors, SettingsForm, TypeList, Warning};
use crate::i18n::K;
use crate::route::Route;

#[component]
pub fn SettingsView() -> impl IntoView {
    let ctx = ctx();
    view! {
        <section aria-labelledby="settings-title">
            <h2 id="settings-title">{ctx.tx(K::Preferences)}</h2>
            <p class="steps">
                <a class="step" href=Route::Pairing.hash()>{ctx.tx(K::Step1)}</a>
                <span class="step current">{ctx.tx(K::Step2)}</span>
            </p>
            {dynamic(move || if ctx.is_paired() { view! { <SettingsForm/> }.into_any() } else { needs_pairing(ctx).into_any() })}
        </section>
    }
}

#[component]
fn SettingsForm() -> impl IntoView {
    let ctx = ctx();
    let form: RwSignal<Option<SettingsForm>> = RwSignal::new(None);
    let load_error = RwSignal::new(None::<String>);
    let types: RwSignal<Load<Vec<PicklistEntry>>> = RwSignal::new(Load::Loading);
    let errors = RwSignal::new(FormErrors::default());
    let busy = RwSignal::new(false);

    spawn_local(async move {
        match api::preferences().await {
            Ok(p) => form.set(Some(SettingsForm::from_prefs(&p))),
            Err(e) => load_error.set(Some(e.message)),
        }
    });

    // Activity types follow "Valintalistojen kieli", reloaded when it changes.
    let picklist_lang = Memo::new(move |_| form.with(|f| f.as_ref().map(|f| f.picklist_language)));
    Effect::new(move |_| {
        let Some(lang) = picklist_lang.get() else {
            return;
        };
        // A list already shown stays (and keeps focus and scroll) until the new one replaces it in place.
        if !matches!(types.get_untracked(), Load::Ready(_)) {
            types.set(Load::Loading);
        }
        spawn_local(async move {
            match api::activity_types(lang).await {
                Ok(list) => types.set(Load::Ready(list)),
                Err(e) => types.set(Load::Failed(e.message)),
            }
        });
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(f) = form.get_untracked() else {
            return;
        };
        let known: Option<Vec<String>> = match types.get_untracked() {
            Load::Ready(list) => Some(list.into_iter().map(|e| e.value).collect()),
            _ => None,
        };
        let prefs = match f.to_prefs(known.as_deref()) {
            Ok(p) => p,
            Err(e) => {
                focus_first_error(&e, &SettingsForm::FIELDS);
                errors.set(e);
                return;
            }
        };
        errors.set(FormErrors::default());
        busy.set(true);
        spawn_local(async move {
            match api::save_preferences(&prefs).await {
                Ok(saved) => {
                    form.set(Some(SettingsForm::from_prefs(&saved)));
                    ctx.lang.set(saved.app_language);
                    ctx.say(K::SettingsSaved);
                }
                Err(e) => {
                    let fe = FormErrors::from_api(&e, &SettingsForm::FIELDS);
                    focus_first_error(&fe, &SettingsForm::FIELDS);
                    errors.set(fe);
                }
            }
            busy.set(false);
        });
    };

    let loaded = Memo::new(move |_| form.with(Option::is_some));
    view! {
        {dynamic(move || load_error.get().map(|m| view! { <p class="action-error" role="alert">{m}</p> }))}
        {dynamic(move || form.with(|f| f.is_none()).then(|| view! { <p class="muted">{ctx.tx(K::Loading)}</p> }))}
        // Built once the preferences are loaded, and kept while they are edited: the closure reads
        // only the memo, which changes when loading finishes (a plain closure, not `<Show>`, whose
        // children machinery costs WASM size).
        {dynamic(move || loaded.get().then(|| view! {
            <form class="form" on:submit=handler(submit) novalidate=true>
                {direction(ctx, form, types, errors, Dir::OutlookToCrm, K::OutlookToCrm)}
                {direction(ctx, form, types, errors, Dir::CrmToOutlook, K::CrmToOutlook)}
                {languages(ctx, form)}
                {calendar(ctx, form, types, errors)}
                <div class="actions sticky">
                    <button type="submit" class="primary" disabled=move || busy.get() aria-describedby="settings-error">
                        {dynamic(move || (if busy.get() { ctx.t(K::Saving) } else { ctx.t(K::Save) }).into_any())}
                    </button>
                    {action_error(ctx, errors, "settings-error")}
                </div>
                <p class="hint">{ctx.tx(K::SettingsTakeEffect)}</p>
            </form>
        }))}
    }
}

fn get<T: 'static>(
    form: RwSignal<Option<SettingsForm>>,
    f: impl Fn(&SettingsForm) -> T,
) -> Option<T> {
    form.with(|s| s.as_ref().map(f))
}

fn set(form: RwSignal<Option<SettingsForm>>, f: impl FnOnce(&mut SettingsForm)) {
    form.update(|s| {
        if let Some(s) = s.as_mut() {
            f(s)
        }
    });
}

fn direction(
    ctx: Ctx,
    form: RwSignal<Option<SettingsForm>>,
    types: RwSignal<Load<Vec<PicklistEntry>>>,
    errors: RwSignal<FormErrors>,
    d: Dir,
    title: K,
) -> impl IntoView {
    let [history, future, create, edit] = d.fields();
    view! {
        <fieldset class="section">
            <legend>{ctx.tx(title)}</legend>
            <div class="row">
                {days_field(ctx, K::HistoryDays, HISTORY_DAYS_MAX, history, errors,
                    move || get(form, |f| f.dir(d).history_days.clone()).unwrap_or_default(),
                    move |v| set(form, |f| f.dir_mut(d).history_days = v))}
                {days_field(ctx, K::FutureDays, FUTURE_DAYS_MAX, future, errors,
                    move || get(form, |f| f.dir(d).future_days.clone()).unwrap_or_default(),
                    move |v| set(form, |f| f.dir_mut(d).future_days = v))}
            </div>
            {type_list(ctx, form, types, errors, d, TypeList::Create, K::CreateNew, K::CreateNewHint, create)}
            {type_list(ctx, form, types, errors, d, TypeList::EditDelete, K::EditDelete, K::EditDeleteHint, edit)}
        </fieldset>
    }
}

/// A multi-select of activity types as a group of checkboxes (keyboard and screen-reader friendly),
/// with "all" and "none".
#[expect(
    clippy::too_many_arguments,
    reason = "one argument per field property keeps call sites flat"
)]
fn type_list(
    ctx: Ctx,
    form: RwSignal<Option<SettingsForm>>,
    types: RwSignal<Load<Vec<PicklistEntry>>>,
    errors: RwSignal<FormErrors>,
    d: Dir,
    list: TypeList,
    label: K,
    hint: K,
    name: &'static str,
) -> impl IntoView {
    let all = move |on: bool| {
        let values: Vec<String> = match types.get_untracked() {
            Load::Ready(l) if on => l.into_iter().map(|e| e.value).collect(),
            _ => Vec::new(),
        };
        set(form, |f| {
            f.set_all_types(d, list, values.iter().map(String::as_str))
        });
    };
    view! {
        <fieldset class="types" id=name aria-describedby=format!("{name}-hint {name}-error")>
            <legend>{ctx.tx(label)}</legend>
            <p class="hint" id=format!("{name}-hint")>{ctx.tx(hint)}</p>
            <div class="type-buttons">
                <button type="button" class="link" on:click=handler(move |_| all(true))>{ctx.tx(K::SelectAll)}</button>
                <button type="button" class="link" on:click=handler(move |_| all(false))>{ctx.tx(K::SelectNone)}</button>
            </div>
            <div class="checks">
                {dynamic(move || match types.get() {
                    Load::Ready(entries) => entries
                        .into_iter()
                        .map(|e| {
                            let id = format!("{name}-{}", e.value);
                            let value = e.value.clone();
                            let value2 = e.value.clone();
                            view! {
                                <div class="check">
                                    <input
                                        type="checkbox"
                                        id=id.clone()
                                        prop:checked=move || get(form, |f| f.types(d, list).contains(&value)).unwrap_or(false)
                                        on:change=handler(move |ev| {
                                            let on = event_target_checked(&ev);
                                            set(form, |f| f.toggle_type(d, list, &value2, on))
                                        })
                                    />
                                    <label for=id>{e.label}</label>
                                </div>
                            }
                        })
                        .map(IntoAny::into_any).collect_view()
                        .into_any(),
                    Load::Loading => view! { <p class="muted">{ctx.tx(K::Loading)}</p> }.into_any(),
                    Load::Failed(m) => view! { <p class="action-error">{m}</p> }.into_any(),
                })}
            </div>
            {field_error(ctx, errors, name)}
        </fieldset>
    }
}

fn languages(ctx: Ctx, form: RwSignal<Option<SettingsForm>>) -> impl IntoView {
    view! {
        <fieldset class="section">
            <legend>{ctx.tx(K::Languages)}</legend>
            <div class="field">
                <label for="app_language">{ctx.tx(K::AppLanguage)}</label>
                <select
                    id="app_language"
                    prop:value=move || get(form, |f| f.app_language.code()).unwrap_or("fi")
                    on:change=handler(move |ev| {
                        let lang = UiLanguage::from_tag(&event_target_value(&ev));
                        set(form, |f| f.app_language = lang);
                        // At once, without a reload; saved with the form.
                        ctx.lang.set(lang);
                    })
                >
                    <option value="fi" lang="fi">"Suomi"</option>
                    <option value="en" lang="en">"English"</option>
                </select>
            </div>
            <div class="field">
                <label for="picklist_language">{ctx.tx(K::PicklistLanguage)}</label>
                <select
                    id="picklist_language"
                    prop:value=move || get(form, |f| f.picklist_language.code()).unwrap_or("fi")
                    on:change=handler(move |ev| {
                        if let Some(l) = Language::from_code(&event_target_value(&ev)) {
                            set(form, |f| f.picklist_language = l);
                        }
                    })
                >
                    <option value="fi" lang="fi">"Suomi"</option>
                    <option value="en" lang="en">"English"</option>
                    <option value="sv" lang="sv">"Svenska"</option>
                </select>
            </div>
        </fieldset>
    }
}

fn calendar(
    ctx: Ctx,
    form: RwSignal<Option<SettingsForm>>,
    types: RwSignal<Load<Vec<PicklistEntry>>>,
    errors: RwSignal<FormErrors>,
) -> impl IntoView {
    let remembered = move || ctx.login.get().is_some_and(|l| l.remembered);
    let default_invalid =
        move || errors.with(|e| e.fields.contains_key(fields::DEFAULT_ACTIVITY_TYPE));
    view! {
        <fieldset class="section">
            <legend>{ctx.tx(K::CalendarSection)}</legend>
            {check_field(ctx, K::AutoSync, Some(K::AutoSyncHint), "auto_sync",
                move || get(form, |f| f.auto_sync).unwrap_or(false), move |v| set(form, |f| f.auto_sync = v))}
            {check_field(ctx, K::LoginAtStart, Some(K::LoginAtStartHint), "login_at_start",
                move || get(form, |f| f.login_at_start).unwrap_or(false), move |v| set(form, |f| f.login_at_start = v))}
            {dynamic(move || (get(form, |f| f.login_at_start).unwrap_or(false) && !remembered()).then(|| view! {
                <p class="warning small">
                    {ctx.tx(K::LoginAtStartNeedsRemember)} " "
                    <a href=Route::Login.hash()>{ctx.tx(K::NavLogin)}</a>
                </p>
            }))}
            {check_field(ctx, K::AddContacts, None, "add_contacts_to_address_book",
                move || get(form, |f| f.add_contacts_to_address_book).unwrap_or(false),
                move |v| set(form, |f| f.add_contacts_to_address_book = v))}
            {check_field(ctx, K::SendErrorReports, None, "send_error_reports",
                move || get(form, |f| f.send_error_reports).unwrap_or(false), move |v| set(form, |f| f.send_error_reports = v))}
            <fieldset class="radios">
                <legend>{ctx.tx(K::PrivateEntries)}</legend>
                {PrivateEntries::ALL
                    .into_iter()
                    .map(|mode| {
                        let id = format!("private-{}", mode.code());
                        let label = match mode {
                            PrivateEntries::Full => K::PrivateFull,
                            PrivateEntries::Busy => K::PrivateBusy,
                            PrivateEntries::Skip => K::PrivateSkip,
                        };
                        view! {
                            <div class="check">
                                <input
                                    type="radio"
                                    name="private_entries"
                                    id=id.clone()
                                    prop:checked=move || get(form, |f| f.private_entries == mode).unwrap_or(false)
                                    on:change=handler(move |_| set(form, |f| f.private_entries = mode))
                                />
                                <label for=id>{ctx.tx(label)}</label>
                            </div>
                        }
                    })
                    .map(IntoAny::into_any).collect_view()}
            </fieldset>
            {check_field(ctx, K::ShowCustomerRelations, Some(K::ShowCustomerRelationsHint), "show_customer_relations",
                move || get(form, |f| f.show_customer_relations).unwrap_or(false),
                move |v| set(form, |f| f.show_customer_relations = v))}
            <div class="field" class:invalid=default_invalid>
                <label for=fields::DEFAULT_ACTIVITY_TYPE>{ctx.tx(K::DefaultActivityType)}</label>
                <select
                    id=fields::DEFAULT_ACTIVITY_TYPE
                    aria-invalid=move || if default_invalid() { "true" } else { "false" }
                    aria-describedby="default_activity_type-hint default_activity_type-error"
                    prop:value=move || {
                        // Re-applied when the options arrive, as well as when the form changes.
                        types.track();
                        get(form, |f| f.default_activity_type.clone()).unwrap_or_default()
                    }
                    on:change=handler(move |ev| { let v = event_target_value(&ev); set(form, |f| f.default_activity_type = v) })
                >
                    <option value="">{ctx.tx(K::EmptyChoice)}</option>
                    // The options follow the activity types only: not rebuilt on every change of the form.
                    {dynamic(move || {
                        let current = form
                            .with_untracked(|f| f.as_ref().map(|f| f.default_activity_type.clone()))
                            .unwrap_or_default();
                        match types.get() {
                            Load::Ready(entries) => entries
                                .into_iter()
                                .map(|e| {
                                    let selected = e.value == current;
                                    view! { <option value=e.value prop:selected=selected>{e.label}</option> }
                                })
                                .map(IntoAny::into_any).collect_view()
                                .into_any(),
                            _ => ().into_any(),
                        }
                    })}
                </select>
                <p class="hint" id="default_activity_type-hint">{ctx.tx(K::DefaultActivityTypeHint)}</p>
                {field_error(ctx, errors, fields::DEFAULT_ACTIVITY_TYPE)}
            </div>
            {dynamic(move || {
                get(form, SettingsForm::warnings)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|w| {
                        let k = match w {
                            Warning::EmptyDefaultType => K::WarnEmptyDefaultType,
                            Warning::NothingCreated => K::WarnNothingCreated,
                        };
                        view! { <p class="warning small">{ctx.tx(k)}</p> }
                    })
                    .map(IntoAny::into_any).collect_view()
            })}
            {check_field(ctx, K::EmailTracking, Some(K::EmailTrackingHint), "email_tracking",
                move || get(form, |f| f.email_tracking).unwrap_or(false), move |v| set(form, |f| f.email_tracking = v))}
        </fieldset>
    }
}
