//! Form pieces shared by the screens: labelled inputs with their error right below (linked with
//! `aria-describedby`, marked `aria-invalid`), checkboxes, and the action error/status line.

use std::sync::Arc;

use leptos::prelude::*;

use crate::app::Ctx;
use crate::forms::FormErrors;
use crate::i18n::K;

pub fn err_id(name: &str) -> String {
    format!("{name}-error")
}

/// The message under a field (empty when none).
pub fn field_error(ctx: Ctx, errors: RwSignal<FormErrors>, name: &'static str) -> impl IntoView {
    view! {
        <p class="field-error" id=err_id(name)>
            {dynamic(move || errors.with(|e| e.field(name, ctx.lang.get())))}
        </p>
    }
}

type Getter<T> = Arc<dyn Fn() -> T + Send + Sync>;
type Setter<T> = Arc<dyn Fn(T) + Send + Sync>;

/// A labelled text input. (The generic wrappers box their closures and call one non-generic body, so
/// each view is compiled once, not once per field: WASM size.)
#[expect(
    clippy::too_many_arguments,
    reason = "one argument per field property keeps call sites flat"
)]
pub fn text_field(
    ctx: Ctx,
    label: K,
    hint: Option<K>,
    name: &'static str,
    input_type: &'static str,
    autocomplete: &'static str,
    errors: RwSignal<FormErrors>,
    get: impl Fn() -> String + Send + Sync + 'static,
    set: impl Fn(String) + Send + Sync + 'static,
) -> AnyView {
    text_field_erased(
        ctx,
        label,
        hint,
        name,
        input_type,
        autocomplete,
        errors,
        Arc::new(get),
        Arc::new(set),
    )
}

#[expect(clippy::too_many_arguments, reason = "see text_field")]
fn text_field_erased(
    ctx: Ctx,
    label: K,
    hint: Option<K>,
    name: &'static str,
    input_type: &'static str,
    autocomplete: &'static str,
    errors: RwSignal<FormErrors>,
    get: Getter<String>,
    set: Setter<String>,
) -> AnyView {
    let invalid = move || errors.with(|e| e.fields.contains_key(name));
    let hint_id = format!("{name}-hint");
    let described = if hint.is_some() {
        format!("{hint_id} {}", err_id(name))
    } else {
        err_id(name)
    };
    view! {
        <div class="field" class:invalid=invalid>
            <label for=name>{ctx.tx(label)}</label>
            <input
                id=name
                name=name
                type=input_type
                autocomplete=autocomplete
                prop:value=move || get()
                aria-invalid=move || if invalid() { "true" } else { "false" }
                aria-describedby=described
                on:input=handler(move |ev| set(event_target_value(&ev)))
            />
            {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{ctx.tx(h)}</p> })}
            {field_error(ctx, errors, name)}
        </div>
    }
    .into_any()
}

/// A days field with its limit in the hint.
pub fn days_field(
    ctx: Ctx,
    label: K,
    max: u16,
    name: &'static str,
    errors: RwSignal<FormErrors>,
    get: impl Fn() -> String + Send + Sync + 'static,
    set: impl Fn(String) + Send + Sync + 'static,
) -> AnyView {
    days_field_erased(ctx, label, max, name, errors, Arc::new(get), Arc::new(set))
}

fn days_field_erased(
    ctx: Ctx,
    label: K,
    max: u16,
    name: &'static str,
    errors: RwSignal<FormErrors>,
    get: Getter<String>,
    set: Setter<String>,
) -> AnyView {
    let invalid = move || errors.with(|e| e.fields.contains_key(name));
    let hint_id = format!("{name}-hint");
    view! {
        <div class="field days" class:invalid=invalid>
            <label for=name>{ctx.tx(label)}</label>
            <div class="with-unit">
                <input
                    id=name
                    name=name
                    type="number"
                    inputmode="numeric"
                    min="0"
                    max=max.to_string()
                    step="1"
                    prop:value=move || get()
                    aria-invalid=move || if invalid() { "true" } else { "false" }
                    aria-describedby=format!("{hint_id} {}", err_id(name))
                    on:input=handler(move |ev| set(event_target_value(&ev)))
                />
                <span class="unit" id=hint_id>{dynamic(move || format!("{} (0–{max})", ctx.t(K::Days)))}</span>
            </div>
            {field_error(ctx, errors, name)}
        </div>
    }
    .into_any()
}

/// A checkbox with its label (and an optional hint below).
pub fn check_field(
    ctx: Ctx,
    label: K,
    hint: Option<K>,
    id: &'static str,
    get: impl Fn() -> bool + Send + Sync + 'static,
    set: impl Fn(bool) + Send + Sync + 'static,
) -> AnyView {
    check_field_erased(ctx, label, hint, id, Arc::new(get), Arc::new(set))
}

fn check_field_erased(
    ctx: Ctx,
    label: K,
    hint: Option<K>,
    id: &'static str,
    get: Getter<bool>,
    set: Setter<bool>,
) -> AnyView {
    let hint_id = format!("{id}-hint");
    view! {
        <div class="check">
            <input
                type="checkbox"
                id=id
                prop:checked=move || get()
                aria-describedby=hint.map(|_| hint_id.clone())
                on:change=handler(move |ev| set(event_target_checked(&ev)))
            />
            <label for=id>{ctx.tx(label)}</label>
            {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{ctx.tx(h)}</p> })}
        </div>
    }
    .into_any()
}

/// The error of the whole action, shown next to its button.
pub fn action_error(ctx: Ctx, errors: RwSignal<FormErrors>, id: &'static str) -> impl IntoView {
    view! {
        <p class="action-error" id=id role="alert">
            {dynamic(move || errors.with(|e| e.action_text(ctx.lang.get())))}
        </p>
    }
}

/// Shown when a screen needs a pairing first.
pub fn needs_pairing(ctx: Ctx) -> impl IntoView {
    view! {
        <div class="notice">
            <p>{ctx.tx(K::NotPairedYet)}</p>
            <a class="button" href=crate::route::Route::Pairing.hash()>{ctx.tx(K::GoToPreferences)}</a>
        </div>
    }
}

/// Focuses the first field with an error, in form order.
pub fn focus_first_error(errors: &FormErrors, order: &[&str]) {
    if let Some(f) = errors.first_field(order) {
        crate::browser::focus(f);
    }
}

/// An event handler as `Box<dyn FnMut(E)>`: every handler of one event kind then has the same type, so
/// Leptos's event-listener code is compiled once per event kind instead of once per handler (WASM size).
pub fn handler<E: 'static>(f: impl FnMut(E) + 'static) -> Box<dyn FnMut(E)> {
    Box::new(f)
}

/// A reactive piece of the view as one boxed type, used as `{dynamic(move || …)}`: every reactive
/// child of the UI then shares one render-effect instantiation instead of compiling its own per
/// closure (WASM size).
pub fn dynamic<V: IntoAny>(
    mut f: impl FnMut() -> V + Send + 'static,
) -> Arc<std::sync::Mutex<dyn FnMut() -> AnyView + Send>> {
    Arc::new(std::sync::Mutex::new(move || f().into_any()))
}
