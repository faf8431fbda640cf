//! Messages: get one (for "save to CRM") and mail folder delta (for automatic archiving).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use crate::client::{Req, error_for};
use crate::{AttachmentInfo, GraphError, MailboxClient, Message};

/// One change in a mail folder.
#[derive(Clone, Debug, PartialEq)]
pub enum MessageDeltaItem {
    Upsert(Box<Message>),
    Removed { id: String },
}

/// A whole mail folder delta round.
#[derive(Clone, Debug)]
pub struct MessageDeltaRound {
    pub items: Vec<MessageDeltaItem>,
    /// Store it; pass it as `from` next time.
    pub delta_link: String,
    pub pages: u32,
}

const MESSAGE_SELECT: &str = "subject,body,bodyPreview,from,toRecipients,ccRecipients,sentDateTime,receivedDateTime,internetMessageId,conversationId,parentFolderId,hasAttachments,isDraft";

/// Reads the sensitivity with every message (see [`crate::MESSAGE_SENSITIVITY_PROPERTY`]).
fn message_expand() -> String {
    format!(
        "singleValueExtendedProperties($filter=id eq '{}')",
        crate::MESSAGE_SENSITIVITY_PROPERTY
    )
}

/// What attachment listings select: everything but the content.
const ATTACHMENT_SELECT: &str = "id,name,contentType,size,isInline";

impl MailboxClient {
    /// `GET /me/messages/{id}`.
    pub async fn get_message(&self, id: &str) -> Result<Message, GraphError> {
        self.send_json(
            &Req::get(format!("/me/messages/{id}"))
                .query("$select", MESSAGE_SELECT)
                .query("$expand", message_expand()),
        )
        .await
    }

    /// `GET /me/messages/{id}/attachments`: the attachments' metadata, without their content.
    pub async fn list_attachments(
        &self,
        message_id: &str,
    ) -> Result<Vec<AttachmentInfo>, GraphError> {
        self.collect_pages(
            Req::get(format!("/me/messages/{message_id}/attachments"))
                .query("$select", ATTACHMENT_SELECT),
        )
        .await
    }

    /// `GET /me/messages/{id}/attachments/{id}/$value`: a file attachment's raw bytes.
    pub async fn attachment_content(
        &self,
        message_id: &str,
        attachment_id: &str,
    ) -> Result<Vec<u8>, GraphError> {
        let resp = self
            .send(&Req::get(format!(
                "/me/messages/{message_id}/attachments/{attachment_id}/$value"
            )))
            .await?;
        if !resp.status.is_success() {
            return Err(error_for(&resp));
        }
        Ok(resp.body)
    }

    /// A new delta round over a mail folder that covers only messages received at or after `since`
    /// (`$filter=receivedDateTime ge …`, the one filter mail delta supports), so that starting to
    /// track a mailbox does not list its whole history. Store the returned deltaLink.
    pub async fn mail_folder_delta_since(
        &self,
        folder: &str,
        since: DateTime<Utc>,
    ) -> Result<MessageDeltaRound, GraphError> {
        let req = Req::get(format!("/me/mailFolders/{folder}/messages/delta"))
            .query("$select", MESSAGE_SELECT)
            .query("$expand", message_expand())
            .query(
                "$filter",
                format!(
                    "receivedDateTime ge {}",
                    since.to_rfc3339_opts(SecondsFormat::Secs, true)
                ),
            );
        self.mail_delta_from(req).await
    }

    /// A delta round over a mail folder (`inbox`, `sentitems` or an id), from the start
    /// (`from = None`) or from a stored deltaLink. A 410 answers [`GraphError::ResyncRequired`].
    pub async fn mail_folder_delta(
        &self,
        folder: &str,
        from: Option<&str>,
    ) -> Result<MessageDeltaRound, GraphError> {
        let req = match from {
            Some(link) => Req::get(link),
            None => Req::get(format!("/me/mailFolders/{folder}/messages/delta"))
                .query("$select", MESSAGE_SELECT)
                .query("$expand", message_expand()),
        };
        self.mail_delta_from(req).await
    }

    async fn mail_delta_from(&self, req: Req) -> Result<MessageDeltaRound, GraphError> {
        let mut req = req.header(
            "Prefer",
            format!("odata.maxpagesize={}", self.inner.config.page_size),
        );
        let mut items = vec![];
        let mut pages = 0;
        loop {
            let page: Value = self.send_json(&req).await?;
            pages += 1;
            for v in page["value"].as_array().into_iter().flatten() {
                if v.get("@removed").is_some() {
                    items.push(MessageDeltaItem::Removed {
                        id: v["id"].as_str().unwrap_or_default().to_string(),
                    });
                } else {
                    let m: Message = serde_json::from_value(v.clone())
                        .map_err(|e| GraphError::Decode(e.to_string()))?;
                    items.push(MessageDeltaItem::Upsert(Box::new(m)));
                }
            }
            if let Some(d) = page["@odata.deltaLink"].as_str() {
                return Ok(MessageDeltaRound {
                    items,
                    delta_link: d.to_string(),
                    pages,
                });
            }
            let Some(next) = page["@odata.nextLink"].as_str() else {
                return Err(GraphError::Decode(
                    "delta page with neither nextLink nor deltaLink".into(),
                ));
            };
            req = Req::get(next).header(
                "Prefer",
                format!("odata.maxpagesize={}", self.inner.config.page_size),
            );
        }
    }
}
