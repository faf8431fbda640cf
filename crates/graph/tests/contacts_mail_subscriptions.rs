//! Contacts in the "CRM" folder, messages, mail folder delta and change notifications.

mod common;

use std::time::Duration;

use axum::{Router, extract::RawQuery, http::StatusCode, response::IntoResponse, routing::post};
use chrono::Utc;
use common::{EMAIL, Harness, event_body};
use graph::{
    ChangeNotificationCollection, ContactWrite, EmailAddress, GraphError, LifecycleEvent,
    MessageDeltaItem, NewSubscription, UpsertOutcome,
};
use serde_json::json;
use tokio::sync::mpsc;

fn contact(name: &str, email: &str) -> ContactWrite {
    ContactWrite {
        given_name: Some(name.into()),
        surname: Some("Virtanen".into()),
        company_name: Some("Asiakas Oy".into()),
        email_addresses: Some(vec![EmailAddress {
            name: Some(name.into()),
            address: Some(email.into()),
        }]),
        ..Default::default()
    }
}

#[tokio::test]
async fn crm_folder_is_created_once_and_contacts_are_upserted_by_crm_id() {
    let h = Harness::start().await;
    let own = h
        .sim
        .create_contact(
            EMAIL,
            None,
            json!({"givenName": "Äiti", "emailAddresses": [{"address": "liisa@asiakas.fi"}]}),
        )
        .unwrap();
    let folder = h.mb.ensure_contact_folder("CRM").await.unwrap();
    assert_eq!(h.mb.ensure_contact_folder("CRM").await.unwrap(), folder);
    assert_eq!(
        h.sim
            .stats(EMAIL)
            .by_route
            .get("POST /v1.0/me/contactFolders"),
        Some(&1)
    );
    let (c, o) =
        h.mb.upsert_contact(&folder, "crm-c-1", &contact("Liisa", "liisa@asiakas.fi"))
            .await
            .unwrap();
    assert_eq!(o, UpsertOutcome::Created);
    assert_eq!(c.crm_contact_id(), Some("crm-c-1"));
    let (c2, o2) =
        h.mb.upsert_contact(
            &folder,
            "crm-c-1",
            &ContactWrite {
                job_title: Some("Toimitusjohtaja".into()),
                ..contact("Liisa", "liisa@asiakas.fi")
            },
        )
        .await
        .unwrap();
    assert_eq!(o2, UpsertOutcome::Updated);
    assert_eq!(c2.id, c.id);
    assert_eq!(c2.job_title.as_deref(), Some("Toimitusjohtaja"));
    // Matching by address stays inside our folder although the user has the same address.
    let by_mail =
        h.mb.find_contacts_by_email(&folder, "liisa@asiakas.fi")
            .await
            .unwrap();
    assert_eq!(by_mail.len(), 1);
    assert_eq!(by_mail[0].id, c.id);
    h.mb.delete_contact(&folder, &c.id).await.unwrap();
    let all = h.sim.contacts(EMAIL);
    assert_eq!(all.len(), 1);
    assert_eq!(
        all[0]["id"],
        own.as_str(),
        "the user's own contact is untouched"
    );
    h.stop().await;
}

#[tokio::test]
async fn message_is_read_with_the_fields_save_to_crm_needs() {
    let h = Harness::start().await;
    let id = h.sim.add_message(EMAIL, "inbox", json!({"subject": "Tarjouspyyntö", "from": {"emailAddress": {"name": "Teppo", "address": "teppo@asiakas.fi"}},
        "toRecipients": [{"emailAddress": {"address": EMAIL}}], "ccRecipients": [{"emailAddress": {"address": "liisa@asiakas.fi"}}],
        "body": {"contentType": "html", "content": "<p>Hei!</p>"}, "internetMessageId": "<abc@asiakas.fi>", "sentDateTime": "2026-03-02T08:00:00Z"})).unwrap();
    let m = h.mb.get_message(&id).await.unwrap();
    assert_eq!(m.subject.as_deref(), Some("Tarjouspyyntö"));
    assert_eq!(
        m.from.unwrap().email_address.address.as_deref(),
        Some("teppo@asiakas.fi")
    );
    assert_eq!(m.cc_recipients.unwrap().len(), 1);
    assert_eq!(m.internet_message_id.as_deref(), Some("<abc@asiakas.fi>"));
    assert!(m.sent_date_time.is_some());
    assert!(
        h.mb.get_message("AAMkAGMnope")
            .await
            .unwrap_err()
            .is_not_found()
    );
    h.stop().await;
}

