//! Realistic Finnish demo data.

use chrono::{Datelike, Duration, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::GraphSim;
use super::ops::MailboxSpec;

/// What [`GraphSim::seed_demo`] created.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DemoMailbox {
    pub email: String,
    pub display_name: String,
    pub time_zone: String,
    pub user_id: String,
    pub tenant_id: String,
    pub calendar_id: String,
    /// Every event (single events and series masters) in creation order.
    pub event_ids: Vec<String>,
    pub private_event_id: String,
    pub all_day_event_id: String,
    pub recurring_master_id: String,
    pub message_ids: Vec<String>,
}

pub const DEMO_EMAIL: &str = "demo@esimerkki.fi";

fn helsinki(date: chrono::NaiveDate, h: u32, m: u32) -> serde_json::Value {
    json!({"dateTime": date.and_time(NaiveTime::from_hms_opt(h, m, 0).expect("time")).format("%Y-%m-%dT%H:%M:%S").to_string(),
           "timeZone": "Europe/Helsinki"})
}

fn person(name: &str, address: &str) -> serde_json::Value {
    json!({"emailAddress": {"name": name, "address": address}})
}

impl GraphSim {
    /// Creates `demo@esimerkki.fi` ("Maija Meikäläinen", Europe/Helsinki) with a calendar of a few
    /// weeks of meetings (one private, one all-day, a weekly series with an exception and a
    /// cancelled occurrence), a second calendar "Asiakastapaamiset", ordinary contacts and mail
    /// exchanged with customers who are contacts in the demo CRM
    /// (`crates/sim/src/crm/seed.rs`: Matti Virtanen and Liisa Korhonen of Kone ja Terä Oy) and one
    /// person who is not (Ville Lahtinen). Dates are relative to today. Seeding again
    /// replaces the demo mailbox with a fresh one.
    pub fn seed_demo(&self) -> DemoMailbox {
        self.inner.state.lock().mailboxes.remove(DEMO_EMAIL);
        let info = match self.mailbox_info(DEMO_EMAIL) {
            Some(i) => i,
            None => self
                .create_mailbox(MailboxSpec {
                    email: DEMO_EMAIL.into(),
                    display_name: "Maija Meikäläinen".into(),
                    time_zone: "Europe/Helsinki".into(),
                    calendars: vec!["Asiakastapaamiset".into()],
                    tenant_id: None,
                    user_id: None,
                })
                .expect("demo mailbox"),
        };
        let email = DEMO_EMAIL;
        let today = Utc::now().date_naive();
        let monday = today - Duration::days(today.weekday().num_days_from_monday() as i64);
        let d = |days: i64| monday + Duration::days(days);
        let mut ids = vec![];
        let mut ev = |body: serde_json::Value| {
            let id = self.create_event(email, None, body).expect("demo event");
            ids.push(id.clone());
            id
        };
        let matti = person("Matti Virtanen", "matti.virtanen@konejatera.fi");
        let liisa = person("Liisa Korhonen", "liisa.korhonen@konejatera.fi");
        let ville = person("Ville Lahtinen", "ville.lahtinen@rakennus-lahtinen.fi");
        ev(
            json!({"subject": "Asiakastapaaminen: Kone ja Terä Oy", "body": {"contentType": "html", "content": "<p>Sopimuksen jatkosta ja hinnoittelusta.</p>"},
            "start": helsinki(d(-7), 10, 0), "end": helsinki(d(-7), 11, 0), "location": {"displayName": "Kone ja Terä Oy, Mannerheimintie 12, Helsinki"},
            "attendees": [{"type": "required", "emailAddress": matti["emailAddress"].clone()}], "categories": ["Asiakas"]}),
        );
        ev(
            json!({"subject": "Tarjouspalaveri", "body": {"contentType": "text", "content": "Käydään läpi tarjousluonnos."},
            "start": helsinki(d(-5), 13, 0), "end": helsinki(d(-5), 14, 30), "location": {"displayName": "Teams"},
            "attendees": [{"type": "required", "emailAddress": liisa["emailAddress"].clone()}]}),
        );
        let private_id = ev(
            json!({"subject": "Lääkäri", "body": {"contentType": "text", "content": "Työterveyshuolto"},
            "start": helsinki(d(1), 8, 0), "end": helsinki(d(1), 9, 0), "sensitivity": "private", "showAs": "oof"}),
        );
        ev(
            json!({"subject": "Työmaakatselmus Espoossa", "start": helsinki(d(2), 9, 30), "end": helsinki(d(2), 11, 0),
            "location": {"displayName": "Keilaranta 5, Espoo"}, "attendees": [{"type": "required", "emailAddress": ville["emailAddress"].clone()}]}),
        );
        let all_day = ev(
            json!({"subject": "Messut: Rakentaminen 2026", "isAllDay": true,
            "start": {"dateTime": format!("{}T00:00:00", d(3)), "timeZone": "Europe/Helsinki"},
            "end": {"dateTime": format!("{}T00:00:00", d(4)), "timeZone": "Europe/Helsinki"}, "showAs": "free", "location": {"displayName": "Messukeskus"}}),
        );
        ev(
            json!({"subject": "Sopimusneuvottelu", "start": helsinki(d(8), 14, 0), "end": helsinki(d(8), 15, 0),
            "attendees": [{"type": "required", "emailAddress": matti["emailAddress"].clone()}, {"type": "optional", "emailAddress": liisa["emailAddress"].clone()}]}),
        );
        ev(
            json!({"subject": "Lounas Liisan kanssa", "start": helsinki(d(10), 11, 30), "end": helsinki(d(10), 12, 30), "location": {"displayName": "Ravintola Savoy"}}),
        );
        ev(
            json!({"subject": "Kvartaalikatsaus", "start": helsinki(d(16), 9, 0), "end": helsinki(d(16), 10, 0), "importance": "high"}),
        );
        let master = ev(
            json!({"subject": "Viikkopalaveri", "body": {"contentType": "text", "content": "Myyntitiimin viikkopalaveri."},
            "start": helsinki(d(-14), 9, 0), "end": helsinki(d(-14), 9, 30), "location": {"displayName": "Neuvotteluhuone Kuusi"},
            "recurrence": {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"], "firstDayOfWeek": "monday"},
                           "range": {"type": "endDate", "startDate": d(-14).to_string(), "endDate": d(42).to_string(), "recurrenceTimeZone": "Europe/Helsinki"}}}),
        );
        debug_assert_eq!(d(0).weekday(), Weekday::Mon);
        // The user moved one occurrence and cancelled another.
        let occ_moved = super::model::occurrence_id(&master, d(7));
        self.update_event(email, &occ_moved, json!({"start": helsinki(d(8), 10, 0), "end": helsinki(d(8), 10, 30), "subject": "Viikkopalaveri (siirretty)"}))
            .expect("exception");
        let occ_cancelled = super::model::occurrence_id(&master, d(14));
        self.delete_event(email, &occ_cancelled).expect("cancel");
        let _ = self.create_contact(email, None, json!({"givenName": "Matti", "surname": "Virtanen", "companyName": "Kone ja Terä Oy",
            "emailAddresses": [{"name": "Matti Virtanen", "address": "matti.virtanen@konejatera.fi"}], "businessPhones": ["+358 40 123 4567"]}));
        let _ = self.create_contact(
            email,
            None,
            json!({"givenName": "Äiti", "surname": "Meikäläinen",
            "emailAddresses": [{"name": "Äiti", "address": "aiti@koti.fi"}]}),
        );
        let me = person("Maija Meikäläinen", email);
        let mut msgs = vec![];
        let now = Utc::now();
        let mut msg = |folder: &str, body: serde_json::Value| {
            msgs.push(self.add_message(email, folder, body).expect("demo message"));
        };
        msg(
            "inbox",
            json!({"subject": "Tarjouspyyntö: huoltosopimus", "from": matti, "sender": matti, "toRecipients": [me],
            "body": {"contentType": "html", "content": "<p>Hei Maija,</p><p>voisitteko lähettää tarjouksen huoltosopimuksesta ensi vuodelle?</p><p>Terveisin<br>Matti</p>"},
            "sentDateTime": super::model::fmt_utc(now - Duration::days(6)), "internetMessageId": "<CAF1a2b3c4@konejatera.fi>"}),
        );
        msg(
            "sentitems",
            json!({"subject": "RE: Tarjouspyyntö: huoltosopimus", "from": me, "sender": me, "toRecipients": [matti], "ccRecipients": [liisa],
            "body": {"contentType": "html", "content": "<p>Hei Matti,</p><p>tarjous liitteenä. Palataan asiaan torstain palaverissa.</p><p>Ystävällisin terveisin<br>Maija</p>"},
            "sentDateTime": super::model::fmt_utc(now - Duration::days(5)), "internetMessageId": "<DB6PR0301MB@esimerkki.fi>"}),
        );
        msg(
            "inbox",
            json!({"subject": "Pöytäkirja 12.3.", "from": liisa, "sender": liisa, "toRecipients": [me],
            "body": {"contentType": "text", "content": "Liitteenä eilisen palaverin pöytäkirja. t. Liisa"},
            "sentDateTime": super::model::fmt_utc(now - Duration::days(2)), "internetMessageId": "<a81f0e@konejatera.fi>"}),
        );
        DemoMailbox {
            email: info.email.clone(),
            display_name: info.display_name.clone(),
            time_zone: info.time_zone.clone(),
            user_id: info.user_id.clone(),
            tenant_id: info.tenant_id.clone(),
            calendar_id: info
                .calendars
                .iter()
                .find(|c| c.2)
                .map(|c| c.0.clone())
                .unwrap_or_default(),
            event_ids: ids,
            private_event_id: private_id,
            all_day_event_id: all_day,
            recurring_master_id: master,
            message_ids: msgs,
        }
    }
}
