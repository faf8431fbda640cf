//! Email sync end to end: "Save to CRM" over the pane API and automatic email tracking through the
//! sync run, on a real server, real Postgres and both simulators.

mod common;

use common::{Sims, TestServer, paired};
use crm_server::{sync::run_pairing, worker::JobKind};
use serde_json::{Value, json};
use uuid::Uuid;

struct World {
    sims: Sims,
    server: TestServer,
    token: String,
    pairing_id: Uuid,
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// A person as Graph writes one on a message.
fn person(address: &str) -> Value {
    json!({"emailAddress": {"name": address, "address": address}})
}

impl World {
    async fn new() -> Self {
        Self::with_prefs(|_| {}).await
    }

    async fn with_prefs(adjust: impl FnOnce(&mut Value)) -> Self {
        let sims = Sims::start().await;
        let server = TestServer::start_with(|c| sims.configure(c)).await;
        let token = paired(&server, &sims).await;
        let pairing_id = server.pairing_id().await;
        let w = World {
            sims,
            server,
            token,
            pairing_id,
        };
        w.set_prefs(|p| {
            p["default_activity_type"] = json!("Tapaaminen");
            adjust(p)
        })
        .await;
        w
    }

    async fn set_prefs(&self, adjust: impl FnOnce(&mut Value)) {
        common::api::update_preferences(&client(), &self.server.base, &self.token, adjust).await;
    }

    async fn sync(&self) {
        run_pairing(&self.server.state, self.pairing_id, JobKind::OutlookToCrm)
            .await
            .expect("sync run");
    }

    fn email(&self) -> &str {
        &self.sims.mailbox.email
    }

    fn company(&self) -> sim::crm::CompanyId {
        self.sims.demo_crm.company_id
    }

    fn crm_emails(&self) -> Vec<Value> {
        self.sims.crm.list(self.company(), "emails")
    }

    fn crm_email(&self, message_id: &str) -> Vec<Value> {
        self.crm_emails()
            .into_iter()
            .filter(|e| e["message_id"] == message_id)
            .collect()
    }

    /// The CRM contact `i` of the demo company: (id, email, account id).
    fn contact(&self, i: usize) -> (String, String, String) {
        let id = &self.sims.demo_crm.contact_ids[i];
        let c = self
            .sims
            .crm
            .get(self.company(), "contacts", id.parse().unwrap())
            .unwrap();
        (
            id.clone(),
            c["email"].as_str().unwrap().to_owned(),
            c["account_id"].as_str().unwrap().to_owned(),
        )
    }

