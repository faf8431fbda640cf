//! Typed operations of a [`Session`]: activities (incl. incremental changes and idempotent creates),
//! picklists, schema, users, relation search, emails and files.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, TryStreamExt};
use reqwest::Method;
use serde_json::Value;

use crate::assumed;
use crate::client::{ApiRequest, Session};
use crate::error::{Error, Result};
use crate::filter::{Filter, FilterValue};
use crate::models::{
    Account, Activity, ActivityPatch, Contact, CrmTime, Email, Language, Lead, NewActivity,
    NewEmail, PicklistEntry, Potential, Project, RawResource, Resource, Schema, SchemaReport,
    StoredFile, User,
};
use crate::query::ListQuery;

/// How a search text matches a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    Prefix,
    Contains,
}

/// "Relations of this customer": what the task pane offers once an account is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRelations {
    pub contacts: Vec<Contact>,
    pub open_potentials: Vec<Potential>,
    pub projects: Vec<Project>,
}

/// Result of [`Session::collect_activity_changes`].
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeSet {
    pub activities: Vec<Activity>,
    /// The largest `updated_at` seen (or the previous watermark when nothing changed); pass it back next
    /// time.
    pub watermark: Option<CrmTime>,
}

impl Session {
    fn resource(&self, v: Value) -> Result<RawResource> {
        let data = match v {
            Value::Object(mut o) => o
                .remove("data")
                .ok_or_else(|| Error::Protocol("answer has no data".into()))?,
            _ => return Err(Error::Protocol("answer is not an object".into())),
        };
        RawResource::from_json(data)
    }

    async fn get_typed<T: Resource>(&self, id: &str) -> Result<T> {
        check_id(T::MODULE, id)?;
        let v = self
            .get_json(ApiRequest::get(format!("{}/{id}", T::MODULE)).record(T::MODULE, id))
            .await?;
        T::from_raw(self.resource(v)?, self.tz())
    }

