//! Email sync in real headless Chromium against the real server, real Postgres and both simulators
//! (`crm_server::demo::DemoEnv`, in-process): "Save to CRM" on a message opened in the demo workbench
//! and in the pane, attachments over the CRM's 25 MiB limit, and automatic email tracking switched on
//! in the pane's settings.
//!
//! Needs the pane's WASM in `static/pkg/` (`cargo xtask pane`), `/usr/bin/chromedriver`,
//! `/usr/bin/chromium` and Postgres, like `pane.rs`. Screenshots: `target/screenshots/workbench-message.png`,
//! `item-message-saved.png`, `settings-email-tracking.png`.

mod support;

use serde_json::{Value, json};
use support::{Api, Browser, Product};

/// The demo inbox's mail from Matti Virtanen of Kone ja Terä Oy (crates/sim/src/graph/seed.rs).
const MATTI_SUBJECT: &str = "Tarjouspyyntö: huoltosopimus";
const MATTI_IMID: &str = "<CAF1a2b3c4@konejatera.fi>";

/// The CRM's emails (the simulator's store).
fn crm_emails(p: &Product) -> Vec<Value> {
    p.env.crm.list(p.env.demo_crm.company_id, "emails")
}

fn crm_emails_with(p: &Product, message_id: &str) -> Vec<Value> {
    crm_emails(p)
        .into_iter()
        .filter(|e| e["message_id"] == message_id)
        .collect()
}

/// The ids in a CRM relation list (plain ids or `{id, ...}` objects), sorted.
fn ids(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| {
            x.as_str()
                .map(str::to_owned)
                .or_else(|| x["id"].as_str().map(str::to_owned))
        })
        .collect();
    out.sort();
    out
}

/// The CRM contact `i` of the demo company: (id, full name, email, account id, account name).
fn contact(p: &Product, i: usize) -> (String, String, String, String, String) {
    let company = p.env.demo_crm.company_id;
    let id = p.env.demo_crm.contact_ids[i].clone();
    let c = p
        .env
        .crm
        .get(company, "contacts", id.parse().expect("numeric id"))
        .expect("the demo contact");
    let account_id = c["account_id"].as_str().expect("an account").to_owned();
    let account = p
        .env
        .crm
        .get(company, "accounts", account_id.parse().expect("numeric id"))
        .expect("the contact's account");
    (
        id,
        format!(
            "{} {}",
            c["first_name"].as_str().unwrap_or_default(),
            c["last_name"].as_str().unwrap_or_default()
        ),
        c["email"].as_str().expect("an email").to_owned(),
        account_id,
        account["name"].as_str().unwrap_or_default().to_owned(),
    )
}

/// A person as Graph writes one on a message.
fn person(name: &str, address: &str) -> Value {
    json!({"emailAddress": {"name": name, "address": address}})
}

/// Puts a message into the demo mailbox's `folder` as mail arriving in Outlook; returns its Graph id.
fn deliver(p: &Product, folder: &str, message: Value) -> String {
    p.env
        .graph
        .add_message(p.email(), folder, message)
        .expect("the Graph simulator stores the message")
}

/// The names on the chips of a relation field (`accounts`, `contacts`, ...).
const CHIPS_JS: &str = "const f = document.querySelector('#rel-' + arguments[0]);
     if (!f) return null;
     return [...f.closest('.field').querySelectorAll('ul.chips li.chip > span')].map(s => s.textContent);";

/// In the workbench: waits until the inbox lists `item`, opens it, and switches into the docked
/// pane's frame, which then shows the message.
async fn open_in_workbench(b: &Browser, item: &str) {
    b.wait_js(
        &format!("the inbox lists {item:?}"),
        "return [...document.querySelectorAll('#inbox button')].some(x => x.textContent === arguments[0]);",
        vec![json!(item)],
    )
    .await;
    b.wait_for("#pane").await;
    b.client
        .execute(
            "[...document.querySelectorAll('#inbox button')].find(x => x.textContent === arguments[0]).click();",
            vec![json!(item)],
        )
        .await
        .expect("open the message");
    b.enter_frame("#pane").await;
}

