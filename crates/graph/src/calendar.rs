//! Calendars, calendarView delta and events.

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::{Req, error_for};
use crate::{
    CRM_ACTIVITY_ID_PROP, CRM_ACTIVITY_TYPE_PROP, Calendar, Event, EventWrite, GraphError,
    MailboxClient,
};

/// Where a delta round continues from. Store [`DeltaPosition::Link`] (an opaque URL) between
/// rounds; it is bound to the window of the round's first request, so a new window needs a new
/// [`DeltaPosition::Start`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeltaPosition {
    /// A first round over a window of a calendar.
    Start {
        calendar_id: String,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
    /// An `@odata.nextLink` or `@odata.deltaLink` exactly as Graph returned it.
    Link(String),
}

/// One change from a delta page.
#[derive(Clone, Debug, PartialEq)]
pub enum DeltaItem {
    /// New or changed (occurrences may carry only id, type, seriesMasterId, start and end).
    Upsert(Box<Event>),
    /// Deleted **or moved out of the window**: confirm with [`MailboxClient::confirm_deleted`]
    /// before deleting anything elsewhere.
    Removed { id: String },
}

/// One page of a delta round.
#[derive(Clone, Debug)]
pub struct DeltaPage {
    pub items: Vec<DeltaItem>,
    /// `Link(nextLink)` while the round goes on.
    pub next: Option<DeltaPosition>,
    /// Set on the last page: store it and start the next round from it.
    pub delta_link: Option<String>,
}

/// A whole round.
#[derive(Clone, Debug)]
pub struct DeltaRound {
    pub items: Vec<DeltaItem>,
    pub delta_link: String,
    pub pages: u32,
}

fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Decides "really deleted" from the answer to `GET /me/events/{id}`: a 404 or a cancelled event.
pub fn confirm_deleted_from(result: &Result<Event, GraphError>) -> Option<bool> {
    match result {
        Ok(e) => Some(e.is_cancelled == Some(true)),
        Err(e) if e.is_not_found() => Some(true),
        Err(_) => None,
    }
}

/// `$expand` for our two event properties.
fn expand_ours() -> String {
    format!(
        "singleValueExtendedProperties($filter=id eq '{CRM_ACTIVITY_ID_PROP}' or id eq '{CRM_ACTIVITY_TYPE_PROP}')"
    )
}

fn odata_quote(s: &str) -> String {
    s.replace('\'', "''")
}

impl MailboxClient {
    fn page_pref(&self) -> String {
        format!("odata.maxpagesize={}", self.inner.config.page_size)
    }

    /// `GET /me`: the mailbox owner. A user without an Exchange Online mailbox answers
    /// [`GraphError::MailboxNotEnabled`].
    pub async fn me(&self) -> Result<crate::User, GraphError> {
        self.send_json(&Req::get("/me")).await
    }

    /// The mailbox's time zone (`GET /me/mailboxSettings`), IANA or Windows name as Graph stores it.
    pub async fn mailbox_time_zone(&self) -> Result<Option<String>, GraphError> {
        let v: Value = self.send_json(&Req::get("/me/mailboxSettings")).await?;
        Ok(v["timeZone"].as_str().map(str::to_string))
    }

    /// `GET /me/calendars` (all pages).
    pub async fn list_calendars(&self) -> Result<Vec<Calendar>, GraphError> {
        self.collect_pages(Req::get("/me/calendars")).await
    }

    /// One page of a calendarView delta round. A 410 answers [`GraphError::ResyncRequired`].
    pub async fn delta_page(&self, pos: &DeltaPosition) -> Result<DeltaPage, GraphError> {
        let req = match pos {
            DeltaPosition::Start {
                calendar_id,
                start,
                end,
            } => Req::get(format!("/me/calendars/{calendar_id}/calendarView/delta"))
                .query("startDateTime", iso(*start))
                .query("endDateTime", iso(*end)),
            DeltaPosition::Link(l) => Req::get(l.clone()),
        }
        .header("Prefer", self.page_pref());
        let page: Value = self.send_json(&req).await?;
        let raw = page["value"]
            .as_array()
            .ok_or_else(|| GraphError::Decode("delta page without value".into()))?;
        let mut items = Vec::with_capacity(raw.len());
        for v in raw {
            if v.get("@removed").is_some() {
                let id = v["id"]
                    .as_str()
                    .ok_or_else(|| GraphError::Decode("@removed without id".into()))?;
                items.push(DeltaItem::Removed { id: id.to_string() });
            } else {
                let e: Event = serde_json::from_value(v.clone())
                    .map_err(|e| GraphError::Decode(format!("delta event: {e}")))?;
                items.push(DeltaItem::Upsert(Box::new(e)));
            }
        }
        let next = page["@odata.nextLink"]
            .as_str()
            .map(|s| DeltaPosition::Link(s.to_string()));
        let delta_link = page["@odata.deltaLink"].as_str().map(str::to_string);
        if next.is_none() && delta_link.is_none() {
            return Err(GraphError::Decode(
                "delta page with neither nextLink nor deltaLink".into(),
            ));
        }
        Ok(DeltaPage {
            items,
            next,
            delta_link,
        })
    }

    /// A whole delta round from `pos` (following every nextLink).
    pub async fn delta_round(&self, pos: &DeltaPosition) -> Result<DeltaRound, GraphError> {
        let mut items = vec![];
        let mut pos = pos.clone();
        let mut pages = 0;
        loop {
            let p = self.delta_page(&pos).await?;
            pages += 1;
            items.extend(p.items);
            if let Some(d) = p.delta_link {
                return Ok(DeltaRound {
                    items,
                    delta_link: d,
                    pages,
                });
            }
            pos = p.next.expect("checked in delta_page");
        }
    }

