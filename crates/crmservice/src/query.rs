//! List parameters and the page stream.

use std::collections::VecDeque;

use futures::Stream;
use serde_json::Value;

use crate::client::{ApiRequest, Session};
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::models::{RawResource, Resource};

/// Parameters of a listing: filter, sort, sparse fieldsets, include and page size.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    /// `(field, descending)`.
    pub sort: Vec<(String, bool)>,
    /// `fields[module]=a,b`.
    pub fields: Vec<(String, Vec<String>)>,
    pub include: Vec<String>,
    /// Overrides the client's page size.
    pub page_size: Option<u32>,
}

impl ListQuery {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn filter(mut self, f: Filter) -> Self {
        self.filter = Some(match self.filter.take() {
            Some(existing) => existing.and_also(f),
            None => f,
        });
        self
    }

    pub fn sort_asc(mut self, field: &str) -> Self {
        self.sort.push((field.to_owned(), false));
        self
    }

    pub fn sort_desc(mut self, field: &str) -> Self {
        self.sort.push((field.to_owned(), true));
        self
    }

    /// Only these fields of `module` in the answer (the id is always there).
    pub fn fields<S: AsRef<str>>(
        mut self,
        module: &str,
        fields: impl IntoIterator<Item = S>,
    ) -> Self {
        self.fields.push((
            module.to_owned(),
            fields.into_iter().map(|s| s.as_ref().to_owned()).collect(),
        ));
        self
    }

    pub fn include<S: AsRef<str>>(mut self, rels: impl IntoIterator<Item = S>) -> Self {
        self.include
            .extend(rels.into_iter().map(|s| s.as_ref().to_owned()));
        self
    }

    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n);
        self
    }

    /// Query parameters for page `page` (1-based).
    pub fn params(&self, page: u32, default_size: u32) -> Result<Vec<(String, String)>> {
        let mut q = vec![
            ("page[number]".to_owned(), page.to_string()),
            (
                "page[size]".to_owned(),
                self.page_size.unwrap_or(default_size).to_string(),
            ),
        ];
        if let Some(f) = &self.filter {
            q.push(("filter".into(), f.to_query_value()?));
        }
        if !self.sort.is_empty() {
            let s: Vec<String> = self
                .sort
                .iter()
                .map(|(f, desc)| if *desc { format!("-{f}") } else { f.clone() })
                .collect();
            q.push(("sort".into(), s.join(",")));
        }
        for (module, fields) in &self.fields {
            q.push((format!("fields[{module}]"), fields.join(",")));
        }
        if !self.include.is_empty() {
            q.push(("include".into(), self.include.join(",")));
        }
        Ok(q)
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub data: Vec<RawResource>,
    pub included: Vec<RawResource>,
    /// `meta.total`: matching records in all pages.
    pub total: Option<u64>,
    pub page: u32,
    /// Whether `links.next` points to another page.
    pub has_next: bool,
}

impl Page {
    pub(crate) fn from_json(v: Value, page: u32) -> Result<Self> {
        let Value::Object(mut obj) = v else {
            return Err(Error::Protocol("a list answer is not an object".into()));
        };
        let data = match obj.remove("data") {
            Some(Value::Array(items)) => items
                .into_iter()
                .map(RawResource::from_json)
                .collect::<Result<Vec<_>>>()?,
            _ => return Err(Error::Protocol("a list answer has no data array".into())),
        };
        let included = match obj.remove("included") {
            Some(Value::Array(items)) => items
                .into_iter()
                .map(RawResource::from_json)
                .collect::<Result<Vec<_>>>()?,
            _ => Vec::new(),
        };
        let total = obj
            .get("meta")
            .and_then(|m| m.get("total"))
            .and_then(Value::as_u64);
        let has_next = obj
            .get("links")
            .and_then(|l| l.get("next"))
            .is_some_and(|n| !n.is_null());
        Ok(Page {
            data,
            included,
            total,
            page,
            has_next,
        })
    }
}

impl Session {
    /// One page of `module`.
    pub async fn list_page(&self, module: &str, query: &ListQuery, page: u32) -> Result<Page> {
        let params = query.params(page, self.client.inner.config.page_size)?;
        let v = self.get_json(ApiRequest::get(module).query(params)).await?;
        Page::from_json(v, page)
    }

    /// All pages of `module`, fetched one at a time as the stream is read (memory stays at one page).
    pub fn pages<'a>(
        &'a self,
        module: &'a str,
        query: &'a ListQuery,
    ) -> impl Stream<Item = Result<Page>> + 'a {
        futures::stream::try_unfold(Some(1u32), move |next| async move {
            let Some(n) = next else {
                return Ok(None);
            };
            let page = self.list_page(module, query, n).await?;
            let more = page.has_next && !page.data.is_empty();
            Ok(Some((page, more.then_some(n + 1))))
        })
    }

    /// Every record of `module` as raw resources, page by page.
    pub fn list_raw<'a>(
        &'a self,
        module: &'a str,
        query: &'a ListQuery,
    ) -> impl Stream<Item = Result<RawResource>> + 'a {
        self.records(module, query, |r, _| Ok(r))
    }

    /// Every record of `T`'s module, typed, page by page.
    pub fn list<'a, T: Resource + 'a>(
        &'a self,
        query: &'a ListQuery,
    ) -> impl Stream<Item = Result<T>> + 'a {
        self.records(T::MODULE, query, T::from_raw)
    }

    pub(crate) fn records<'a, T: 'a>(
        &'a self,
        module: &'a str,
        query: &ListQuery,
        convert: fn(RawResource, chrono_tz::Tz) -> Result<T>,
    ) -> impl Stream<Item = Result<T>> + use<'a, T> {
        let tz = self.tz();
        // The state owns the query, so callers may pass a temporary.
        let state = (Some(1u32), VecDeque::<RawResource>::new(), query.clone());
        futures::stream::try_unfold(state, move |(mut next, mut buf, query)| async move {
            loop {
                if let Some(r) = buf.pop_front() {
                    return Ok(Some((convert(r, tz)?, (next, buf, query))));
                }
                let Some(n) = next else {
                    return Ok(None);
                };
                let page = self.list_page(module, &query, n).await?;
                next = (page.has_next && !page.data.is_empty()).then_some(n + 1);
                buf = page.data.into();
            }
        })
    }

    /// Number of records matching `filter` (`meta.total` of a one-record page).
    pub async fn count(&self, module: &str, filter: Option<Filter>) -> Result<u64> {
        let mut q = ListQuery::new().fields(module, ["id"]).page_size(1);
        q.filter = filter;
        let page = self.list_page(module, &q, 1).await?;
        page.total
            .ok_or_else(|| Error::Protocol("list answer has no meta.total".into()))
    }
}
