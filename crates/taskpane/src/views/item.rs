//! "Link to CRM": the open appointment as a CRM activity (type, status, companies, contacts, projects,
//! sync state), or the open message with "Save to CRM".

use api_types::items::{ItemInfo, SyncState};
use api_types::messages::{MessageInfo, SaveMessageRequest, SavedAttachment};
use api_types::picklists::PicklistEntry;
use api_types::preferences::Language;
use api_types::relations::{Relation, RelationKind, RelationSearchQuery};
use api_types::validation::{self, fields};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::widgets::{
    action_error, check_field, dynamic, field_error, focus_first_error, handler, needs_pairing,
};
use crate::app::{Ctx, Load, ctx};
use crate::forms::{FormErrors, ItemForm, RELATION_KINDS, visible_hits};
use crate::i18n::K;
use crate::office::{self, Host, OfficeItem};
use crate::{api, browser};

#[component]
pub fn ItemView() -> impl IntoView {
    let ctx = ctx();
    view! {
        <section aria-labelledby="item-title">
            <h2 id="item-title">{ctx.tx(K::NavItem)}</h2>
            {dynamic(move || {
                if !ctx.is_paired() {
                    return needs_pairing(ctx).into_any();
                }
                match ctx.item.get() {
                    None => view! { <NoItem/> }.into_any(),
                    Some(OfficeItem { id: None, .. }) => view! { <UnsavedItem/> }.into_any(),
                    Some(OfficeItem { id: Some(id), is_message: true, subject, .. }) => {
                        view! { <MessageView id=id subject=subject/> }.into_any()
                    }
                    Some(OfficeItem { id: Some(id), subject, .. }) => {
                        view! { <AppointmentView id=id subject=subject/> }.into_any()
                    }
                }
            })}
        </section>
    }
}

/// No item open. In browser preview, an item id can be typed in to work on it.
#[component]
fn NoItem() -> impl IntoView {
    let ctx = ctx();
    let id = RwSignal::new(String::new());
    let is_message = RwSignal::new(false);
    let open = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let v = id.get_untracked().trim().to_owned();
        if v.is_empty() {
            browser::focus("preview-item-id");
            return;
        }
        ctx.item.set(Some(OfficeItem {
            id: Some(v),
            is_message: is_message.get_untracked(),
            subject: String::new(),
            internet_message_id: None,
        }));
    };
    view! {
        <p class="notice">{ctx.tx(K::NoItemOpen)}</p>
        {dynamic(move || matches!(ctx.host.get(), Some(Host::Preview)).then(|| view! {
            <form class="form" on:submit=handler(open)>
                <div class="field">
                    <label for="preview-item-id">{ctx.tx(K::PreviewItemId)}</label>
                    <input id="preview-item-id" type="text" prop:value=move || id.get() on:input=handler(move |ev| id.set(event_target_value(&ev)))/>
                </div>
                <div class="check">
                    <input type="checkbox" id="preview-item-message" prop:checked=move || is_message.get() on:change=handler(move |ev| is_message.set(event_target_checked(&ev)))/>
                    <label for="preview-item-message">{ctx.tx(K::PreviewItemIsMessage)}</label>
                </div>
                <div class="actions"><button type="submit">{ctx.tx(K::Open)}</button></div>
            </form>
        }))}
    }
}