    /// A message in `folder` (`inbox` or `sentitems`) with a fresh internet message id; returns
    /// (Graph id, internet message id).
    fn message(
        &self,
        folder: &str,
        subject: &str,
        from: &str,
        to: &[&str],
        extra: Value,
    ) -> (String, String) {
        let imid = format!("<{}@test.fi>", Uuid::new_v4().simple());
        let mut body = json!({
            "subject": subject,
            "from": person(from),
            "toRecipients": to.iter().map(|a| person(a)).collect::<Vec<_>>(),
            "body": {"contentType": "html", "content": format!("<p>{subject}</p><script>alert(1)</script>")},
            "internetMessageId": imid,
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        let id = self
            .sims
            .graph
            .add_message(self.email(), folder, body)
            .unwrap();
        (id, imid)
    }

    async fn get_message(&self, id: &str) -> Value {
        let resp = client()
            .get(self.server.url(&format!("/api/messages/{id}")))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    async fn save(
        &self,
        id: &str,
        relations: Value,
        include_attachments: bool,
        lang: &str,
    ) -> Value {
        let resp = client()
            .post(self.server.url(&format!("/api/messages/{id}/save")))
            .bearer_auth(&self.token)
            .header("Accept-Language", lang)
            .json(&json!({"relations": relations, "include_attachments": include_attachments}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
        resp.json().await.unwrap()
    }
}

fn ids(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .map(|x| {
            x.as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| x["id"].as_str().unwrap().to_owned())
        })
        .collect();
    out.sort();
    out
}

// ----- "Save to CRM" -----

#[tokio::test]
async fn saving_a_message_stores_its_content_and_the_prefilled_relations() {
    let w = World::new().await;
    let (c0, e0, a0) = w.contact(0);
    let (c2, e2, a2) = w.contact(2);
    let (id, imid) = w.message(
        "inbox",
        "Tarjouspyyntö",
        &e0,
        &[w.email()],
        json!({"ccRecipients": [person(&e2)], "sentDateTime": "2026-11-20T08:30:00Z"}),
    );
    let info = w.get_message(&id).await;
    assert_eq!(info["saved"], false);
    assert_eq!(ids(&info["relations"]["contacts"]), {
        let mut v = vec![c0.clone(), c2.clone()];
        v.sort();
        v
    });
    assert_eq!(ids(&info["relations"]["accounts"]), {
        let mut v = vec![a0.clone(), a2.clone()];
        v.sort();
        v.dedup();
        v
    });
    let r = w.save(&id, info["relations"].clone(), false, "fi").await;
    assert_eq!(r["saved"], true);
    assert_eq!(r["already_saved"], false);
    assert!(
        r["crm_url"]
            .as_str()
            .unwrap()
            .ends_with(r["crm_email_id"].as_str().unwrap())
    );
    let stored = w.crm_email(&imid);
    assert_eq!(stored.len(), 1);
    let e = &stored[0];
    assert_eq!(e["subject"], "Tarjouspyyntö");
    assert_eq!(e["from"], e0.as_str());
    assert_eq!(e["to"], w.email());
    assert_eq!(e["cc"], e2.as_str());
    assert_eq!(e["body"].as_str().unwrap().trim(), "Tarjouspyyntö");
    let html = e["body_html"].as_str().unwrap();
    assert!(
        html.contains("<p>Tarjouspyyntö</p>") && !html.contains("script"),
        "{html}"
    );
    assert_eq!(e["sent_at"], "2026-11-20 10:30:00", "Helsinki time");
    assert_eq!(ids(&e["contacts"]), ids(&json!([c0, c2])));
    assert_eq!(ids(&e["accounts"]), ids(&info["relations"]["accounts"]));
    let again = w.get_message(&id).await;
    assert_eq!(again["saved"], true);
}

#[tokio::test]
async fn saving_again_updates_the_crm_email_and_never_duplicates_it() {
    let w = World::new().await;
    let (c0, e0, _) = w.contact(0);
    let (c1, _, _) = w.contact(1);
    let (id, imid) = w.message("inbox", "Sopimus", &e0, &[w.email()], json!({}));
    let first = w
        .save(
            &id,
            json!({"contacts": [{"id": c0, "name": "x"}]}),
            false,
            "fi",
        )
        .await;
    let crm_id: u64 = first["crm_email_id"].as_str().unwrap().parse().unwrap();
    // Edited in the CRM meanwhile: saving again puts the message's content back.
    w.sims
        .crm
        .update(
            w.company(),
            "emails",
            crm_id,
            json!({"subject": "muutettu"}),
        )
        .unwrap();
    let second = w
        .save(
            &id,
            json!({"contacts": [{"id": c1, "name": "y"}]}),
            false,
            "fi",
        )
        .await;
    assert_eq!(second["already_saved"], true);
    assert_eq!(second["crm_email_id"], first["crm_email_id"]);
    let stored = w.crm_email(&imid);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0]["subject"], "Sopimus");
    assert_eq!(ids(&stored[0]["contacts"]), vec![c1.clone()]);
    assert_eq!(stored[0]["contact_id"], c1.as_str());
}

#[tokio::test]
async fn attachments_upload_once_and_an_oversize_one_is_listed_with_a_clear_message() {
    let w = World::new().await;
    let (_, e0, _) = w.contact(0);
    let (id, imid) = w.message("inbox", "Liitteet", &e0, &[w.email()], json!({}));
    w.sims
        .graph
        .add_attachment(
            w.email(),
            &id,
            "tarjous ä.pdf",
            "application/pdf",
            b"%PDF-1.7 tarjous".to_vec(),
        )
        .unwrap();
    w.sims
        .graph
        .add_attachment(
            w.email(),
            &id,
            "video.mp4",
            "video/mp4",
            vec![0u8; 26 * 1024 * 1024],
        )
        .unwrap();
    let r = w.save(&id, json!({}), true, "fi").await;
    let crm_id: u64 = r["crm_email_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(w.crm_email(&imid).len(), 1, "the email itself is saved");
    let att = r["attachments"].as_array().unwrap();
    assert_eq!(att.len(), 2, "{r}");
    assert_eq!(att[0]["name"], "tarjous ä.pdf");
    assert_eq!(att[0]["outcome"], "uploaded");
    assert_eq!(att[1]["name"], "video.mp4");
    assert_eq!(att[1]["outcome"], "too_large");
    let msg = att[1]["message"].as_str().unwrap();
    assert!(
        msg.contains("video.mp4") && msg.contains("25 Mt") && msg.contains("ei tallennettu"),
        "{msg}"
    );
    assert_eq!(
        w.sims.crm.files(w.company(), "emails", crm_id),
        vec![("tarjous ä.pdf".to_owned(), 16)]
    );

    // Again, in English: nothing is uploaded twice and the refusal is explained again.
    let r2 = w.save(&id, json!({}), true, "en").await;
    let att = r2["attachments"].as_array().unwrap();
    assert_eq!(att[0]["outcome"], "already_uploaded");
    assert_eq!(att[1]["outcome"], "too_large");
    assert!(
        att[1]["message"]
            .as_str()
            .unwrap()
            .contains("at most 25 MB"),
        "{r2}"
    );
    assert_eq!(w.sims.crm.files(w.company(), "emails", crm_id).len(), 1);
    assert_eq!(w.crm_email(&imid).len(), 1);
}

#[tokio::test]
async fn a_different_file_with_the_same_name_and_size_is_uploaded_and_the_same_file_only_once() {
    let w = World::new().await;
    let (_, e0, _) = w.contact(0);
    let (id, imid) = w.message("inbox", "Hinnasto", &e0, &[w.email()], json!({}));
    let add = |bytes: &[u8]| {
        w.sims
            .graph
            .add_attachment(w.email(), &id, "hinnasto.txt", "text/plain", bytes.to_vec())
            .unwrap();
    };
    add(b"hinnat 2026: 100 e");
    let r = w.save(&id, json!({}), true, "fi").await;
    assert_eq!(r["attachments"][0]["outcome"], "uploaded", "{r}");
    let crm_id: u64 = r["crm_email_id"].as_str().unwrap().parse().unwrap();

    // Another file of the same name and size, with other content, joins the message.
    add(b"hinnat 2027: 120 e");
    let r = w.save(&id, json!({}), true, "fi").await;
    let outcomes: Vec<&Value> = r["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["outcome"])
        .collect();
    assert_eq!(
        outcomes,
        [&json!("already_uploaded"), &json!("uploaded")],
        "{r}"
    );
    assert_eq!(
        w.sims.crm.files(w.company(), "emails", crm_id),
        vec![
            ("hinnasto.txt".to_owned(), 18),
            ("hinnasto.txt".to_owned(), 18)
        ]
    );

    // Saved once more: both are known by their content, nothing is uploaded again.
    let r = w.save(&id, json!({}), true, "fi").await;
    for a in r["attachments"].as_array().unwrap() {
        assert_eq!(a["outcome"], "already_uploaded", "{r}");
    }
    assert_eq!(w.sims.crm.files(w.company(), "emails", crm_id).len(), 2);
    assert_eq!(w.crm_email(&imid).len(), 1);
}

#[tokio::test]
async fn a_file_recorded_before_content_digests_is_not_uploaded_again_and_takes_its_digest() {
    let w = World::new().await;
    let (_, e0, _) = w.contact(0);
    let (id, _) = w.message("inbox", "Vanha tallennus", &e0, &[w.email()], json!({}));
    w.sims
        .graph
        .add_attachment(
            w.email(),
            &id,
            "sopimus.pdf",
            "application/pdf",
            b"%PDF sopimus".to_vec(),
        )
        .unwrap();
    let r = w.save(&id, json!({}), true, "fi").await;
    let crm_id: u64 = r["crm_email_id"].as_str().unwrap().parse().unwrap();
    let pool = w.server.db.pool().await;
    let digest: String = sqlx::query_scalar("SELECT content_sha256 FROM saved_email_files")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(digest.len(), 64, "a hex SHA-256 was recorded: {digest}");
    // As a row written before migration 0012 reads: content unknown.
    sqlx::query("UPDATE saved_email_files SET content_sha256 = ''")
        .execute(&pool)
        .await
        .unwrap();
    let r = w.save(&id, json!({}), true, "fi").await;
    assert_eq!(r["attachments"][0]["outcome"], "already_uploaded", "{r}");
    assert_eq!(w.sims.crm.files(w.company(), "emails", crm_id).len(), 1);
    let now: Vec<String> = sqlx::query_scalar("SELECT content_sha256 FROM saved_email_files")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(now, vec![digest]);
}

// ----- automatic tracking -----

async fn tracking_world(private: &str) -> World {
    let w = World::with_prefs(|p| {
        p["email_tracking"] = json!(true);
        p["private_entries"] = json!(private);
    })
    .await;
    // The first run starts tracking from now: the mailbox's older mail stays out of the CRM.
    w.sync().await;
    assert!(w.crm_emails().is_empty(), "{:?}", w.crm_emails());
    w
}

#[tokio::test]
async fn tracking_stores_new_inbound_and_outbound_mail_with_contacts_and_nothing_else() {
    let w = tracking_world("busy").await;
    let (c0, e0, a0) = w.contact(0);
    let (c3, e3, a3) = w.contact(3);
    let (_, inbound) = w.message("inbox", "Kysymys", &e0, &[w.email()], json!({}));
    let me = w.email().to_owned();
    let (_, outbound) = w.message(
        "sentitems",
        "Vastaus",
        &me,
        &[&e3, "tuntematon@muu.fi"],
        json!({}),
    );
    let (_, internal) = w.message(
        "inbox",
        "Kahvia?",
        "maija.myyja@esimerkki.fi",
        &[w.email()],
        json!({}),
    );
    let (_, stranger) = w.message(
        "inbox",
        "Mainos",
        "myynti@tuntematon.fi",
        &[w.email()],
        json!({}),
    );
    w.sync().await;
    let i = w.crm_email(&inbound);
    assert_eq!(i.len(), 1);
    assert_eq!(i[0]["subject"], "Kysymys");
    assert_eq!(ids(&i[0]["contacts"]), vec![c0]);
    assert_eq!(ids(&i[0]["accounts"]), vec![a0]);
    let o = w.crm_email(&outbound);
    assert_eq!(o.len(), 1);
    assert_eq!(o[0]["from"], me.as_str());
    assert_eq!(ids(&o[0]["contacts"]), vec![c3]);
    assert_eq!(ids(&o[0]["accounts"]), vec![a3]);
    assert!(
        w.crm_email(&internal).is_empty(),
        "internal mail is not tracked"
    );
    assert!(
        w.crm_email(&stranger).is_empty(),
        "mail without CRM contacts is not tracked"
    );
    w.sync().await;
    assert_eq!(w.crm_emails().len(), 2);
}

#[tokio::test]
async fn an_idle_tracking_cycle_costs_one_graph_request_per_folder_and_no_crm_request() {
    let w = tracking_world("busy").await;
    w.sync().await;
    w.sims.graph.reset_stats();
    w.sims.crm.reset_request_counts();
    w.sync().await;
    let graph = w.sims.graph.stats(w.email());
    assert_eq!(
        graph.requests, 3,
        "calendar delta + one per folder: {graph:?}"
    );
    assert_eq!(
        w.sims.crm.total_requests(),
        1,
        "{:?}",
        w.sims.crm.request_counts()
    );
}

#[tokio::test]
async fn with_tracking_off_no_mail_request_is_made() {
    let w = World::new().await;
    w.sync().await;
    w.sync().await;
    let (_, e0, _) = w.contact(0);
    w.message("inbox", "Ei seurata", &e0, &[w.email()], json!({}));
    w.sims.graph.reset_stats();
    w.sync().await;
    let graph = w.sims.graph.stats(w.email());
    assert!(
        graph
            .by_route
            .keys()
            .all(|r| !r.contains("mailFolders") && !r.contains("messages")),
        "{graph:?}"
    );
    assert_eq!(graph.requests, 1, "{graph:?}");
    assert!(w.crm_emails().is_empty());
}

#[tokio::test]
async fn a_lost_answer_to_the_crm_write_makes_no_duplicate() {
    let w = tracking_world("busy").await;
    let (_, e0, _) = w.contact(0);
    let (_, imid) = w.message("inbox", "Vastaus katosi", &e0, &[w.email()], json!({}));
    w.sims.crm.inject_fault(
        sim::crm::FaultRule::new(
            Some("POST"),
            "/api/v1/emails",
            sim::crm::FaultKind::CommitThenDrop,
        )
        .times(1),
    );
    // The email is stored but the run never hears of it: no status record, the cursor stays.
    w.sync().await;
    assert_eq!(w.crm_email(&imid).len(), 1);
    w.sync().await;
    w.sync().await;
    assert_eq!(w.crm_email(&imid).len(), 1);
    let pool = w.server.db.pool().await;
    let (recorded, intents): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM saved_emails WHERE internet_message_id = $1),
                (SELECT count(*) FROM mail_intents)",
    )
    .bind(&imid)
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert_eq!((recorded, intents), (1, 0));
}

#[tokio::test]
async fn tracking_runs_cut_off_at_any_point_lose_and_duplicate_nothing() {
    let w = tracking_world("busy").await;
    let (_, e0, _) = w.contact(0);
    let (_, e1, _) = w.contact(1);
    let mut imids = Vec::new();
    for i in 0..30 {
        let (folder, from, to) = if i % 2 == 0 {
            ("inbox", e0.clone(), w.email().to_owned())
        } else {
            ("sentitems", w.email().to_owned(), e1.clone())
        };
        imids.push(
            w.message(folder, &format!("Viesti {i}"), &from, &[&to], json!({}))
                .1,
        );
    }
    for ms in [3u64, 10, 25, 50, 80, 120, 200, 300] {
        let _ = tokio::time::timeout(
            std::time::Duration::from_millis(ms),
            run_pairing(&w.server.state, w.pairing_id, JobKind::OutlookToCrm),
        )
        .await;
    }
    w.sync().await;
    w.sync().await;
    for imid in &imids {
        assert_eq!(w.crm_email(imid).len(), 1, "{imid}");
    }
    assert_eq!(w.crm_emails().len(), 30);
}

#[tokio::test]
async fn an_expired_mail_delta_restarts_without_losing_or_duplicating_mail() {
    let w = tracking_world("busy").await;
    let (_, e0, _) = w.contact(0);
    let (_, before) = w.message("inbox", "Ennen", &e0, &[w.email()], json!({}));
    w.sync().await;
    assert!(w.sims.graph.expire_delta_tokens(w.email()) > 0);
    let (_, during) = w.message("inbox", "410:n aikana", &e0, &[w.email()], json!({}));
    w.sync().await;
    assert_eq!(w.crm_email(&before).len(), 1);
    assert_eq!(w.crm_email(&during).len(), 1);
    assert_eq!(w.crm_emails().len(), 2);
}

fn private() -> Value {
    json!({"singleValueExtendedProperties": [{"id": "Integer 0x0036", "value": "2"}]})
}

#[tokio::test]
async fn private_mail_in_busy_mode_is_tracked_without_content() {
    let w = tracking_world("busy").await;
    let (c0, e0, _) = w.contact(0);
    let (_, imid) = w.message("inbox", "Palkkaneuvottelu", &e0, &[w.email()], private());
    w.sync().await;
    let e = w.crm_email(&imid);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["subject"], "Yksityinen viesti");
    assert_eq!(e[0]["body"], "");
    assert!(e[0]["body_html"].as_str().unwrap_or("").is_empty());
    assert_eq!(ids(&e[0]["contacts"]), vec![c0]);
}

#[tokio::test]
async fn private_mail_in_skip_mode_is_not_tracked_and_in_full_mode_is() {
    let w = tracking_world("skip").await;
    let (_, e0, _) = w.contact(0);
    let (_, skipped) = w.message("inbox", "Salainen", &e0, &[w.email()], private());
    w.sync().await;
    assert!(w.crm_email(&skipped).is_empty());

    w.set_prefs(|p| p["private_entries"] = json!("full")).await;
    let (_, full) = w.message("inbox", "Salainen 2", &e0, &[w.email()], private());
    w.sync().await;
    let e = w.crm_email(&full);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["subject"], "Salainen 2");
}

#[tokio::test]
async fn either_job_kind_tracks_mail() {
    let w = tracking_world("busy").await;
    let (_, e0, _) = w.contact(0);
    let (_, imid) = w.message("inbox", "Kumpi tahansa", &e0, &[w.email()], json!({}));
    run_pairing(&w.server.state, w.pairing_id, JobKind::CrmToOutlook)
        .await
        .expect("sync run");
    assert_eq!(w.crm_email(&imid).len(), 1);
}

#[tokio::test]
async fn switching_tracking_back_on_starts_from_now_without_importing_the_gap() {
    let w = tracking_world("busy").await;
    let (_, e0, _) = w.contact(0);
    w.set_prefs(|p| p["email_tracking"] = json!(false)).await;
    // Arrives after the old cursor's start, while tracking is off.
    let (_, while_off) = w.message("inbox", "Pois päältä", &e0, &[w.email()], json!({}));
    w.sync().await;
    // Cursors start at whole seconds: switch back on clearly later than the message arrived.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    w.set_prefs(|p| p["email_tracking"] = json!(true)).await;
    w.sync().await;
    let (_, after) = w.message("inbox", "Taas päällä", &e0, &[w.email()], json!({}));
    w.sync().await;
    assert!(
        w.crm_email(&while_off).is_empty(),
        "mail from while tracking was off is not imported"
    );
    assert_eq!(w.crm_email(&after).len(), 1);
}

/// Waits (up to 10 s) until `check` holds.
async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    mut check: impl FnMut() -> F,
) {
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("not within 10 s: {what}");
}