    /// `GET /` with the session: the module names the CRM lists.
    pub async fn modules(&self) -> Result<Vec<String>> {
        let v = self.get_json(ApiRequest::get("")).await?;
        Ok(v.get("links")
            .and_then(Value::as_object)
            .map(|l| {
                l.keys()
                    .filter(|k| *k != "self" && *k != "meta")
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }

    /// `GET /user`: the logged-in user.
    pub async fn current_user(&self) -> Result<User> {
        let v = self.get_json(ApiRequest::get("user")).await?;
        User::from_raw(self.resource(v)?, self.tz())
    }

    /// `GET /schema/{module}`.
    pub async fn schema(&self, module: &str) -> Result<Schema> {
        let v = self
            .get_json(ApiRequest::get(format!("schema/{module}")))
            .await?;
        Schema::from_json(module, &v)
    }

    /// Pairing-time check of the `activities` schema against the fields and relations this client
    /// relies on ([`assumed::ACTIVITY_FIELDS`], [`assumed::ACTIVITY_RELATIONS`]), listing custom fields.
    /// Missing fields are also left out of this session's writes from now on
    /// ([`Session::skip_activity_fields`]), so a CRM without e.g. `location` still accepts creates.
    pub async fn check_activity_schema(&self) -> Result<SchemaReport> {
        let s = self.schema("activities").await?;
        let report = SchemaReport {
            missing_fields: assumed::ACTIVITY_FIELDS
                .iter()
                .filter(|f| !s.has_field(f))
                .map(|f| (*f).to_owned())
                .collect(),
            missing_relations: assumed::ACTIVITY_RELATIONS
                .iter()
                .filter(|r| !s.relations.contains_key(**r))
                .map(|r| (*r).to_owned())
                .collect(),
            custom_fields: s.custom_fields().into_iter().cloned().collect(),
        };
        self.skip_activity_fields(report.missing_fields.iter().cloned());
        Ok(report)
    }

    // ----- activities -----

    /// `GET /activities/{id}`; a deleted activity is [`Error::Gone`].
    pub async fn get_activity(&self, id: &str) -> Result<Activity> {
        self.get_typed(id).await
    }

    /// Confirms whether an activity still exists (the only deletion signal CRM-service gives):
    /// `Ok(false)` only on 404.
    pub async fn activity_exists(&self, id: &str) -> Result<bool> {
        check_id("activities", id)?;
        let req = ApiRequest::get(format!("activities/{id}"))
            .query(vec![("fields[activities]".into(), "id".into())])
            .record("activities", id);
        match self.call(req).await {
            Ok(_) => Ok(true),
            Err(Error::Gone { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Activities matching `query`, page by page.
    pub fn activities<'a>(
        &'a self,
        query: &'a ListQuery,
    ) -> impl Stream<Item = Result<Activity>> + 'a {
        self.list::<Activity>(query)
    }

    /// `POST /activities`. Not retried: on [`Error::outcome_unknown`] use
    /// [`Session::create_activity_once`] with the same key.
    pub async fn create_activity(&self, new: &NewActivity) -> Result<Activity> {
        self.post_activity(new, None).await
    }

    async fn post_activity(&self, new: &NewActivity, key: Option<&str>) -> Result<Activity> {
        let marker = key.map(assumed::marker);
        let body = self.strip_skipped(new.to_body(self.tz(), marker.as_deref()));
        let v = self
            .call(ApiRequest::with_body(Method::POST, "activities", body))
            .await?
            .json()?;
        Activity::from_raw(self.resource(v)?, self.tz())
    }

    /// Idempotent create: looks for an activity carrying the marker of `key` (see
    /// [`assumed::MARKER_FIELD`]) and creates one with that marker only if there is none. Returns the
    /// activity and whether it was created now. Use the same `key` for every attempt of one intent.
    pub async fn create_activity_once(
        &self,
        new: &NewActivity,
        key: &str,
    ) -> Result<(Activity, bool)> {
        if let Some(found) = self.find_activity_by_marker(key).await? {
            return Ok((found, false));
        }
        Ok((self.post_activity(new, Some(key)).await?, true))
    }

    /// The activity created with marker `key`, if any (the lowest id if the marker was copied).
    pub async fn find_activity_by_marker(&self, key: &str) -> Result<Option<Activity>> {
        if self
            .skipped_activity_fields()
            .iter()
            .any(|f| f == assumed::MARKER_FIELD)
        {
            return Err(Error::Unsupported(format!(
                "activities have no {} field to carry the create marker",
                assumed::MARKER_FIELD
            )));
        }
        let q = ListQuery::new()
            .filter(Filter::contains(
                assumed::MARKER_FIELD,
                &assumed::marker(key),
            ))
            .sort_asc("id")
            .page_size(10);
        let page = self.list_page("activities", &q, 1).await?;
        for raw in page.data {
            let a = Activity::from_raw(raw, self.tz())?;
            if a.has_marker(key) {
                return Ok(Some(a));
            }
        }
        Ok(None)
    }

    /// `PATCH /activities/{id}`; a deleted activity is [`Error::Gone`].
    pub async fn update_activity(&self, id: &str, patch: &ActivityPatch) -> Result<Activity> {
        check_id("activities", id)?;
        let req = ApiRequest::with_body(
            Method::PATCH,
            format!("activities/{id}"),
            self.strip_skipped(patch.to_body(id, self.tz())),
        )
        .record("activities", id);
        let v = self.call(req).await?.json()?;
        Activity::from_raw(self.resource(v)?, self.tz())
    }

    /// `DELETE /activities/{id}`; an already deleted activity is [`Error::Gone`].
    pub async fn delete_activity(&self, id: &str) -> Result<()> {
        check_id("activities", id)?;
        let req = ApiRequest {
            method: Method::DELETE,
            ..ApiRequest::get(format!("activities/{id}")).record("activities", id)
        };
        self.call(req).await.map(|_| ())
    }

    /// Incremental change listing: activities with `updated_at >= since − overlap` (all when `since` is
    /// `None`), narrowed by `scope` (e.g. owner and window), in stable `(updated_at, id)` order, each id
    /// once.
    ///
    /// Pages are keyset pages (`updated_at > t OR (updated_at = t AND id > last_id)`), not page numbers,
    /// so a record edited or deleted while the listing runs cannot shift a page boundary and make another
    /// record be skipped; an activity edited during the listing shows up once more with its newer
    /// version, which is de-duplicated here. The overlap re-reads the last moments before the watermark
    /// because `updated_at` has second resolution and a change in the same second as the last listing
    /// would otherwise be missed; the caller tells re-reads from changes by the stored version. An idle
    /// cycle costs one request.
    pub fn activity_changes<'a>(
        &'a self,
        since: Option<CrmTime>,
        overlap: Duration,
        scope: Option<Filter>,
    ) -> impl Stream<Item = Result<Activity>> + 'a {
        self.activity_changes_with_lookback(since, overlap, None, scope)
    }

    /// [`Session::activity_changes`] that also lists every activity the CRM stamped within `lookback`
    /// of **its own** clock (`updated_at >= $now - lookback`, evaluated by the CRM). Give the time since
    /// the last listing (plus a margin): then a CRM clock that stepped back, stamping new changes before
    /// the watermark, loses nothing. Still one request when idle.
    pub fn activity_changes_with_lookback<'a>(
        &'a self,
        since: Option<CrmTime>,
        overlap: Duration,
        lookback: Option<Duration>,
        scope: Option<Filter>,
    ) -> impl Stream<Item = Result<Activity>> + 'a {
        let lower = since.map(|t| {
            CrmTime(t.0 - chrono::Duration::from_std(overlap).unwrap_or(chrono::Duration::zero()))
        });
        let lower_clause = lower.map(|l| match lookback {
            None => Filter::gte("updated_at", l.0),
            Some(back) => Filter::or([
                Filter::gte("updated_at", l.0),
                Filter::gte(
                    "updated_at",
                    FilterValue::now(
                        crate::filter::NowBase::Now,
                        -(back.as_secs().max(1) as i64),
                        crate::filter::NowUnit::Seconds,
                    ),
                ),
            ]),
        });
        let page_size = self.client.inner.config.page_size.max(1);
        struct St {
            cursor: Option<(CrmTime, i64)>,
            buf: VecDeque<Activity>,
            seen: HashSet<String>,
            done: bool,
        }
        let st = St {
            cursor: None,
            buf: VecDeque::new(),
            seen: HashSet::new(),
            done: false,
        };
        futures::stream::try_unfold(st, move |mut st| {
            let scope = scope.clone();
            let lower_clause = lower_clause.clone();
            async move {
                loop {
                    if let Some(a) = st.buf.pop_front() {
                        if st.seen.insert(a.id.clone()) {
                            return Ok(Some((a, st)));
                        }
                        continue;
                    }
                    if st.done {
                        return Ok(None);
                    }
                    let mut parts: Vec<Filter> = scope.iter().cloned().collect();
                    match st.cursor {
                        None => parts.extend(lower_clause.clone()),
                        Some((t, id)) => {
                            if lookback.is_some() {
                                // Keyset pages go up from the oldest stamp; keep the lower bound.
                                parts.extend(lower_clause.clone());
                            }
                            parts.push(Filter::or([
                                Filter::gt("updated_at", t.0),
                                Filter::and([Filter::eq("updated_at", t.0), Filter::gt("id", id)]),
                            ]))
                        }
                    }
                    let mut q = ListQuery::new()
                        .sort_asc("updated_at")
                        .sort_asc("id")
                        .page_size(page_size);
                    if !parts.is_empty() {
                        q = q.filter(Filter::and(parts));
                    }
                    let page = self.list_page("activities", &q, 1).await?;
                    // Trust the server's own "more" signals, not our page size: a server that caps
                    // page sizes lower than asked must not make us stop early and miss changes.
                    let len = page.data.len() as u64;
                    st.done = !(page.has_next || page.total.is_some_and(|t| t > len));
                    for raw in page.data {
                        let a = Activity::from_raw(raw, self.tz())?;
                        let id: i64 = a.id.parse().map_err(|_| {
                            Error::Protocol(format!("activity id {:?} is not numeric", a.id))
                        })?;
                        st.cursor = Some((a.updated_at, id));
                        st.buf.push_back(a);
                    }
                    if st.buf.is_empty() {
                        return Ok(None);
                    }
                }
            }
        })
    }

    /// [`Session::activity_changes`] collected, with the next watermark.
    pub async fn collect_activity_changes(
        &self,
        since: Option<CrmTime>,
        overlap: Duration,
        scope: Option<Filter>,
    ) -> Result<ChangeSet> {
        self.collect_activity_changes_with_lookback(since, overlap, None, scope)
            .await
    }

    /// [`Session::activity_changes_with_lookback`] collected, with the next watermark.
    pub async fn collect_activity_changes_with_lookback(
        &self,
        since: Option<CrmTime>,
        overlap: Duration,
        lookback: Option<Duration>,
        scope: Option<Filter>,
    ) -> Result<ChangeSet> {
        let activities: Vec<Activity> = self
            .activity_changes_with_lookback(since, overlap, lookback, scope)
            .try_collect()
            .await?;
        let watermark = activities.iter().map(|a| a.updated_at).max().max(since);
        Ok(ChangeSet {
            activities,
            watermark,
        })
    }

    /// Ids of the activities matching `scope` (for deletion checks: a linked id missing here is then
    /// confirmed with [`Session::activity_exists`]). Only the id is transferred.
    pub fn activity_ids<'a>(
        &'a self,
        scope: &ListQuery,
    ) -> impl Stream<Item = Result<String>> + use<'a> {
        let mut q = scope.clone();
        q.fields.retain(|(m, _)| m != "activities");
        q = q.fields("activities", ["id"]);
        if q.sort.is_empty() {
            q = q.sort_asc("id");
        }
        self.records("activities", &q, |r, _| Ok(r.id))
    }

    // ----- picklists -----

    /// Values of the picklist of `module.field` in position order, named in `lang` (falling back to the
    /// stored value when a translation is missing). Inactive values are left out.
    pub async fn picklist(
        &self,
        module: &str,
        field: &str,
        lang: Language,
    ) -> Result<Vec<PicklistEntry>> {
        let q = ListQuery::new()
            .filter(Filter::and([
                Filter::eq(
                    &format!("picklist.{}", assumed::PICKLIST_MODULE_FIELD),
                    module,
                ),
                Filter::eq(
                    &format!("picklist.{}", assumed::PICKLIST_FIELD_FIELD),
                    field,
                ),
            ]))
            .sort_asc(assumed::PICKLIST_VALUE_POSITION)
            .sort_asc("id");
        let values: Vec<RawResource> = self.list_raw("picklist_values", &q).try_collect().await?;
        let values: Vec<RawResource> = values
            .into_iter()
            .filter(|v| {
                v.attributes.get(assumed::PICKLIST_VALUE_ACTIVE) != Some(&Value::Bool(false))
            })
            .collect();
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let tq = ListQuery::new().filter(Filter::and([
            Filter::any_of("picklist_value_id", values.iter().map(|v| v.id.clone())),
            Filter::eq("language", lang.code()),
        ]));
        let names: HashMap<String, String> = self
            .list_raw("picklist_value_translations", &tq)
            .try_filter_map(|t| async move {
                let vid = t.attributes.get("picklist_value_id").and_then(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .or_else(|| v.as_i64().map(|i| i.to_string()))
                });
                let name = t
                    .attributes
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                Ok(vid.zip(name))
            })
            .try_collect()
            .await?;
        Ok(values
            .into_iter()
            .map(|v| {
                let value = v
                    .attributes
                    .get("value")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                PicklistEntry {
                    label: names.get(&v.id).cloned().unwrap_or_else(|| value.clone()),
                    position: v
                        .attributes
                        .get(assumed::PICKLIST_VALUE_POSITION)
                        .and_then(Value::as_i64)
                        .unwrap_or(0),
                    value,
                }
            })
            .collect())
    }

    /// Activity types (`activities.activity_type`) named in `lang`.
    pub async fn activity_types(&self, lang: Language) -> Result<Vec<PicklistEntry>> {
        self.picklist("activities", "activity_type", lang).await
    }

    /// Activity statuses (`activities.status`, assumed) named in `lang`.
    pub async fn activity_statuses(&self, lang: Language) -> Result<Vec<PicklistEntry>> {
        self.picklist("activities", assumed::ACTIVITY_STATUS, lang)
            .await
    }

    // ----- relation search for the task pane -----

    async fn search<T: Resource>(&self, filter: Filter, sort: &str, limit: u32) -> Result<Vec<T>> {
        let q = ListQuery::new()
            .filter(filter)
            .sort_asc(sort)
            .page_size(limit.clamp(1, 100));
        let page = self.list_page(T::MODULE, &q, 1).await?;
        page.data
            .into_iter()
            .map(|r| T::from_raw(r, self.tz()))
            .collect()
    }

    /// Accounts whose name starts with / contains `text` (case-insensitive), by name.
    pub async fn search_accounts(
        &self,
        text: &str,
        mode: Match,
        limit: u32,
    ) -> Result<Vec<Account>> {
        self.search(text_filter(&["name"], text, mode)?, "name", limit)
            .await
    }

    /// Contacts matching every word of `text` in first name, last name or email ("matti vir").
    pub async fn search_contacts(
        &self,
        text: &str,
        mode: Match,
        limit: u32,
    ) -> Result<Vec<Contact>> {
        self.search(
            text_filter(&["first_name", "last_name", "email"], text, mode)?,
            "last_name",
            limit,
        )
        .await
    }

    /// Leads matching every word of `text` in first name, last name or company.
    pub async fn search_leads(&self, text: &str, mode: Match, limit: u32) -> Result<Vec<Lead>> {
        self.search(
            text_filter(assumed::LEAD_SEARCH_FIELDS, text, mode)?,
            "last_name",
            limit,
        )
        .await
    }

    /// Potentials whose name matches `text`.
    pub async fn search_potentials(
        &self,
        text: &str,
        mode: Match,
        limit: u32,
    ) -> Result<Vec<Potential>> {
        self.search(text_filter(&["name"], text, mode)?, "name", limit)
            .await
    }

    /// Projects whose name matches `text`.
    pub async fn search_projects(
        &self,
        text: &str,
        mode: Match,
        limit: u32,
    ) -> Result<Vec<Project>> {
        self.search(
            text_filter(&[assumed::PROJECT_NAME], text, mode)?,
            assumed::PROJECT_NAME,
            limit,
        )
        .await
    }

    /// Contacts, open potentials and projects of an account (three small requests).
    pub async fn account_relations(&self, account_id: &str) -> Result<AccountRelations> {
        check_id("accounts", account_id)?;
        let by_account = || Filter::eq("account_id", account_id);
        let open = Filter::or([
            Filter::any_of(
                assumed::POTENTIAL_STATUS,
                assumed::POTENTIAL_OPEN_STATUSES.iter().copied(),
            ),
            Filter::is_null(assumed::POTENTIAL_STATUS),
            Filter::eq(assumed::POTENTIAL_STATUS, ""),
        ]);
        let (contacts, potentials, projects) = futures::try_join!(
            self.search::<Contact>(by_account(), "last_name", 100),
            self.search::<Potential>(by_account().and_also(open), "name", 100),
            self.search::<Project>(by_account(), assumed::PROJECT_NAME, 100),
        )?;
        Ok(AccountRelations {
            contacts,
            open_potentials: potentials.into_iter().filter(Potential::is_open).collect(),
            projects,
        })
    }

    pub async fn get_account(&self, id: &str) -> Result<Account> {
        self.get_typed(id).await
    }

    pub async fn get_contact(&self, id: &str) -> Result<Contact> {
        self.get_typed(id).await
    }

    pub async fn get_project(&self, id: &str) -> Result<Project> {
        self.get_typed(id).await
    }

    // ----- emails and files -----

    /// `POST /emails`. Prefer [`Session::save_email_once`], which deduplicates on the message id.
    pub async fn create_email(&self, new: &NewEmail) -> Result<Email> {
        let v = self
            .call(ApiRequest::with_body(
                Method::POST,
                "emails",
                new.to_body(self.tz()),
            ))
            .await?
            .json()?;
        Email::from_raw(self.resource(v)?, self.tz())
    }

    /// The email saved with this internet message id, if any.
    pub async fn find_email_by_message_id(&self, message_id: &str) -> Result<Option<Email>> {
        if message_id.is_empty() {
            return Err(Error::InvalidFilter("empty message id".into()));
        }
        let q = ListQuery::new()
            .filter(Filter::eq(assumed::EMAIL_MESSAGE_ID, message_id))
            .sort_asc("id")
            .page_size(1);
        let page = self.list_page("emails", &q, 1).await?;
        page.data
            .into_iter()
            .next()
            .map(|r| Email::from_raw(r, self.tz()))
            .transpose()
    }

    /// The emails saved with any of these internet message ids (one request per 50 ids).
    pub async fn find_emails_by_message_ids(&self, message_ids: &[String]) -> Result<Vec<Email>> {
        let mut out = Vec::new();
        for chunk in message_ids.chunks(50) {
            let q = ListQuery::new()
                .filter(Filter::any_of(
                    assumed::EMAIL_MESSAGE_ID,
                    chunk.iter().map(String::as_str),
                ))
                .sort_asc("id")
                .page_size(100);
            let found: Vec<Email> = self.list::<Email>(&q).try_collect().await?;
            out.extend(found);
        }
        Ok(out)
    }

    /// `PATCH /emails/{id}`: makes the stored email equal to `new` (content and links).
    pub async fn update_email(&self, id: &str, new: &NewEmail) -> Result<Email> {
        check_id("emails", id)?;
        let req = ApiRequest::with_body(
            Method::PATCH,
            format!("emails/{id}"),
            new.to_patch_body(id, self.tz()),
        )
        .record("emails", id);
        let v = self.call(req).await?.json()?;
        Email::from_raw(self.resource(v)?, self.tz())
    }

    /// Contacts whose email is one of `addresses` (compared as given; pass them lower-cased), one
    /// request per 50 addresses.
    pub async fn contacts_by_emails(&self, addresses: &[String]) -> Result<Vec<Contact>> {
        let mut out = Vec::new();
        for chunk in addresses.chunks(50) {
            let q = ListQuery::new()
                .filter(Filter::any_of("email", chunk.iter().map(String::as_str)))
                .sort_asc("id")
                .page_size(100);
            let found: Vec<Contact> = self.list::<Contact>(&q).try_collect().await?;
            out.extend(found);
        }
        Ok(out)
    }

    /// Saves an email unless one with the same message id exists; returns it and whether it was created.
    pub async fn save_email_once(&self, new: &NewEmail) -> Result<(Email, bool)> {
        if let Some(found) = self.find_email_by_message_id(&new.message_id).await? {
            return Ok((found, false));
        }
        Ok((self.create_email(new).await?, true))
    }

    pub async fn get_email(&self, id: &str) -> Result<Email> {
        self.get_typed(id).await
    }

    /// `POST /{module}/{id}/files` (at most 25 MiB; larger is refused before sending).
    pub async fn upload_file(
        &self,
        module: &str,
        id: &str,
        filename: &str,
        content_type: &str,
        bytes: Bytes,
    ) -> Result<StoredFile> {
        check_id(module, id)?;
        if bytes.len() > assumed::MAX_FILE_BYTES {
            return Err(Error::FileTooLarge {
                size: bytes.len(),
                max: assumed::MAX_FILE_BYTES,
            });
        }
        let req = Session::file_request(
            format!("{module}/{id}/files"),
            bytes,
            content_type,
            filename,
        )
        .record(module, id);
        let v = self.call(req).await?.json()?;
        let r = self.resource(v)?;
        Ok(StoredFile {
            name: r
                .attributes
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(filename)
                .to_owned(),
            size: r
                .attributes
                .get("size")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            id: r.id,
        })
    }

    /// The instant `t` as the CRM-local value filters on datetime fields compare with.
    pub fn local(&self, t: chrono::DateTime<chrono::Utc>) -> FilterValue {
        FilterValue::DateTime(CrmTime::from_utc(t, self.tz()).0)
    }
}

