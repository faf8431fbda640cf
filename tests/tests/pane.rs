//! The task pane in real headless Chromium against the real server, real Postgres and both simulators
//! (`crm_server::demo::DemoEnv`, in-process). Each test has its own database, server, simulators,
//! chromedriver and browser profile.
//!
//! Needs the pane's WASM in `static/pkg/` (`cargo xtask pane`; `cargo xtask test` builds it first),
//! `/usr/bin/chromedriver` and `/usr/bin/chromium`, and Postgres (`DATABASE_URL` or the local default).
//! Screenshots of each screen land in `target/screenshots/` (stable names: `preferences-step1.png`,
//! `preferences-step1-wrong-password.png`, `preferences-step2.png`, `login.png`, `item.png`,
//! `item-pending.png`, `status.png`, `status-en.png`, `forced-removal.png`, `workbench.png`, ...).
//! `E2E_DRIVER_LOG=<dir>` keeps chromedriver's log with Chromium's console for a failing run; a pane
//! that fails to start fails the test at once with the console's message.

mod support;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use support::{Api, Browser, Product, connect_preview, fill_pairing, log_in, pair, save_pairing};

/// The subjects this test creates must each exist exactly once; every other subject keeps its count.
fn assert_no_duplicates(
    side: &str,
    before: &BTreeMap<String, usize>,
    after: &BTreeMap<String, usize>,
    ours: &[&str],
) {
    for s in ours {
        assert_eq!(after.get(*s), Some(&1), "{side}: {s:?} once, got {after:?}");
    }
    assert_eq!(
        before, after,
        "{side}: the same entries before unpairing and after pairing again"
    );
}