#[tokio::test]
async fn attachments_are_listed_without_content_and_read_raw() {
    let h = Harness::start().await;
    let id = h
        .sim
        .add_message(
            EMAIL,
            "inbox",
            json!({"subject": "Liite", "attachments": [{"@odata.type": "#microsoft.graph.fileAttachment",
                "name": "tarjous.pdf", "contentType": "application/pdf", "contentBytes": "JVBERi0xLjc="}]}),
        )
        .unwrap();
    h.sim
        .add_attachment(
            EMAIL,
            &id,
            "iso.bin",
            "application/octet-stream",
            vec![7u8; 3000],
        )
        .unwrap();
    let m = h.mb.get_message(&id).await.unwrap();
    assert_eq!(m.has_attachments, Some(true));
    assert!(!m.is_private());
    let private = h
        .sim
        .add_message(
            EMAIL,
            "inbox",
            json!({"subject": "Salainen", "singleValueExtendedProperties": [{"id": "Integer 0x0036", "value": "2"}]}),
        )
        .unwrap();
    assert!(h.mb.get_message(&private).await.unwrap().is_private());
    let list = h.mb.list_attachments(&id).await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|a| a.is_file() && !a.is_inline));
    assert_eq!(list[0].name.as_deref(), Some("tarjous.pdf"));
    assert!(list[1].size >= 3000, "{:?}", list[1]);
    let bytes = h.mb.attachment_content(&id, &list[0].id).await.unwrap();
    assert_eq!(bytes, b"%PDF-1.7");
    assert!(
        h.mb.attachment_content(&id, "AAMkAGAnope")
            .await
            .unwrap_err()
            .is_not_found()
    );
    h.stop().await;
}

#[tokio::test]
async fn mail_folder_delta_since_leaves_older_mail_out_and_follows_new_mail() {
    let h = Harness::start().await;
    h.sim
        .add_message(
            EMAIL,
            "inbox",
            json!({"subject": "vanha", "sentDateTime": "2026-01-02T08:00:00Z"}),
        )
        .unwrap();
    let r1 =
        h.mb.mail_folder_delta_since("inbox", Utc::now() - chrono::Duration::seconds(5))
            .await
            .unwrap();
    assert!(r1.items.is_empty(), "{:?}", r1.items);
    let new = h
        .sim
        .add_message(EMAIL, "inbox", json!({"subject": "uusi"}))
        .unwrap();
    let r2 =
        h.mb.mail_folder_delta("inbox", Some(&r1.delta_link))
            .await
            .unwrap();
    assert_eq!(r2.items.len(), 1);
    assert!(matches!(&r2.items[0], MessageDeltaItem::Upsert(m) if m.id == new));
    h.stop().await;
}

#[tokio::test]
async fn mail_folder_delta_reports_new_and_removed_messages() {
    let h = Harness::start().await;
    let first = h
        .sim
        .add_message(EMAIL, "inbox", json!({"subject": "1"}))
        .unwrap();
    h.sim
        .add_message(EMAIL, "sentitems", json!({"subject": "lähetetty"}))
        .unwrap();
    let r1 = h.mb.mail_folder_delta("inbox", None).await.unwrap();
    assert_eq!(r1.items.len(), 1);
    let second = h
        .sim
        .add_message(EMAIL, "inbox", json!({"subject": "2"}))
        .unwrap();
    h.sim.delete_message(EMAIL, &first).unwrap();
    let r2 =
        h.mb.mail_folder_delta("inbox", Some(&r1.delta_link))
            .await
            .unwrap();
    assert_eq!(r2.items.len(), 2);
    assert!(
        r2.items
            .iter()
            .any(|i| matches!(i, MessageDeltaItem::Upsert(m) if m.id == second))
    );
    assert!(
        r2.items
            .iter()
            .any(|i| matches!(i, MessageDeltaItem::Removed { id } if *id == first))
    );
    h.sim.expire_delta_tokens(EMAIL);
    assert!(matches!(
        h.mb.mail_folder_delta("inbox", Some(&r2.delta_link)).await,
        Err(GraphError::ResyncRequired)
    ));
    h.stop().await;
}