/// Ids are numeric strings; anything else would address a different route.
fn check_id(module: &str, id: &str) -> Result<()> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Gone {
            module: module.to_owned(),
            id: id.to_owned(),
        });
    }
    Ok(())
}

/// Every whitespace-separated word of `text` must match one of `fields`.
fn text_filter(fields: &[&str], text: &str, mode: Match) -> Result<Filter> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() {
        return Err(Error::InvalidFilter("empty search text".into()));
    }
    Ok(Filter::and(words.iter().map(|w| {
        Filter::or(fields.iter().map(|f| match mode {
            Match::Prefix => Filter::begins_with(f, w),
            Match::Contains => Filter::contains(f, w),
        }))
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CrmAddress, CrmClient};

    fn assert_send<T: Send>(_: &T) {}

    /// The server's worker runs these on `tokio::spawn`, which needs `Send` futures and streams.
    #[test]
    fn futures_and_streams_are_send() {
        let c = CrmClient::new(CrmAddress::parse("crm.example.fi").unwrap(), "k").unwrap();
        let s = c.resume("t");
        let q = ListQuery::new();
        assert_send(&s.current_user());
        assert_send(&s.create_activity_once(&NewActivity::default(), "k"));
        assert_send(&s.activity_changes(None, Duration::ZERO, None));
        assert_send(&s.activities(&q));
        assert_send(&s.activity_ids(&q));
        assert_send(&s.account_relations("1"));
        assert_send(&c.login("u", "p"));
    }

    #[test]
    fn search_text_needs_every_word_in_some_field() {
        let f = text_filter(&["first_name", "last_name"], " matti  vir ", Match::Prefix).unwrap();
        assert_eq!(
            f.to_json().unwrap(),
            serde_json::json!({"$and": [
                {"$or": [{"$beg": ["first_name", "matti"]}, {"$beg": ["last_name", "matti"]}]},
                {"$or": [{"$beg": ["first_name", "vir"]}, {"$beg": ["last_name", "vir"]}]},
            ]})
        );
        assert!(text_filter(&["name"], "   ", Match::Contains).is_err());
    }
}