/// After pairing again: syncs both ways twice, then checks both sides with
/// [`assert_no_duplicates`] against what they held before unpairing (`when` names the round).
async fn sync_again_without_duplicates(
    p: &Product,
    when: &str,
    crm_before: &BTreeMap<String, usize>,
    outlook_before: &BTreeMap<String, usize>,
    ours: &[&str],
) {
    let pairing = p.pairing_id().await;
    p.sync_both(pairing).await;
    p.sync_both(pairing).await;
    assert_no_duplicates(
        &format!("CRM{when}"),
        crm_before,
        &support::subject_counts(&p.crm_activities()),
        ours,
    );
    assert_no_duplicates(
        &format!("Outlook{when}"),
        outlook_before,
        &support::subject_counts(&p.outlook_events()),
        ours,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_pairs_syncs_both_ways_switches_language_unpairs_and_re_pairs_without_duplicates()
 {
    let p = Product::start().await;
    let b = Browser::start().await;
    let crm = p.env.demo_crm.clone();

    // Outside Outlook the pane runs in browser preview and first asks which mailbox to act for.
    b.open_pane(&p.preview_url()).await;
    b.wait_for("#preview-mailbox").await;
    assert_eq!(
        b.lang().await,
        "fi",
        "the pane starts in the browser's language (Finnish)"
    );
    b.wait_page_text("Selainesikatselu.").await;
    connect_preview(&b, p.email()).await;

    // Preferences step 1, first with a wrong password.
    b.wait_for("#api_key").await;
    b.wait_text("#prefs-title", "Asetukset").await;
    fill_pairing(&b, &p, "väärä-salasana").await;
    b.screenshot("preferences-step1").await;
    b.click("#pair-save").await;
    b.wait_text(
        "#crm_password-error",
        "Käyttäjätunnus tai salasana on väärin.",
    )
    .await;
    // The message sits next to the password field, which is marked invalid and focused.
    assert_eq!(
        b.js(
            "const err = document.querySelector('#crm_password-error');
             return err.closest('.field') === document.querySelector('#crm_password').closest('.field');",
            vec![]
        )
        .await,
        json!(true),
        "the wrong-password message is in the password field's own block"
    );
    assert_eq!(
        b.attr("#crm_password", "aria-invalid").await.as_deref(),
        Some("true")
    );
    assert_eq!(
        b.js(
            "return document.activeElement && document.activeElement.id;",
            vec![]
        )
        .await,
        json!("crm_password"),
        "focus moves to the field with the error"
    );
    // Nothing else is blamed, and the form keeps everything that was typed.
    assert_eq!(b.text("#api_key-error").await, "");
    assert_eq!(b.text("#pair-error").await, "");
    assert_eq!(b.value("#api_key").await, crm.api_key);
    assert_eq!(b.value("#crm_address").await, p.env.crm_url);
    assert_eq!(b.value("#crm_username").await, crm.username);
    assert_eq!(b.value("#crm_password").await, "väärä-salasana");
    assert_eq!(b.value("#email").await, p.email());
    assert_eq!(b.value("#calendar_id").await, p.env.mailbox.calendar_id);
    b.screenshot("preferences-step1-wrong-password").await;

    // The right password: paired, and step 2 opens.
    b.fill("#crm_password", &crm.password).await;
    save_pairing(&b).await;
    b.wait_text("p.live", "Tili liitetty CRM:ään.").await;

    // Step 2: the default activity type, from the CRM's picklist in the picklist language.
    b.select("#default_activity_type", "Tapaaminen").await;
    assert_eq!(
        b.selected_text("#default_activity_type").await,
        "Tapaaminen"
    );
    b.screenshot("preferences-step2").await;
    b.click("section[aria-labelledby=settings-title] form button[type=submit]")
        .await;
    b.wait_text("p.live", "Asetukset tallennettu.").await;

    // Log in with "Muista kirjautumistiedot".
    log_in(&b, &p, Some("login")).await;
    let notice = b
        .wait_text(".notice.success", "Kirjautunut CRM:ään käyttäjänä")
        .await;
    assert!(notice.contains(&crm.username), "{notice}");
    assert!(
        notice.contains("Kirjautumistiedot on muistettu"),
        "{notice}"
    );
    b.screenshot("login-done").await;

    // Outlook → CRM: an event made in Outlook becomes an activity of the default type.
    let pairing = p.pairing_id().await;
    let meeting = "E2E: Palaveri Virtasen kanssa";
    let event_id = p.create_outlook_event(meeting, 2);
    let activity = p.wait_crm_activity(pairing, meeting).await;
    assert_eq!(activity["activity_type"], "Tapaaminen", "{activity}");
    assert_eq!(activity["location"], "Neuvotteluhuone 2", "{activity}");

    // CRM → Outlook: an activity made in the CRM appears in the calendar.
    let call = "E2E: Soita Järviselle";
    p.create_crm_activity(call, "Soitto", 3);
    let event = p.wait_outlook_event(pairing, call).await;
    assert_eq!(event["subject"], call);

    // "Liitä CRM:ään" on the Outlook event (browser preview: its id is typed in).
    b.nav("#/item").await;
    b.fill("#preview-item-id", &event_id).await;
    b.click_button("Avaa").await;
    b.wait_text(".sync-state", "Synkronoitu").await;
    b.wait_value("#activity_type", "Tapaaminen").await;
    b.screenshot("item").await;

    // The sync status view shows the runs.
    b.nav("#/status").await;
    b.wait_text("#o2c-title", "Outlookista CRM:ään").await;
    b.wait_js(
        "both directions show their last run",
        "return document.querySelectorAll('section.direction table.counts').length === 2;",
        vec![],
    )
    .await;
    b.wait_page_text("Viimeisin synkronointi").await;
    b.screenshot("status").await;

    // The UI language switches at once, without a reload.
    b.mark_page().await;
    b.click("button.lang-toggle").await;
    b.wait_text("#status-title", "Synchronisation").await;
    b.wait_page_text("Last run").await;
    b.wait_text("nav.tabs", "Preferences").await;
    assert_eq!(b.lang().await, "en");
    assert!(b.same_page().await, "no reload");
    b.screenshot("status-en").await;
    b.click("button.lang-toggle").await;
    b.wait_text("#status-title", "Synkronointi").await;
    b.wait_page_text("Viimeisin synkronointi").await;
    assert_eq!(b.lang().await, "fi");

    // What both sides hold before unpairing.
    p.sync_both(pairing).await;
    let ours = [meeting, call];
    let crm_before = support::subject_counts(&p.crm_activities());
    let outlook_before = support::subject_counts(&p.outlook_events());
    for s in ours {
        assert_eq!(crm_before.get(s), Some(&1), "CRM: {crm_before:?}");
        assert_eq!(
            outlook_before.get(s),
            Some(&1),
            "Outlook: {outlook_before:?}"
        );
    }

    // Unpair, then pair again.
    b.nav("#/pairing").await;
    b.wait_text("#unpair-title", "Synkronointiparin purku")
        .await;
    b.click_button("Pura synkronointipari").await;
    b.wait_page_text("Puretaanko synkronointipari?").await;
    b.screenshot("unpair-confirm").await;
    b.click("#unpair-confirm").await;
    b.wait_text("p.live", "Synkronointipari purettu.").await;
    b.wait_for("#api_key").await;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM pairings")
        .fetch_one(&p.env.state.db)
        .await
        .unwrap();
    assert_eq!(left, 0, "unpairing removed the pairing");

    pair(&b, &p).await;
    // Preferences stay for the next pairing: the saved default type is still chosen.
    b.wait_value("#default_activity_type", "Tapaaminen").await;
    log_in(&b, &p, None).await;
    sync_again_without_duplicates(&p, "", &crm_before, &outlook_before, &ours).await;

    // Forced removal: unpairing cannot reach Graph, so the pane offers the forced removal with the
    // guide's warning and our answer to it.
    let subscriptions: i64 = sqlx::query_scalar("SELECT count(*) FROM graph_subscriptions")
        .fetch_one(&p.env.state.db)
        .await
        .unwrap();
    assert!(
        subscriptions > 0,
        "the pairing has a Graph subscription for unpairing to remove"
    );
    let fault = p.env.graph.add_fault(
        serde_json::from_value(json!({
            "method": "DELETE", "route": "/v1.0/subscriptions/{id}", "kind": "status", "status": 503,
            // Graph asks to come back later than the server will wait: the failure is immediate.
            "retry_after": 600,
        }))
        .expect("a valid fault"),
    );
    b.nav("#/pairing").await;
    b.click_button("Pura synkronointipari").await;
    b.click("#unpair-confirm").await;
    b.wait_for("#force-remove").await;
    b.wait_page_text("Purkaminen ei onnistunut. Haluatko tehdä pakotetun poiston?")
        .await;
    b.wait_page_text("kalenterimerkinnät muodostuvat kahteen kertaan")
        .await;
    b.wait_page_text("Tässä lisäosassa näin ei käy").await;
    b.screenshot("forced-removal").await;
    b.click("#force-remove").await;
    b.wait_page_text("Pakotettu poisto tehty.").await;
    b.wait_for("#api_key").await;
    b.screenshot("forced-removal-done").await;
    p.env.graph.remove_fault(fault);

    pair(&b, &p).await;
    log_in(&b, &p, None).await;
    sync_again_without_duplicates(
        &p,
        " after forced removal",
        &crm_before,
        &outlook_before,
        &ours,
    )
    .await;

    b.close().await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_application_language_setting_relabels_the_pane_at_once_and_is_kept() {
    let p = Product::start().await;
    Api::session(&p).await.pair_and_log_in(&p).await;
    let b = Browser::start().await;
    b.open_pane(&p.pane_url("#/settings")).await;
    b.wait_for("#app_language").await;
    assert_eq!(b.lang().await, "fi");
    b.wait_text("label[for=app_language]", "Sovelluksen kieli")
        .await;
    b.mark_page().await;

    // "Sovelluksen kieli" → English: every label changes at once, without a reload.
    b.select("#app_language", "en").await;
    b.wait_text("label[for=app_language]", "Application language")
        .await;
    b.wait_text("#settings-title", "Preferences").await;
    b.wait_text("nav.tabs", "Synchronisation").await;
    b.wait_text("label[for=default_activity_type]", "Default activity type")
        .await;
    assert_eq!(b.lang().await, "en");
    assert!(b.same_page().await, "no reload");
    // Picklists follow "Valintalistojen kieli", not the UI language: still Finnish.
    assert_eq!(
        b.selected_text("#default_activity_type").await,
        "Tapaaminen"
    );
    b.screenshot("preferences-step2-en").await;

    // Saved, it is the language the pane opens in next time.
    b.click("section[aria-labelledby=settings-title] form button[type=submit]")
        .await;
    b.wait_text("p.live", "Settings saved.").await;
    b.client.refresh().await.expect("reload");
    b.wait_text("label[for=app_language]", "Application language")
        .await;
    assert_eq!(b.value("#app_language").await, "en");

    // The header button switches back, again at once.
    b.mark_page().await;
    b.click("button.lang-toggle").await;
    b.wait_text("label[for=app_language]", "Sovelluksen kieli")
        .await;
    b.wait_text("nav.tabs", "Synkronointi").await;
    assert_eq!(b.lang().await, "fi");
    assert!(b.same_page().await, "no reload");

    b.close().await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_two_keeps_its_activity_type_lists_in_place_while_the_form_and_picklist_language_change()
 {
    let p = Product::start().await;
    Api::session(&p).await.pair_and_log_in(&p).await;
    let b = Browser::start().await;
    b.open_pane(&p.pane_url("#/settings")).await;
    let create_list = "[id='outlook_to_crm.create_types']";
    b.wait_js(
        "the activity types are listed",
        "return document.querySelectorAll(arguments[0] + ' input[type=checkbox]').length > 0;",
        vec![json!(create_list)],
    )
    .await;
    // Remember the very DOM nodes of a type checkbox and of a default-type option.
    b.js(
        "window.__box = document.querySelector(arguments[0] + ' input[type=checkbox]');
         window.__opt = document.querySelector('#default_activity_type option[value=Tapaaminen]');
         return !!window.__box && !!window.__opt;",
        vec![json!(create_list)],
    )
    .await;

    // Typing into a field changes the form: focus stays, the lists are not rebuilt.
    let days = "[id='outlook_to_crm.history_days']";
    b.fill(days, "12").await;
    assert_eq!(
        b.js("return document.activeElement.id;", vec![]).await,
        json!("outlook_to_crm.history_days"),
        "focus stays in the field being typed in"
    );

    // Another picklist language reloads the types: the same checkboxes and options get new labels.
    b.select("#picklist_language", "sv").await;
    b.wait_js(
        "the types are relabelled in Swedish",
        "return [...document.querySelectorAll(arguments[0] + ' label')].some((l) => l.textContent === 'Möte');",
        vec![json!(create_list)],
    )
    .await;
    assert_eq!(
        b.js(
            "return [window.__box.isConnected, window.__opt.isConnected, window.__opt.textContent,
                     document.querySelector('#default_activity_type').value];",
            vec![]
        )
        .await,
        json!([true, true, "Möte", "Tapaaminen"]),
        "the lists were updated in place (no flicker, focus and scroll kept) and the default type is kept"
    );
    assert_eq!(b.value(days).await, "12", "what was typed stays");

    b.close().await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_item_view_shows_the_sync_state_of_the_open_appointment() {
    let p = Product::start().await;
    let api = Api::session(&p).await;
    api.pair_and_log_in(&p).await;
    let pairing = p.pairing_id().await;
    // Graph's change listing is unavailable for a moment, so the new event cannot sync yet (the
    // worker would otherwise pick it up within a second of its change notification).
    let delta_faults: Vec<u64> = [
        format!(
            "/v1.0/me/calendars/{}/calendarView/delta",
            p.env.mailbox.calendar_id
        ),
        "/v1.0/me/calendarView/delta".to_owned(),
    ]
    .into_iter()
    .map(|route| {
        p.env.graph.add_fault(
            serde_json::from_value(json!({
                "method": "GET", "route": route, "kind": "status", "status": 503, "retry_after": 600,
            }))
            .expect("a valid fault"),
        )
    })
    .collect();
    let subject = "E2E: Työmaakäynti";
    let event_id = p.create_outlook_event(subject, 4);

    // The appointment opened in Outlook: the Office.js stand-in provides the item to the pane.
    let b = Browser::start().await;
    let open_item = format!(
        "{}/index.html?office=shim&mailbox={}&lang=fi-FI&itemType=appointment&item={}&subject={}#/item",
        p.env.url,
        p.email(),
        event_id,
        "E2E:%20Ty%C3%B6maak%C3%A4ynti",
    );
    b.open_pane(&open_item).await;
    b.wait_text("p.subject", subject).await;
    let badge = ".sync-state .badge";
    // Not synced yet: the pane says so, and that the type it will get is the default type.
    b.wait_text(badge, "Odottaa synkronointia").await;
    b.wait_page_text("Tyyppi tulee oletusaktiviteettityypistä.")
        .await;
    b.wait_value("#activity_type", "Tapaaminen").await;
    assert!(
        support::by_subject(&p.crm_activities(), subject).is_empty(),
        "not in the CRM yet"
    );
    b.screenshot("item-pending").await;
    for f in delta_faults {
        p.env.graph.remove_fault(f);
    }

    // Once synced to the CRM, the pane shows it, with the CRM activity's type and a link to it.
    p.wait_crm_activity(pairing, subject).await;
    b.client.refresh().await.expect("reload");
    b.wait_text(badge, "Synkronoitu").await;
    assert!(
        b.attr(badge, "class")
            .await
            .unwrap_or_default()
            .contains("ok")
    );
    b.wait_value("#activity_type", "Tapaaminen").await;
    let link = b
        .attr(".sync-state a", "href")
        .await
        .expect("an Avaa CRM:ssä link");
    assert!(link.starts_with(&p.env.crm_url), "{link}");
    b.screenshot("item-synced").await;

    b.close().await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_status_view_shows_the_last_run_counts_and_sync_now_starts_a_run() {
    let p = Product::start().await;
    let api = Api::session(&p).await;
    api.pair_and_log_in(&p).await;
    let b = Browser::start().await;
    b.open_pane(&p.pane_url("#/status")).await;
    b.wait_text("#status-title", "Synkronointi").await;
    b.wait_page_text("Automaattinen synkronointi on käytössä.")
        .await;

    // "Synkronoi nyt" asks for a run now.
    let clicked = chrono::Utc::now();
    b.click_button("Synkronoi nyt").await;
    b.wait_js(
        "the pane confirms the request",
        "const t = document.querySelector('p.live').textContent;
         return t.includes('Synkronointi aloitettu.') || t.includes('Synkronointi on jo käynnissä.');",
        vec![],
    )
    .await;

    // Both directions finish a run started by it, and the view (which re-reads the status every few
    // seconds) shows each direction's counts exactly as the server recorded them.
    let after_click = |d: &Value| {
        d["last_run"]["finished_at"].is_string()
            && d["last_run"]["started_at"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .is_some_and(|t| t >= clicked)
    };
    let counts_js = "return [...document.querySelectorAll(
            `section[aria-labelledby=${arguments[0]}-title] table.counts td`)].map(td => td.textContent.trim());";
    let shown = support::eventually(
        "the view shows the counts of runs started by Synkronoi nyt",
        support::SYNC_TIMEOUT,
        || async {
            let s = api.sync_status().await;
            let mut all = vec![];
            for (id, dir) in [("o2c", "outlook_to_crm"), ("c2o", "crm_to_outlook")] {
                if !after_click(&s[dir]) {
                    return None;
                }
                let c = &s[dir]["last_run"]["counts"];
                let expected: Vec<Value> = [
                    "created",
                    "updated",
                    "deleted",
                    "skipped",
                    "conflicts",
                    "errors",
                ]
                .iter()
                .map(|k| json!(c[*k].to_string()))
                .collect();
                if b.js(counts_js, vec![json!(id)]).await != json!(expected) {
                    return None;
                }
                all.push(expected);
            }
            Some(all)
        },
    )
    .await;
    assert_eq!(shown.len(), 2);
    b.wait_page_text("Viimeisin synkronointi").await;
    b.wait_page_text("Onnistui").await;
    b.screenshot("status-sync-now").await;

    b.close().await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_workbench_hosts_the_pane_over_the_office_stand_in() {
    let p = Product::start().await;
    Api::session(&p).await.pair_and_log_in(&p).await;
    let b = Browser::start().await;
    b.client
        .set_window_size(1400, 900)
        .await
        .expect("a wide window");
    // A browser far from the CRM's zone (Helsinki) and from UTC: every time on the page is its own.
    b.set_time_zone("America/New_York").await;
    b.open(&format!("{}/workbench/index.html", p.env.url)).await;

    // The Outlook stand-in: the demo credentials, the calendar week and the CRM's activities.
    b.wait_text("#creds", &p.env.demo_crm.api_key).await;
    b.wait_text("#activities", "Tarjouspalaveri").await;
    // The CRM keeps wall-clock times in Helsinki; the list shows them in the browser's zone.
    let meeting = p
        .crm_activities()
        .into_iter()
        .find(|a| a["subject"] == "Tarjouspalaveri" && a["all_day"] != json!(true))
        .expect("the demo CRM has the Tarjouspalaveri activity");
    let wall = chrono::NaiveDateTime::parse_from_str(
        meeting["start_date"].as_str().expect("a start date"),
        "%Y-%m-%d %H:%M:%S",
    )
    .expect("the CRM's date format");
    let instant = chrono::TimeZone::from_local_datetime(&chrono_tz::Europe::Helsinki, &wall)
        .single()
        .expect("an unambiguous Helsinki time");
    let shown = b
        .js(
            "const d = new Date(arguments[0]); const p = (n) => String(n).padStart(2, '0');
             const local = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
             const rows = [...document.querySelectorAll('#activities tr')]
               .filter((tr) => tr.cells[1].textContent === 'Tarjouspalaveri')
               .map((tr) => tr.cells[0].textContent);
             return [local, rows];",
            vec![json!(instant.timestamp_millis())],
        )
        .await;
    assert!(
        shown[1]
            .as_array()
            .is_some_and(|rows| rows.contains(&shown[0])),
        "the CRM activity at {wall} Helsinki time is listed at the browser's local time: {shown}"
    );
    // The editors stay closed until an entry is opened or created.
    let shown = "return getComputedStyle(document.querySelector(arguments[0])).display !== 'none';";
    for form in ["#event-form", "#activity-form"] {
        assert_eq!(
            b.js(shown, vec![json!(form)]).await,
            json!(false),
            "{form} is hidden until it is opened"
        );
    }
    b.click("#new-event").await;
    b.wait_js("the event editor opens", shown, vec![json!("#event-form")])
        .await;
    b.click("#event-cancel").await;
    b.wait_js(
        "the event editor closes",
        "return getComputedStyle(document.querySelector('#event-form')).display === 'none';",
        vec![],
    )
    .await;

    // The real pane, docked in it, runs under the Office.js stand-in: no browser-preview bar, the
    // mailbox comes from the stand-in, and the paired account shows.
    b.enter_frame("#pane").await;
    b.wait_for(".app").await;
    b.wait_text("#prefs-title", "Asetukset").await;
    b.wait_text("dl.summary", p.email()).await;
    assert_eq!(
        b.js(
            "return document.querySelector('form.preview') === null;",
            vec![]
        )
        .await,
        json!(true),
        "not in browser preview"
    );
    b.client
        .enter_parent_frame()
        .await
        .expect("back to the page");
    b.screenshot("workbench").await;

    b.close().await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_office_the_plain_pane_url_falls_back_to_browser_preview() {
    let p = Product::start().await;
    let b = Browser::start().await;
    // The URL the manifest names, opened in a plain browser: office.js is not reachable here (or
    // reports no host), so the pane offers browser preview instead of waiting for Outlook.
    b.open_pane(&format!("{}/index.html", p.env.url)).await;
    b.wait_for("#preview-mailbox").await;
    b.wait_page_text("Anna postilaatikon osoite yllä ja valitse Yhdistä.")
        .await;
    connect_preview(&b, p.email()).await;
    b.wait_for("#api_key").await;
    b.screenshot("preview").await;

    b.close().await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_errors_show_next_to_the_field_they_concern_and_the_form_keeps_its_input() {
    let p = Product::start().await;
    let b = Browser::start().await;
    b.open_pane(&p.pane_url("#/pairing")).await;
    b.wait_for("#api_key").await;
    let crm = p.env.demo_crm.clone();

    // A wrong API key: the message is under "API key", nothing else is blamed.
    fill_pairing(&b, &p, &crm.password).await;
    b.fill("#api_key", "crm_not-a-real-key").await;
    b.click("#pair-save").await;
    b.wait_text("#api_key-error", "API-avain ei kelpaa.").await;
    assert_eq!(
        b.attr("#api_key", "aria-invalid").await.as_deref(),
        Some("true")
    );
    assert_eq!(b.text("#crm_password-error").await, "");
    assert_eq!(b.value("#api_key").await, "crm_not-a-real-key");
    assert_eq!(b.value("#crm_password").await, crm.password);

    // Another mailbox's address: the message is under "Sähköposti"; the earlier one is gone.
    b.fill("#api_key", &crm.api_key).await;
    b.fill("#email", "joku.muu@esimerkki.fi").await;
    b.click("#pair-save").await;
    b.wait_text(
        "#email-error",
        "Sähköpostiosoite ei ole tämän Outlook-tilin osoite.",
    )
    .await;
    assert_eq!(b.text("#api_key-error").await, "");
    assert_eq!(
        b.attr("#api_key", "aria-invalid").await.as_deref(),
        Some("false")
    );
    assert_eq!(b.value("#email").await, "joku.muu@esimerkki.fi");
    b.screenshot("preferences-step1-wrong-email").await;

    b.close().await;
    p.stop().await;
}