/// A webhook receiver like the server's: echoes validation tokens, queues notifications.
async fn receiver(
    echo: bool,
    fail_notify: bool,
) -> (
    sim::Running,
    mpsc::UnboundedReceiver<ChangeNotificationCollection>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let handler = move |uri: axum::http::Uri, RawQuery(q): RawQuery, body: axum::body::Bytes| {
        let tx = tx.clone();
        async move {
            if let Some(token) = q.as_deref().and_then(graph::validation_token_from_query) {
                let token = if echo { token } else { "nope".into() };
                return (StatusCode::OK, [("content-type", "text/plain")], token).into_response();
            }
            if fail_notify && uri.path() == "/notify" {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
            let n: ChangeNotificationCollection = serde_json::from_slice(&body).unwrap();
            tx.send(n).unwrap();
            StatusCode::ACCEPTED.into_response()
        }
    };
    let app = Router::new()
        .route("/notify", post(handler.clone()))
        .route("/lifecycle", post(handler));
    (
        sim::serve(app, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap(),
        rx,
    )
}

async fn next(
    rx: &mut mpsc::UnboundedReceiver<ChangeNotificationCollection>,
) -> ChangeNotificationCollection {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("notification within 5 s")
        .unwrap()
}

#[tokio::test]
async fn subscription_handshake_notifications_with_client_state_renew_and_delete() {
    let h = Harness::start().await;
    let (rcv, mut rx) = receiver(true, false).await;
    let url = format!("{}/notify", rcv.base_url);
    let lc = format!("{}/lifecycle", rcv.base_url);
    let sub =
        h.mb.create_subscription(&NewSubscription::calendar_events(
            &h.calendar_id,
            &url,
            Some(&lc),
            "salainen-tila",
            Utc::now() + chrono::Duration::hours(48),
        ))
        .await
        .unwrap();
    // A change made by the user in Outlook is notified.
    let id = h
        .sim
        .create_event(
            EMAIL,
            None,
            event_body("Uusi", "2026-03-02T10:00:00", "2026-03-02T11:00:00"),
        )
        .unwrap();
    let n = next(&mut rx).await;
    assert_eq!(n.value.len(), 1);
    let c = &n.value[0];
    assert_eq!(c.subscription_id, sub.id);
    assert_eq!(c.change_type.as_deref(), Some("created"));
    assert!(c.client_state_matches("salainen-tila"));
    assert!(!c.client_state_matches("salainen-tilb"));
    assert_eq!(
        c.resource_data.as_ref().unwrap().id.as_deref(),
        Some(id.as_str())
    );
    // Events of the other calendar are not.
    h.sim
        .create_event(
            EMAIL,
            Some("Asiakastapaamiset"),
            event_body("Muu", "2026-03-02T10:00:00", "2026-03-02T11:00:00"),
        )
        .unwrap();
    h.sim
        .update_event(EMAIL, &id, json!({"subject": "Muutettu"}))
        .unwrap();
    assert_eq!(
        next(&mut rx).await.value[0].change_type.as_deref(),
        Some("updated")
    );
    let renewed =
        h.mb.renew_subscription(&sub.id, Utc::now() + chrono::Duration::days(6))
            .await
            .unwrap();
    assert!(renewed.expiration_date_time > sub.expiration_date_time);
    assert!(matches!(
        h.mb.renew_subscription(&sub.id, Utc::now() + chrono::Duration::days(8))
            .await,
        Err(GraphError::BadRequest { .. })
    ));
    assert_eq!(
        h.sim
            .send_lifecycle(&sub.id, "reauthorizationRequired")
            .await
            .unwrap(),
        202
    );
    let l = next(&mut rx).await;
    assert_eq!(
        l.value[0].lifecycle_event,
        Some(LifecycleEvent::ReauthorizationRequired)
    );
    h.mb.delete_subscription(&sub.id).await.unwrap();
    assert!(h.sim.subscriptions().is_empty());
    h.sim.delete_event(EMAIL, &id).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(rx.try_recv().is_err(), "no notifications after delete");
    rcv.stop().await;
    h.stop().await;
}

#[tokio::test]
async fn subscription_is_refused_when_the_endpoint_does_not_echo_the_validation_token() {
    let h = Harness::start().await;
    let (rcv, _rx) = receiver(false, false).await;
    let url = format!("{}/notify", rcv.base_url);
    let r =
        h.mb.create_subscription(&NewSubscription::calendar_events(
            &h.calendar_id,
            &url,
            None,
            "s",
            Utc::now() + chrono::Duration::hours(1),
        ))
        .await;
    assert!(
        matches!(r, Err(GraphError::BadRequest { ref code, .. }) if code == "ValidationError"),
        "{r:?}"
    );
    assert!(h.sim.subscriptions().is_empty());
    rcv.stop().await;
    h.stop().await;
}

#[tokio::test]
async fn crm_folder_created_concurrently_elsewhere_is_adopted_after_409() {
    let h = Harness::start().await;
    h.sim.add_fault(sim::graph::Fault {
        method: Some("POST".into()),
        route: "/v1.0/me/contactFolders".into(),
        mailbox: None,
        kind: sim::graph::FaultKind::Latency { ms: 300 },
        times: Some(1),
    });
    let mb = h.mb.clone();
    let ensure = tokio::spawn(async move { mb.ensure_contact_folder("CRM").await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let other = h.sim.create_contact_folder(EMAIL, "CRM").unwrap();
    assert_eq!(ensure.await.unwrap().unwrap(), other);
    assert_eq!(
        h.sim.contact_folders(EMAIL).len(),
        2,
        "default Contacts + one CRM"
    );
    h.stop().await;
}

#[tokio::test]
async fn undeliverable_notifications_end_in_a_missed_lifecycle_event_and_pausing_stops_them() {
    let h = Harness::start().await;
    let (rcv, mut rx) = receiver(true, true).await;
    let sub =
        h.mb.create_subscription(&NewSubscription::calendar_events(
            &h.calendar_id,
            &format!("{}/notify", rcv.base_url),
            Some(&format!("{}/lifecycle", rcv.base_url)),
            "tila",
            Utc::now() + chrono::Duration::hours(1),
        ))
        .await
        .unwrap();
    h.sim
        .create_event(
            EMAIL,
            None,
            event_body("A", "2026-03-02T10:00:00", "2026-03-02T11:00:00"),
        )
        .unwrap();
    let n = next(&mut rx).await;
    assert_eq!(n.value[0].subscription_id, sub.id);
    assert_eq!(n.value[0].lifecycle_event, Some(LifecycleEvent::Missed));
    assert!(n.value[0].client_state_matches("tila"));
    rcv.stop().await;

    let (rcv, mut rx) = receiver(true, false).await;
    h.mb.create_subscription(&NewSubscription::calendar_events(
        &h.calendar_id,
        &format!("{}/notify", rcv.base_url),
        None,
        "tila",
        Utc::now() + chrono::Duration::hours(1),
    ))
    .await
    .unwrap();
    h.sim.set_notifications_paused(true);
    h.sim
        .create_event(
            EMAIL,
            None,
            event_body("B", "2026-03-03T10:00:00", "2026-03-03T11:00:00"),
        )
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(rx.try_recv().is_err(), "paused: nothing delivered");
    h.sim.set_notifications_paused(false);
    h.sim
        .create_event(
            EMAIL,
            None,
            event_body("C", "2026-03-04T10:00:00", "2026-03-04T11:00:00"),
        )
        .unwrap();
    assert_eq!(
        next(&mut rx).await.value[0].change_type.as_deref(),
        Some("created")
    );
    rcv.stop().await;
    h.stop().await;
}