/// A new appointment has no id until it is saved.
#[component]
fn UnsavedItem() -> impl IntoView {
    let ctx = ctx();
    let error = RwSignal::new(None::<String>);
    let save = move |_| {
        spawn_local(async move {
            match office::save_current_item().await {
                Ok(id) => ctx.item.update(|i| {
                    if let Some(i) = i {
                        i.id = Some(id);
                    }
                }),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <p class="notice">{ctx.tx(K::UnsavedItem)}</p>
        <div class="actions">
            <button type="button" class="primary" on:click=handler(save)>{ctx.tx(K::SaveItemFirst)}</button>
            <p class="action-error" role="alert">{dynamic(move || error.get())}</p>
        </div>
    }
}

/// Settings the item screens need: picklist language and "show customer relations by default".
fn load_prefs(
    lang: RwSignal<Language>,
    show_related: RwSignal<bool>,
    then: impl FnOnce(Language) + 'static,
) {
    spawn_local(async move {
        let l = match api::preferences().await {
            Ok(p) => {
                show_related.set(p.show_customer_relations);
                p.picklist_language
            }
            Err(_) => Language::Fi,
        };
        lang.set(l);
        then(l);
    });
}

fn state_label(s: SyncState) -> K {
    match s {
        SyncState::Synced => K::StateSynced,
        SyncState::Pending => K::StatePending,
        SyncState::Excluded => K::StateExcluded,
        SyncState::Conflict => K::StateConflict,
        SyncState::Error => K::StateError,
    }
}

fn state_class(s: SyncState) -> &'static str {
    match s {
        SyncState::Synced => "badge ok",
        SyncState::Pending => "badge info",
        SyncState::Excluded => "badge muted",
        SyncState::Conflict => "badge warn",
        SyncState::Error => "badge bad",
    }
}

fn picklist_select(
    ctx: Ctx,
    label: K,
    name: &'static str,
    entries: RwSignal<Vec<PicklistEntry>>,
    errors: RwSignal<FormErrors>,
    get: impl Fn() -> String + Send + Sync + Copy + 'static,
    set: impl Fn(String) + Send + Sync + 'static,
) -> impl IntoView {
    let invalid = move || errors.with(|e| e.fields.contains_key(name));
    view! {
        <div class="field" class:invalid=invalid>
            <label for=name>{ctx.tx(label)}</label>
            <select
                id=name
                aria-invalid=move || if invalid() { "true" } else { "false" }
                aria-describedby=format!("{name}-error")
                prop:value=get
                on:change=handler(move |ev| set(event_target_value(&ev)))
            >
                <option value="">{ctx.tx(K::EmptyChoice)}</option>
                {dynamic(move || {
                    let current = get();
                    entries
                        .get()
                        .into_iter()
                        .map(|e| {
                            let selected = e.value == current;
                            view! { <option value=e.value selected=selected>{e.label}</option> }
                        })
                        .map(IntoAny::into_any).collect_view()
                })}
            </select>
            {field_error(ctx, errors, name)}
        </div>
    }
}

#[component]
fn AppointmentView(id: String, subject: String) -> impl IntoView {
    let ctx = ctx();
    let info: RwSignal<Load<ItemInfo>> = RwSignal::new(Load::Loading);
    let form = RwSignal::new(ItemForm::default());
    let types = RwSignal::new(Vec::<PicklistEntry>::new());
    let statuses = RwSignal::new(Vec::<PicklistEntry>::new());
    let lang = RwSignal::new(Language::Fi);
    let show_related = RwSignal::new(false);
    let errors = RwSignal::new(FormErrors::default());
    let busy = RwSignal::new(false);
    let event_id = StoredValue::new(id.clone());

    load_prefs(lang, show_related, move |l| {
        spawn_local(async move {
            if let Ok(t) = api::activity_types(l).await {
                types.set(t);
            }
            if let Ok(s) = api::activity_statuses(l).await {
                statuses.set(s);
            }
        });
    });
    spawn_local(async move {
        match api::item(&id).await {
            Ok(i) => {
                form.set(ItemForm::from_info(&i));
                info.set(Load::Ready(i));
            }
            Err(e) => info.set(Load::Failed(e.message)),
        }
    });

    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let known_types: Vec<String> = types.get_untracked().into_iter().map(|e| e.value).collect();
        let known_statuses: Vec<String> = statuses
            .get_untracked()
            .into_iter()
            .map(|e| e.value)
            .collect();
        let update = match form.with_untracked(|f| {
            f.to_update(
                Some(known_types.as_slice()).filter(|k| !k.is_empty()),
                Some(known_statuses.as_slice()).filter(|k| !k.is_empty()),
            )
        }) {
            Ok(u) => u,
            Err(e) => {
                focus_first_error(&e, &ItemForm::FIELDS);
                errors.set(e);
                return;
            }
        };
        errors.set(FormErrors::default());
        busy.set(true);
        spawn_local(async move {
            match api::save_item(&event_id.get_value(), &update).await {
                Ok(i) => {
                    form.set(ItemForm::from_info(&i));
                    info.set(Load::Ready(i));
                    ctx.say(K::ItemSaved);
                }
                Err(e) => {
                    let fe = FormErrors::from_api(&e, &ItemForm::FIELDS);
                    focus_first_error(&fe, &ItemForm::FIELDS);
                    errors.set(fe);
                }
            }
            busy.set(false);
        });
    };

    view! {
        {(!subject.is_empty()).then(|| view! { <p class="subject">{subject}</p> })}
        {dynamic(move || match info.get() {
            Load::Loading => view! { <p class="muted">{ctx.tx(K::Loading)}</p> }.into_any(),
            Load::Failed(m) => view! { <p class="action-error" role="alert">{m}</p> }.into_any(),
            Load::Ready(i) => view! {
                <div class="sync-state" role="status">
                    <span class="label">{ctx.tx(K::SyncState)}</span>
                    <span class=state_class(i.sync_state)>{ctx.tx(state_label(i.sync_state))}</span>
                    {i.reason.map(|r| view! { <p class="reason">{r}</p> })}
                    {i.crm_url.map(|u| view! {
                        <a href=u target="_blank" rel="noopener">{ctx.tx(K::OpenInCrm)}</a>
                    })}
                </div>
                {i.type_is_default.then(|| view! { <p class="hint">{ctx.tx(K::TypeFromDefault)}</p> })}
            }.into_any(),
        })}
        <form class="form" on:submit=handler(save) novalidate=true>
            {picklist_select(ctx, K::ActivityType, fields::ACTIVITY_TYPE, types, errors,
                move || form.with(|f| f.activity_type.clone()), move |v| form.update(|f| f.activity_type = v))}
            {dynamic(move || form.with(|f| f.activity_type.is_empty()).then(|| view! {
                <p class="warning small">{ctx.tx(K::NoTypeNoSync)}</p>
            }))}
            {picklist_select(ctx, K::ActivityStatus, fields::STATUS, statuses, errors,
                move || form.with(|f| f.status.clone()), move |v| form.update(|f| f.status = v))}
            {RELATION_KINDS.into_iter().map(|kind| view! { <RelationPicker kind=kind form=form show_related=show_related/> }).map(IntoAny::into_any).collect_view()}
            {field_error(ctx, errors, fields::RELATIONS)}
            <div class="actions">
                <button type="submit" class="primary" disabled=move || busy.get() aria-describedby="item-error">
                    {dynamic(move || if busy.get() { ctx.t(K::Saving) } else { ctx.t(K::SaveToCrm) })}
                </button>
                {action_error(ctx, errors, "item-error")}
            </div>
        </form>
    }
}

#[component]
fn MessageView(id: String, subject: String) -> impl IntoView {
    let ctx = ctx();
    let info: RwSignal<Load<MessageInfo>> = RwSignal::new(Load::Loading);
    let form = RwSignal::new(ItemForm::default());
    let lang = RwSignal::new(Language::Fi);
    let show_related = RwSignal::new(false);
    let errors = RwSignal::new(FormErrors::default());
    let busy = RwSignal::new(false);
    let message_id = StoredValue::new(id.clone());
    let not_uploaded: RwSignal<Vec<SavedAttachment>> = RwSignal::new(Vec::new());

    load_prefs(lang, show_related, |_| {});
    spawn_local(async move {
        match api::message(&id).await {
            Ok(m) => {
                form.update(|f| f.relations = m.relations.clone());
                info.set(Load::Ready(m));
            }
            Err(e) => info.set(Load::Failed(e.message)),
        }
    });

    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let req = form.with_untracked(|f| SaveMessageRequest {
            relations: f.relations.clone(),
            include_attachments: f.include_attachments,
        });
        busy.set(true);
        errors.set(FormErrors::default());
        spawn_local(async move {
            match api::save_message(&message_id.get_value(), &req).await {
                Ok(r) => {
                    not_uploaded.set(r.not_uploaded().cloned().collect());
                    info.update(|i| {
                        if let Load::Ready(m) = i {
                            m.saved = r.saved;
                            m.crm_email_id = Some(r.crm_email_id.clone());
                            m.crm_url = r.crm_url.clone();
                        }
                    });
                    ctx.say(if r.already_saved {
                        K::MessageAlreadySaved
                    } else {
                        K::MessageSaved
                    });
                }
                Err(e) => errors.set(FormErrors::from_api(&e, &ItemForm::FIELDS)),
            }
            busy.set(false);
        });
    };

    view! {
        {(!subject.is_empty()).then(|| view! { <p class="subject">{subject}</p> })}
        {dynamic(move || match info.get() {
            Load::Loading => view! { <p class="muted">{ctx.tx(K::Loading)}</p> }.into_any(),
            Load::Failed(m) => view! { <p class="action-error" role="alert">{m}</p> }.into_any(),
            Load::Ready(m) => view! {
                <div class="sync-state" role="status">
                    <span class=if m.saved { "badge ok" } else { "badge muted" }>
                        {ctx.tx(if m.saved { K::MessageIsSaved } else { K::MessageNotSaved })}
                    </span>
                    {m.crm_url.map(|u| view! { <a href=u target="_blank" rel="noopener">{ctx.tx(K::OpenInCrm)}</a> })}
                </div>
            }.into_any(),
        })}
        {dynamic(move || {
            let list = not_uploaded.get();
            (!list.is_empty()).then(|| view! {
                <div class="warning small" role="alert">
                    <p>{ctx.tx(K::AttachmentsNotSaved)}</p>
                    <ul>{list.into_iter().map(|a| view! { <li>{a.message.unwrap_or(a.name)}</li> }).map(IntoAny::into_any).collect_view()}</ul>
                </div>
            })
        })}
        <form class="form" on:submit=handler(save) novalidate=true>
            {RELATION_KINDS.into_iter().map(|kind| view! { <RelationPicker kind=kind form=form show_related=show_related/> }).map(IntoAny::into_any).collect_view()}
            {field_error(ctx, errors, fields::RELATIONS)}
            {check_field(ctx, K::IncludeAttachments, None, "include_attachments",
                move || form.with(|f| f.include_attachments), move |v| form.update(|f| f.include_attachments = v))}
            <div class="actions">
                <button type="submit" class="primary" disabled=move || busy.get() aria-describedby="message-error">
                    {dynamic(move || if busy.get() { ctx.t(K::Saving) } else { ctx.t(K::SaveToCrm) })}
                </button>
                {action_error(ctx, errors, "message-error")}
            </div>
        </form>
    }
}