/// Waits until the relation field `kind` shows exactly the chips `names`.
async fn wait_chips(b: &Browser, kind: &str, names: &[&str]) {
    b.wait_js(
        &format!("the {kind} field is pre-filled with {names:?}"),
        &format!(
            "const got = (() => {{ {CHIPS_JS} }})();
             return !!got && JSON.stringify(got) === JSON.stringify(arguments[1]);"
        ),
        vec![json!(kind), json!(names)],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_opened_in_the_workbench_is_saved_to_the_crm_with_its_contact_and_account_and_saving_again_updates_it()
 {
    let p = Product::start().await;
    Api::session(&p).await.pair_and_log_in(&p).await;
    let (matti_id, matti_name, _, account_id, account_name) = contact(&p, 0);
    assert_eq!(account_name, "Kone ja Terä Oy");
    assert!(
        crm_emails(&p).is_empty(),
        "the demo CRM starts without emails"
    );

    let b = Browser::start().await;
    b.client
        .set_window_size(1400, 900)
        .await
        .expect("a wide window");
    b.open(&format!("{}/workbench/index.html", p.env.url)).await;

    // The workbench's inbox lists the demo mailbox's mail; opening one shows it in the docked pane.
    let item = format!("Matti Virtanen: {MATTI_SUBJECT}");
    open_in_workbench(&b, &item).await;
    b.wait_js(
        "the pane shows the item view",
        "return location.hash === '#/item';",
        vec![],
    )
    .await;
    b.wait_text("p.subject", MATTI_SUBJECT).await;
    b.wait_text(".sync-state .badge", "Ei tallennettu CRM:ään")
        .await;
    // Pre-filled: the CRM contact whose address is on the message, and that contact's account.
    wait_chips(&b, "contacts", &[&matti_name]).await;
    wait_chips(&b, "accounts", &[&account_name]).await;

    // Save to CRM: the pane says so, marks the message saved and links to the CRM email.
    b.click_button("Tallenna CRM:ään").await;
    b.wait_text("p.live", "Viesti tallennettu CRM:ään.").await;
    b.wait_text(".sync-state .badge", "Tallennettu CRM:ään")
        .await;
    let saved = crm_emails_with(&p, MATTI_IMID);
    assert_eq!(saved.len(), 1, "one CRM email for the message: {saved:?}");
    assert_eq!(crm_emails(&p).len(), 1, "and no other email");
    let email = &saved[0];
    let crm_id = email["id"].to_string().trim_matches('"').to_owned();
    assert_eq!(email["subject"], MATTI_SUBJECT);
    assert_eq!(email["from"], "matti.virtanen@konejatera.fi");
    assert_eq!(ids(&email["contacts"]), vec![matti_id.clone()]);
    assert_eq!(ids(&email["accounts"]), vec![account_id.clone()]);
    let link = b
        .attr(".sync-state a", "href")
        .await
        .expect("an Avaa CRM:ssä link");
    assert_eq!(link, format!("{}/emails/{crm_id}", p.env.crm_url));
    assert_eq!(b.text(".sync-state a").await, "Avaa CRM:ssä");

    // Saving again updates the same CRM email: still exactly one.
    b.click_button("Tallenna CRM:ään").await;
    b.wait_text("p.live", "Viesti oli jo CRM:ssä; se päivitettiin.")
        .await;
    let again = crm_emails_with(&p, MATTI_IMID);
    assert_eq!(
        again.len(),
        1,
        "saving again makes no second copy: {again:?}"
    );
    assert_eq!(again[0]["id"], email["id"], "the same CRM email");
    assert_eq!(crm_emails(&p).len(), 1);
    assert_eq!(
        b.attr(".sync-state a", "href").await.as_deref(),
        Some(link.as_str())
    );

    b.client
        .enter_parent_frame()
        .await
        .expect("back to the page");
    b.screenshot("workbench-message").await;

    // Opened again later, the message shows as saved with the same link.
    b.client.refresh().await.expect("reload");
    open_in_workbench(&b, &item).await;
    b.wait_text(".sync-state .badge", "Tallennettu CRM:ään")
        .await;
    assert_eq!(
        b.attr(".sync-state a", "href").await.as_deref(),
        Some(link.as_str())
    );

    b.close().await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversize_attachment_is_listed_as_not_saved_with_a_clear_message_and_the_email_is_saved()
{
    let p = Product::start().await;
    Api::session(&p).await.pair_and_log_in(&p).await;
    let (liisa_id, liisa_name, liisa_email, account_id, account_name) = contact(&p, 1);
    let subject = "Esittely ja tarjous";
    let imid = "<e2e-liitteet@konejatera.fi>";
    let message_id = deliver(
        &p,
        "inbox",
        json!({
            "subject": subject,
            "from": person(&liisa_name, &liisa_email), "sender": person(&liisa_name, &liisa_email),
            "toRecipients": [person("Demo", p.email())],
            "body": {"contentType": "html", "content": "<p>Liitteenä tarjous ja esittelyvideo.</p>"},
            "internetMessageId": imid,
        }),
    );
    let graph = &p.env.graph;
    graph
        .add_attachment(
            p.email(),
            &message_id,
            "tarjous.pdf",
            "application/pdf",
            b"%PDF-1.7 tarjous 2027".to_vec(),
        )
        .expect("a small attachment");
    graph
        .add_attachment(
            p.email(),
            &message_id,
            "esittely.mp4",
            "video/mp4",
            vec![0u8; 26 * 1024 * 1024],
        )
        .expect("a 26 MiB attachment");

    // The message open in Outlook: the Office.js stand-in gives it to the pane.
    let b = Browser::start().await;
    b.open_pane(&format!(
        "{}/index.html?office=shim&mailbox={}&lang=fi-FI&itemType=message&item={}&subject={}#/item",
        p.env.url,
        p.email(),
        message_id,
        "Esittely%20ja%20tarjous",
    ))
    .await;
    b.wait_text("p.subject", subject).await;
    wait_chips(&b, "contacts", &[&liisa_name]).await;
    wait_chips(&b, "accounts", &[&account_name]).await;
    // "Liitteet mukaan".
    b.tick("#include_attachments").await;
    b.click_button("Tallenna CRM:ään").await;

    // The email is saved; the file over the limit is listed with the reason, the other is uploaded.
    b.wait_text("p.live", "Viesti tallennettu CRM:ään.").await;
    b.wait_text(".sync-state .badge", "Tallennettu CRM:ään")
        .await;
    let warning = b
        .wait_text(
            ".warning[role=alert]",
            "Näitä liitteitä ei tallennettu CRM:ään:",
        )
        .await;
    assert!(
        warning.contains(
            "Liitettä esittely.mp4 (26 Mt) ei tallennettu: CRM ottaa vastaan enintään 25 Mt:n \
             tiedostoja. Viesti tallennettiin ilman sitä."
        ),
        "{warning}"
    );
    assert!(
        !warning.contains("tarjous.pdf"),
        "the uploaded file is not listed: {warning}"
    );
    let saved = crm_emails_with(&p, imid);
    assert_eq!(saved.len(), 1, "the email itself is saved: {saved:?}");
    assert_eq!(ids(&saved[0]["contacts"]), vec![liisa_id]);
    assert_eq!(ids(&saved[0]["accounts"]), vec![account_id]);
    let crm_id: u64 = saved[0]["id"]
        .to_string()
        .trim_matches('"')
        .parse()
        .expect("a numeric CRM id");
    assert_eq!(
        p.env.crm.files(p.env.demo_crm.company_id, "emails", crm_id),
        vec![("tarjous.pdf".to_owned(), 21)],
        "only the file within the limit is in the CRM"
    );
    let link = b
        .attr(".sync-state a", "href")
        .await
        .expect("an Avaa CRM:ssä link");
    assert_eq!(link, format!("{}/emails/{crm_id}", p.env.crm_url));
    b.screenshot("item-message-saved").await;

    b.close().await;
    p.stop().await;
}

/// Waits until automatic tracking has made its first complete round on both folders: mail arriving
/// from then on is tracked (mail from before it is the mailbox's history and stays out).
async fn wait_tracking_started(p: &Product) {
    let db = p.env.state.db.clone();
    support::eventually(
        "automatic tracking has listed Inbox and Sent Items once",
        support::SYNC_TIMEOUT,
        || {
            let db = db.clone();
            async move {
                let ready: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM mail_cursors WHERE delta_link IS NOT NULL",
                )
                .fetch_one(&db)
                .await
                .ok()?;
                (ready == 2).then_some(())
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_email_tracking_switched_on_new_mail_from_a_crm_contact_reaches_the_crm_and_internal_mail_does_not()
 {
    let p = Product::start().await;
    let api = Api::session(&p).await;
    api.pair_and_log_in(&p).await;
    let (matti_id, matti_name, matti_email, account_id, _) = contact(&p, 0);

    // "Seuraa sähköposteja automaattisesti" in the settings, off by default.
    let b = Browser::start().await;
    b.open_pane(&p.pane_url("#/settings")).await;
    b.wait_for("#email_tracking").await;
    b.wait_text(
        "label[for=email_tracking]",
        "Seuraa sähköposteja automaattisesti",
    )
    .await;
    assert_eq!(
        b.js(
            "return document.querySelector('#email_tracking').checked;",
            vec![]
        )
        .await,
        json!(false),
        "off by default"
    );
    b.tick("#email_tracking").await;
    b.screenshot("settings-email-tracking").await;
    b.click("section[aria-labelledby=settings-title] form button[type=submit]")
        .await;
    b.wait_text("p.live", "Asetukset tallennettu.").await;
    let prefs = api
        .call(reqwest::Method::GET, api_types::routes::PREFERENCES, None)
        .await;
    assert_eq!(prefs["email_tracking"], true, "{prefs}");

    // "Synkronoi nyt": the first run starts tracking from now (the demo inbox's older mail stays out).
    b.nav("#/status").await;
    b.click_button("Synkronoi nyt").await;
    wait_tracking_started(&p).await;
    assert!(
        crm_emails(&p).is_empty(),
        "mail from before tracking was switched on is not imported: {:?}",
        crm_emails(&p)
    );

    // New mail: first a colleague's (internal only), then Matti's.
    let own_domain = p.email().rsplit_once('@').expect("an address").1.to_owned();
    let colleague = format!("kollega@{own_domain}");
    let internal_imid = "<e2e-sisainen@esimerkki.fi>";
    let inbound_imid = "<e2e-seuranta@konejatera.fi>";
    deliver(
        &p,
        "inbox",
        json!({
            "subject": "Kahvitauko", "from": person("Kollega", &colleague),
            "toRecipients": [person("Demo", p.email())],
            "body": {"contentType": "text", "content": "Kahville kymmeneltä?"},
            "internetMessageId": internal_imid,
        }),
    );
    deliver(
        &p,
        "inbox",
        json!({
            "subject": "Huoltosopimuksen aikataulu", "from": person(&matti_name, &matti_email),
            "toRecipients": [person("Demo", p.email())],
            "body": {"contentType": "html", "content": "<p>Sopisiko aloitus maaliskuussa?</p>"},
            "internetMessageId": inbound_imid,
        }),
    );
    b.click_button("Synkronoi nyt").await;
    let tracked = support::eventually(
        "Matti's new message is in the CRM",
        support::SYNC_TIMEOUT,
        || async { crm_emails_with(&p, inbound_imid).into_iter().next() },
    )
    .await;
    assert_eq!(tracked["subject"], "Huoltosopimuksen aikataulu");
    assert_eq!(ids(&tracked["contacts"]), vec![matti_id]);
    assert_eq!(ids(&tracked["accounts"]), vec![account_id]);
    // The colleague's message arrived first, so the round that tracked Matti's also passed it over.
    assert!(
        crm_emails_with(&p, internal_imid).is_empty(),
        "internal mail is not tracked"
    );
    // Further runs change nothing.
    let pairing = p.pairing_id().await;
    p.sync(pairing, crm_server::worker::JobKind::OutlookToCrm)
        .await;
    let all = crm_emails(&p);
    assert_eq!(all.len(), 1, "exactly the one tracked email: {all:?}");

    b.close().await;
    p.stop().await;
}
