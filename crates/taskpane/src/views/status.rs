//! Sync status: last runs per direction, counts, conflicts, errors, a live progress bar, "Synkronoi nyt".

use std::time::Duration;

use api_types::sync::{DirectionStatus, RunOutcome, SyncStatus};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::widgets::{action_error, dynamic, handler, needs_pairing};
use crate::app::{Ctx, Load, ctx};
use crate::forms::FormErrors;
use crate::i18n::K;
use crate::{api, browser};

/// How often the status is re-read while the screen is open.
const POLL: Duration = Duration::from_secs(3);

#[component]
pub fn StatusView() -> impl IntoView {
    let ctx = ctx();
    view! {
        <section aria-labelledby="status-title">
            <h2 id="status-title">{ctx.tx(K::NavStatus)}</h2>
            {dynamic(move || if ctx.is_paired() { view! { <Status/> }.into_any() } else { needs_pairing(ctx).into_any() })}
        </section>
    }
}

#[component]
fn Status() -> impl IntoView {
    let ctx = ctx();
    let status: RwSignal<Load<SyncStatus>> = RwSignal::new(Load::Loading);
    let errors = RwSignal::new(FormErrors::default());
    let busy = RwSignal::new(false);

    let reload = move || {
        spawn_local(async move {
            match api::sync_status().await {
                Ok(s) => status.set(Load::Ready(s)),
                Err(e) => {
                    if !matches!(status.get_untracked(), Load::Ready(_)) {
                        status.set(Load::Failed(e.message));
                    }
                }
            }
        });
    };
    reload();
    if let Ok(handle) = set_interval_with_handle(reload, POLL) {
        on_cleanup(move || handle.clear());
    }

    let sync_now = move |_| {
        busy.set(true);
        errors.set(FormErrors::default());
        spawn_local(async move {
            match api::sync_now().await {
                Ok(r) => ctx.say(if r.queued {
                    K::SyncStarted
                } else {
                    K::SyncAlreadyRunning
                }),
                Err(e) => errors.set(FormErrors::from_api(&e, &[])),
            }
            busy.set(false);
            reload();
        });
    };

    view! {
        <div class="actions">
            <button type="button" class="primary" on:click=handler(sync_now) disabled=move || busy.get() aria-describedby="sync-error">
                {ctx.tx(K::SyncNow)}
            </button>
            {action_error(ctx, errors, "sync-error")}
        </div>
        {dynamic(move || match status.get() {
            Load::Loading => view! { <p class="muted">{ctx.tx(K::Loading)}</p> }.into_any(),
            Load::Failed(m) => view! { <p class="action-error" role="alert">{m}</p> }.into_any(),
            Load::Ready(s) => view! {
                <p class=if s.auto_sync_active { "notice success" } else { "notice warn" }>
                    {ctx.tx(if s.auto_sync_active { K::AutoSyncActive } else { K::AutoSyncInactive })}
                    {s.inactive_reason.clone().map(|r| view! { " " {r} })}
                </p>
                {direction(ctx, K::OutlookToCrm, "o2c", s.outlook_to_crm)}
                {direction(ctx, K::CrmToOutlook, "c2o", s.crm_to_outlook)}
            }.into_any(),
        })}
    }
}

fn outcome_label(o: RunOutcome) -> K {
    match o {
        RunOutcome::Running => K::OutcomeRunning,
        RunOutcome::Ok => K::OutcomeOk,
        RunOutcome::Partial => K::OutcomePartial,
        RunOutcome::Failed => K::OutcomeFailed,
        RunOutcome::Unknown => K::OutcomeUnknown,
    }
}

fn direction(ctx: Ctx, title: K, id: &'static str, d: DirectionStatus) -> impl IntoView {
    let locale = ctx.lang.get_untracked().code();
    let progress = d.progress.map(|p| {
        let label_id = format!("{id}-progress");
        view! {
            <div class="progress">
                <span id=label_id.clone()>{ctx.tx(K::Progress)} " " {format!("{} / {}", p.done, p.total)}</span>
                <progress max=p.total.max(1).to_string() value=p.done.to_string() aria-labelledby=label_id></progress>
            </div>
        }
    });
    let next = d.next_run_at.map(|t| browser::fmt_time(&t, locale));
    let run = d.last_run.map(|run| {
        let started = browser::fmt_time(&run.started_at, locale);
        let finished = run.finished_at.map(|t| browser::fmt_time(&t, locale));
        let c = run.counts;
        let counts = [
            (K::CountCreated, c.created),
            (K::CountUpdated, c.updated),
            (K::CountDeleted, c.deleted),
            (K::CountSkipped, c.skipped),
            (K::CountConflicts, c.conflicts),
            (K::CountErrors, c.errors),
        ];
        view! {
            <dl class="summary">
                <dt>{ctx.tx(K::LastRun)}</dt>
                <dd>{started} {finished.map(|f| format!(" – {f}"))}</dd>
                <dt>{ctx.tx(K::Outcome)}</dt>
                <dd>{ctx.tx(outcome_label(run.outcome))}</dd>
            </dl>
            <table class="counts">
                <tbody>
                    {counts.into_iter().map(|(k, n)| view! {
                        <tr class:nonzero=n != 0><th scope="row">{ctx.tx(k)}</th><td>{n}</td></tr>
                    }).map(IntoAny::into_any).collect_view()}
                </tbody>
            </table>
            {(!run.conflicts.is_empty()).then(|| {
                let conflicts = run.conflicts.clone();
                view! {
                    <h4>{ctx.tx(K::Conflicts)}</h4>
                    <ul class="events">
                        {conflicts.into_iter().map(|c| view! {
                            <li><strong>{c.subject}</strong> ": " {c.resolution}
                                <span class="muted">" (" {browser::fmt_time(&c.at, locale)} ")"</span></li>
                        }).map(IntoAny::into_any).collect_view()}
                    </ul>
                }
            })}
            {(!run.errors.is_empty()).then(|| {
                let errors = run.errors.clone();
                view! {
                    <h4>{ctx.tx(K::Errors)}</h4>
                    <ul class="events errors">
                        {errors.into_iter().map(|e| view! {
                            <li>{e.subject.map(|s| view! { <strong>{s}</strong> ": " })} {e.message}
                                <span class="muted">" (" {browser::fmt_time(&e.at, locale)} ")"</span></li>
                        }).map(IntoAny::into_any).collect_view()}
                    </ul>
                }
            })}
        }
    });
    view! {
        <section class="direction" aria-labelledby=format!("{id}-title")>
            <h3 id=format!("{id}-title")>{ctx.tx(title)}</h3>
            {progress}
            {match run {
                Some(r) => r.into_any(),
                None => view! { <p class="muted">{ctx.tx(K::NoRunsYet)}</p> }.into_any(),
            }}
            {next.map(|n| view! { <p class="hint">{ctx.tx(K::NextRun)} " " {n.clone()}</p> })}
        </section>
    }
}