fn kind_label(kind: RelationKind) -> K {
    match kind {
        RelationKind::Accounts => K::Companies,
        RelationKind::Contacts => K::Contacts,
        RelationKind::Projects => K::Projects,
        RelationKind::Potentials => K::Potentials,
    }
}

/// One multi-entity field: chosen entities as removable chips, a search box, and hits with entities
/// related to those already chosen (in any field) first. With "show customer relations by default" the
/// related ones appear on focus, before anything is typed.
#[component]
fn RelationPicker(
    kind: RelationKind,
    form: RwSignal<ItemForm>,
    show_related: RwSignal<bool>,
) -> impl IntoView {
    let ctx = ctx();
    let q = RwSignal::new(String::new());
    let hits = RwSignal::new(Vec::<Relation>::new());
    let error = RwSignal::new(None::<String>);
    let seq = RwSignal::new(0u32);
    let input_id = format!("rel-{}", kind.code());
    let list_id = format!("rel-{}-hits", kind.code());

    let search = move |text: String| {
        if let Err(e) = validation::validate_search_query(&text) {
            error.set(Some(e.message(ctx.lang.get_untracked())));
            return;
        }
        error.set(None);
        let related = form.with_untracked(|f| RelationSearchQuery::join_ids(f.relations.all_ids()));
        if text.trim().is_empty() && !(show_related.get_untracked() && related.is_some()) {
            hits.set(Vec::new());
            return;
        }
        let my = seq.get_untracked() + 1;
        seq.set(my);
        spawn_local(async move {
            let r = api::search_relations(kind, &text, related.as_deref()).await;
            if seq.get_untracked() != my {
                return; // a newer search is under way
            }
            match r {
                Ok(list) => hits.set(list),
                Err(e) => error.set(Some(e.message)),
            }
        });
    };

    let pick = move |r: Relation| {
        form.update(|f| {
            f.add_relation(&r);
        });
        q.set(String::new());
        hits.set(Vec::new());
        ctx.say(K::RelationAdded);
        // Offer what is related to the new choice right away.
        if show_related.get_untracked() {
            search(String::new());
        }
    };

    let input_id2 = input_id.clone();
    view! {
        <div class="field relation">
            <label for=input_id.clone()>{ctx.tx(kind_label(kind))}</label>
            <ul class="chips" aria-label=ctx.tx(kind_label(kind))>
                {dynamic(move || {
                    form.with(|f| f.relations.list(kind).cloned().unwrap_or_default())
                        .into_iter()
                        .map(|r| {
                            let id = r.id.clone();
                            let name = r.name.clone();
                            view! {
                                <li class="chip">
                                    <span>{r.name}</span>
                                    <button
                                        type="button"
                                        class="chip-remove"
                                        aria-label=move || format!("{} {}", ctx.t(K::Remove), name)
                                        on:click=handler(move |_| form.update(|f| f.remove_relation(kind, &id)))
                                    >
                                        "×"
                                    </button>
                                </li>
                            }
                        })
                        .map(IntoAny::into_any).collect_view()
                })}
            </ul>
            <input
                id=input_id2
                type="search"
                autocomplete="off"
                placeholder=ctx.tx(K::SearchPlaceholder)
                aria-controls=list_id.clone()
                prop:value=move || q.get()
                on:input=handler(move |ev| {
                    let v = event_target_value(&ev);
                    q.set(v.clone());
                    search(v);
                })
                on:focus=handler(move |_| {
                    if q.get_untracked().is_empty() {
                        search(String::new());
                    }
                })
                on:keydown=handler(move |ev: leptos::ev::KeyboardEvent| {
                    if ev.key() == "Escape" {
                        hits.set(Vec::new());
                    }
                })
            />
            <p class="field-error">{dynamic(move || error.get())}</p>
            <ul class="hits" id=list_id>
                {dynamic(move || {
                    let chosen = form.with(|f| f.relations.list(kind).cloned().unwrap_or_default());
                    visible_hits(&hits.get(), &chosen)
                        .into_iter()
                        .map(|h| {
                            let detail = h.detail.clone();
                            let related = h.related;
                            let name = h.name.clone();
                            view! {
                                <li>
                                    <button type="button" class="hit" on:click=handler(move |_| pick(h.clone()))>
                                        <span class="name">{name}</span>
                                        {detail.map(|d| view! { <span class="detail">{d}</span> })}
                                        {related.then(|| view! { <span class="badge info">{ctx.tx(K::Related)}</span> })}
                                    </button>
                                </li>
                            }
                        })
                        .map(IntoAny::into_any).collect_view()
                })}
            </ul>
        </div>
    }
}