#[tokio::test]
async fn new_mail_in_a_tracked_folder_starts_a_run_at_once_and_switching_off_unsubscribes() {
    let w = tracking_world("busy").await;
    let pool = w.server.db.pool().await;
    let subs = |pool: sqlx::PgPool| async move {
        let v: Vec<String> =
            sqlx::query_scalar("SELECT resource FROM graph_subscriptions ORDER BY resource")
                .fetch_all(&pool)
                .await
                .unwrap();
        v
    };
    assert_eq!(
        subs(pool.clone()).await,
        vec!["calendar", "inbox", "sentitems"]
    );
    // Nothing due: the next run is the scheduled poll.
    sqlx::query("UPDATE jobs SET run_at = now() + interval '1 hour'")
        .execute(&pool)
        .await
        .unwrap();
    let (_, e0, _) = w.contact(0);
    w.message("inbox", "Heti", &e0, &[w.email()], json!({}));
    eventually("the notification makes the pairing's job due", || {
        let pool = pool.clone();
        async move {
            let due: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE run_at <= now()")
                .fetch_one(&pool)
                .await
                .unwrap();
            due > 0
        }
    })
    .await;

    w.set_prefs(|p| p["email_tracking"] = json!(false)).await;
    assert_eq!(subs(pool.clone()).await, vec!["calendar"]);
    assert_eq!(w.sims.graph.subscriptions().len(), 1);
    pool.close().await;
}