    /// `GET /me/events/{id}` with our extended properties expanded.
    pub async fn get_event(&self, id: &str) -> Result<Event, GraphError> {
        self.send_json(&Req::get(format!("/me/events/{id}")).query("$expand", expand_ours()))
            .await
    }

    /// Whether an event reported `@removed` is really deleted (404 or cancelled), as opposed to
    /// having left the window.
    pub async fn confirm_deleted(&self, id: &str) -> Result<bool, GraphError> {
        let r = self
            .send_json::<Event>(&Req::get(format!("/me/events/{id}")))
            .await;
        match confirm_deleted_from(&r) {
            Some(b) => Ok(b),
            None => Err(r.expect_err("None only for errors")),
        }
    }

    /// Creates an event in a calendar. `transaction_id` must be deterministic
    /// ([`crate::transaction_id`]) so that a retry after a lost answer returns the same event.
    pub async fn create_event(
        &self,
        calendar_id: &str,
        event: &EventWrite,
        transaction_id: &str,
    ) -> Result<Event, GraphError> {
        let mut body = event.clone();
        body.transaction_id = Some(transaction_id.to_string());
        let body = serde_json::to_value(&body).map_err(|e| GraphError::Decode(e.to_string()))?;
        // Safe to repeat after a transport failure: the transactionId makes it idempotent.
        let req = Req::with_body(
            Method::POST,
            format!("/me/calendars/{calendar_id}/events"),
            body,
            true,
        );
        self.send_json(&req).await
    }

    /// Updates an event if it still has `change_key` (`If-Match`); a stale key answers
    /// [`GraphError::Conflict`].
    pub async fn update_event(
        &self,
        id: &str,
        change_key: &str,
        patch: &EventWrite,
    ) -> Result<Event, GraphError> {
        let body = serde_json::to_value(patch).map_err(|e| GraphError::Decode(e.to_string()))?;
        let req = Req::with_body(Method::PATCH, format!("/me/events/{id}"), body, true)
            .header("If-Match", format!("W/\"{change_key}\""));
        self.send_json(&req).await
    }

    /// Sets our marks on an event (activity id and chosen type).
    pub async fn set_crm_marks(
        &self,
        id: &str,
        change_key: &str,
        activity_id: &str,
        activity_type: Option<&str>,
    ) -> Result<Event, GraphError> {
        self.update_event(
            id,
            change_key,
            &EventWrite::default().with_crm_marks(activity_id, activity_type),
        )
        .await
    }

    /// Deletes an event (an occurrence id cancels that occurrence). With `change_key`, only if
    /// it is unchanged. An event that is already gone counts as deleted.
    pub async fn delete_event(&self, id: &str, change_key: Option<&str>) -> Result<(), GraphError> {
        let mut req = Req::get(format!("/me/events/{id}"));
        req.method = Method::DELETE;
        if let Some(ck) = change_key {
            req = req.header("If-Match", format!("W/\"{ck}\""));
        }
        let resp = self.send(&req).await?;
        match resp.status.as_u16() {
            200..=299 | 404 => Ok(()),
            _ => Err(error_for(&resp)),
        }
    }

    /// Events (single events and series masters) carrying our activity id.
    pub async fn find_events_by_activity_id(
        &self,
        activity_id: &str,
    ) -> Result<Vec<Event>, GraphError> {
        let filter = format!(
            "singleValueExtendedProperties/Any(ep: ep/id eq '{CRM_ACTIVITY_ID_PROP}' and ep/value eq '{}')",
            odata_quote(activity_id)
        );
        self.collect_pages(
            Req::get("/me/events")
                .query("$filter", filter)
                .query("$expand", expand_ours()),
        )
        .await
    }

    /// Like [`MailboxClient::find_events_by_activity_id`], limited to one calendar
    /// (`/me/calendars/{id}/events`), which is unambiguous about non-default calendars.
    pub async fn find_calendar_events_by_activity_id(
        &self,
        calendar_id: &str,
        activity_id: &str,
    ) -> Result<Vec<Event>, GraphError> {
        let filter = format!(
            "singleValueExtendedProperties/Any(ep: ep/id eq '{CRM_ACTIVITY_ID_PROP}' and ep/value eq '{}')",
            odata_quote(activity_id)
        );
        self.collect_pages(
            Req::get(format!("/me/calendars/{calendar_id}/events"))
                .query("$filter", filter)
                .query("$expand", expand_ours()),
        )
        .await
    }

    /// Instances (occurrences and exceptions included) in a window carrying our activity id —
    /// for activities mapped to single occurrences, which `/me/events` does not list.
    pub async fn find_in_view_by_activity_id(
        &self,
        calendar_id: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        activity_id: &str,
    ) -> Result<Vec<Event>, GraphError> {
        let filter = format!(
            "singleValueExtendedProperties/Any(ep: ep/id eq '{CRM_ACTIVITY_ID_PROP}' and ep/value eq '{}')",
            odata_quote(activity_id)
        );
        self.collect_pages(
            Req::get(format!("/me/calendars/{calendar_id}/calendarView"))
                .query("startDateTime", iso(start))
                .query("endDateTime", iso(end))
                .query("$filter", filter)
                .query("$expand", expand_ours())
                .header("Prefer", self.page_pref()),
        )
        .await
    }

    /// The expanded calendar view of a window (occurrences and exceptions included), with our
    /// properties, for matching on (re)pairing.
    pub async fn calendar_view(
        &self,
        calendar_id: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<Event>, GraphError> {
        self.collect_pages(
            Req::get(format!("/me/calendars/{calendar_id}/calendarView"))
                .query("startDateTime", iso(start))
                .query("endDateTime", iso(end))
                .query("$expand", expand_ours())
                .header("Prefer", self.page_pref()),
        )
        .await
    }
}
