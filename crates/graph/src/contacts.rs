//! Contacts in our dedicated "CRM" folder. Nothing here reads or writes any other folder.

use reqwest::Method;
use serde::Serialize;

use crate::client::Req;
use crate::{
    CRM_CONTACT_ID_PROP, Contact, ContactFolder, EmailAddress, ExtendedProperty, GraphError,
    MailboxClient,
};

/// What we write on a contact.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ContactWrite {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub surname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_addresses: Option<Vec<EmailAddress>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_phones: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile_phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub single_value_extended_properties: Option<Vec<ExtendedProperty>>,
}

/// Whether an upsert created or updated the contact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpsertOutcome {
    Created,
    Updated,
}

fn q(s: &str) -> String {
    s.replace('\'', "''")
}

fn expand_contact_id() -> String {
    format!("singleValueExtendedProperties($filter=id eq '{CRM_CONTACT_ID_PROP}')")
}

impl MailboxClient {
    /// The id of the contact folder named `name` (our "CRM"), creating it if it does not exist.
    pub async fn ensure_contact_folder(&self, name: &str) -> Result<String, GraphError> {
        let found: Vec<ContactFolder> = self
            .collect_pages(
                Req::get("/me/contactFolders")
                    .query("$filter", format!("displayName eq '{}'", q(name))),
            )
            .await?;
        if let Some(f) = found.into_iter().next() {
            return Ok(f.id);
        }
        let body = serde_json::json!({ "displayName": name });
        // Not repeated blindly after a transport error: a lost answer is found by the lookup above
        // on the caller's next attempt.
        let req = Req::with_body(Method::POST, "/me/contactFolders", body, false);
        match self.send_json::<ContactFolder>(&req).await {
            Ok(f) => Ok(f.id),
            // Created meanwhile (by another worker): use that one.
            Err(GraphError::BadRequest { status: 409, .. }) => {
                let found: Vec<ContactFolder> = self
                    .collect_pages(
                        Req::get("/me/contactFolders")
                            .query("$filter", format!("displayName eq '{}'", q(name))),
                    )
                    .await?;
                found.into_iter().next().map(|f| f.id).ok_or_else(|| {
                    GraphError::Decode("folder reported as existing but not listed".into())
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Contacts in `folder_id` carrying our CRM contact id.
    pub async fn find_contacts_by_crm_id(
        &self,
        folder_id: &str,
        crm_contact_id: &str,
    ) -> Result<Vec<Contact>, GraphError> {
        let filter = format!(
            "singleValueExtendedProperties/Any(ep: ep/id eq '{CRM_CONTACT_ID_PROP}' and ep/value eq '{}')",
            q(crm_contact_id)
        );
        self.collect_pages(
            Req::get(format!("/me/contactFolders/{folder_id}/contacts"))
                .query("$filter", filter)
                .query("$expand", expand_contact_id()),
        )
        .await
    }

    /// Contacts in `folder_id` with this e-mail address.
    pub async fn find_contacts_by_email(
        &self,
        folder_id: &str,
        address: &str,
    ) -> Result<Vec<Contact>, GraphError> {
        let filter = format!("emailAddresses/any(a: a/address eq '{}')", q(address));
        self.collect_pages(
            Req::get(format!("/me/contactFolders/{folder_id}/contacts"))
                .query("$filter", filter)
                .query("$expand", expand_contact_id()),
        )
        .await
    }

    /// Creates or updates the contact tagged with `crm_contact_id` in `folder_id`.
    pub async fn upsert_contact(
        &self,
        folder_id: &str,
        crm_contact_id: &str,
        contact: &ContactWrite,
    ) -> Result<(Contact, UpsertOutcome), GraphError> {
        let mut body = contact.clone();
        body.single_value_extended_properties = Some(vec![ExtendedProperty {
            id: CRM_CONTACT_ID_PROP.into(),
            value: Some(crm_contact_id.into()),
        }]);
        let body = serde_json::to_value(&body).map_err(|e| GraphError::Decode(e.to_string()))?;
        let existing = self
            .find_contacts_by_crm_id(folder_id, crm_contact_id)
            .await?;
        match existing.first() {
            Some(c) => {
                let req = Req::with_body(
                    Method::PATCH,
                    format!("/me/contactFolders/{folder_id}/contacts/{}", c.id),
                    body,
                    true,
                );
                Ok((self.send_json(&req).await?, UpsertOutcome::Updated))
            }
            None => {
                let req = Req::with_body(
                    Method::POST,
                    format!("/me/contactFolders/{folder_id}/contacts"),
                    body,
                    false,
                );
                Ok((self.send_json(&req).await?, UpsertOutcome::Created))
            }
        }
    }

    /// Deletes a contact of our folder; an already deleted one counts as deleted.
    pub async fn delete_contact(
        &self,
        folder_id: &str,
        contact_id: &str,
    ) -> Result<(), GraphError> {
        let mut req = Req::get(format!(
            "/me/contactFolders/{folder_id}/contacts/{contact_id}"
        ));
        req.method = Method::DELETE;
        let resp = self.send(&req).await?;
        match resp.status.as_u16() {
            200..=299 | 404 => Ok(()),
            _ => Err(crate::client::error_for(&resp)),
        }
    }
}