/// The pairing's subscriptions as the server records them: (resource, id), by resource.
async fn recorded_subscriptions(pool: &sqlx::PgPool) -> Vec<(String, String)> {
    sqlx::query_as("SELECT resource, id FROM graph_subscriptions ORDER BY resource")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_subscription_graph_removes_is_replaced_on_the_same_calendar_or_mail_folder() {
    let w = tracking_world("busy").await;
    let pool = w.server.db.pool().await;
    let before = recorded_subscriptions(&pool).await;
    let resources: Vec<&str> = before.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(resources, ["calendar", "inbox", "sentitems"]);
    // Graph's resource string of each subscription, by id.
    let graph_resource = |id: &str| {
        w.sims
            .graph
            .subscriptions()
            .into_iter()
            .find(|s| s["id"] == id)
            .map(|s| s["resource"].as_str().unwrap().to_owned())
    };

    for (resource, old_id) in [&before[1], &before[0]] {
        let watched = graph_resource(old_id).expect("Graph has the subscription");
        // Graph removes the subscription and says so on the lifecycle endpoint.
        let status = w
            .sims
            .graph
            .send_lifecycle(old_id, "subscriptionRemoved")
            .await
            .unwrap();
        assert_eq!(status, 202, "the lifecycle notification is accepted");
        let pool2 = pool.clone();
        eventually(&format!("the {resource} subscription is replaced"), || {
            let pool = pool2.clone();
            async move {
                recorded_subscriptions(&pool)
                    .await
                    .iter()
                    .any(|(r, id)| r == resource && id != old_id)
            }
        })
        .await;
        let now = recorded_subscriptions(&pool).await;
        let new_id = &now.iter().find(|(r, _)| r == resource).unwrap().1;
        assert_eq!(
            now.iter().filter(|(r, _)| r == resource).count(),
            1,
            "one subscription per resource: {now:?}"
        );
        assert!(now.iter().all(|(_, id)| id != old_id), "{now:?}");
        assert_eq!(
            graph_resource(new_id).as_deref(),
            Some(watched.as_str()),
            "the new subscription watches what the removed one did"
        );
        assert_eq!(graph_resource(old_id), None);
    }
    assert_eq!(w.sims.graph.subscriptions().len(), 3);

    // The replacement works: new mail in the Inbox is notified on it, and the server accepts it
    // (its clientState matches the one recorded with the new subscription).
    let inbox_id = recorded_subscriptions(&pool)
        .await
        .into_iter()
        .find(|(r, _)| r == "inbox")
        .unwrap()
        .1;
    pool.close().await;
    w.sims.graph.set_recording(true);
    let (_, e0, _) = w.contact(0);
    w.message(
        "inbox",
        "Uuden tilauksen kautta",
        &e0,
        &[w.email()],
        json!({}),
    );
    let mut seen = Vec::new();
    eventually(
        "the new Inbox subscription's notification is accepted",
        || {
            seen.extend(w.sims.graph.take_exchanges());
            let accepted = seen.iter().any(|x| {
                x.route == "notification"
                    && x.status == 202
                    && x.request_body
                        .as_ref()
                        .is_some_and(|b| b["value"][0]["subscriptionId"] == inbox_id.as_str())
            });
            async move { accepted }
        },
    )
    .await;
}
