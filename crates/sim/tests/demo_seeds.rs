//! The two demo seeds tell one story: the demo mailbox exchanges mail and meetings with people who
//! are contacts in the demo CRM, so "Save to CRM" suggestions and email tracking have something to
//! find in `cargo xtask demo`; one correspondent is deliberately not a CRM contact.

use std::collections::BTreeSet;

fn addresses(v: &serde_json::Value) -> Vec<String> {
    let one = |r: &serde_json::Value| r["emailAddress"]["address"].as_str().map(str::to_lowercase);
    let mut out: Vec<String> = one(&v["from"]).into_iter().collect();
    for key in ["toRecipients", "ccRecipients"] {
        out.extend(v[key].as_array().into_iter().flatten().filter_map(one));
    }
    out
}

#[test]
fn demo_mail_is_exchanged_with_demo_crm_contacts_and_one_outsider() {
    let crm = sim::crm::CrmSim::new();
    let demo_crm = crm.seed_demo();
    let graph = sim::graph::GraphSim::new();
    let mailbox = graph.seed_demo();
    let contacts: BTreeSet<String> = crm
        .list(demo_crm.company_id, "contacts")
        .iter()
        .filter_map(|c| c["email"].as_str())
        .map(str::to_lowercase)
        .collect();
    assert!(!contacts.is_empty());
    let mut correspondents = BTreeSet::new();
    for folder in ["inbox", "sentitems"] {
        for m in graph.messages(&mailbox.email, folder) {
            correspondents.extend(
                addresses(&m)
                    .into_iter()
                    .filter(|a| !a.eq_ignore_ascii_case(&mailbox.email)),
            );
        }
    }
    assert!(!correspondents.is_empty());
    for a in &correspondents {
        assert!(
            contacts.contains(a),
            "{a} mails the demo mailbox but is no CRM contact"
        );
    }
    let attendees: BTreeSet<String> = graph
        .events(&mailbox.email)
        .iter()
        .flat_map(|e| e["attendees"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a["emailAddress"]["address"].as_str().map(str::to_lowercase))
        .collect();
    assert!(attendees.iter().any(|a| contacts.contains(a)));
    assert!(
        attendees.iter().any(|a| !contacts.contains(a)),
        "one attendee is not in the CRM"
    );
}
