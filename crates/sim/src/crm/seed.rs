//! The demo company: a small Finnish firm with customers, contacts, projects, picklists and a few
//! activities over the coming weeks.

use chrono::{Duration, NaiveTime};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::filter::DATETIME_FORMAT;
use super::{CompanyId, CrmSim, NewUser};

/// What [`CrmSim::seed_demo`] created: enough to pair the add-in with it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoCrm {
    pub company_id: CompanyId,
    pub company_name: String,
    pub api_key: String,
    pub username: String,
    pub password: String,
    pub email: String,
    pub user_id: String,
    /// A second, locked user (to show the "locked user" message).
    pub locked_username: String,
    pub account_ids: Vec<String>,
    pub contact_ids: Vec<String>,
    pub project_ids: Vec<String>,
    pub activity_ids: Vec<String>,
}

/// Activity types with their English and Swedish names (the Finnish name is the stored value).
pub const ACTIVITY_TYPES: &[(&str, &str, &str)] = &[
    ("Soitto", "Call", "Samtal"),
    ("Tapaaminen", "Meeting", "Möte"),
    ("Sähköposti", "Email", "E-post"),
    ("Tehtävä", "Task", "Uppgift"),
    ("Muistio", "Memo", "Anteckning"),
];

pub const ACTIVITY_STATUSES: &[(&str, &str, &str)] = &[
    ("Avoin", "Open", "Öppen"),
    ("Valmis", "Done", "Klar"),
    ("Peruttu", "Cancelled", "Inställd"),
];

pub const POTENTIAL_STATUSES: &[(&str, &str, &str)] = &[
    ("Avoin", "Open", "Öppen"),
    ("Voitettu", "Won", "Vunnen"),
    ("Hävitty", "Lost", "Förlorad"),
];

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .expect("stored records have ids")
        .to_owned()
}

/// Adds the standard picklists to a new company (see [`CrmSim::create_company`]).
pub(crate) fn add_standard_picklists(sim: &CrmSim, company: CompanyId) {
    let tri = |rows: &[(&'static str, &'static str, &'static str)]| {
        rows.iter()
            .map(|(fi, en, sv)| (*fi, vec![("fi", *fi), ("en", *en), ("sv", *sv)]))
            .collect::<Vec<_>>()
    };
    let add = |module: &str, field: &str, rows: Vec<(&str, Vec<(&str, &str)>)>| {
        let rows: Vec<(&str, &[(&str, &str)])> =
            rows.iter().map(|(v, t)| (*v, t.as_slice())).collect();
        sim.add_picklist(company, module, field, &rows)
            .expect("picklist inserts are valid");
    };
    add("activities", "activity_type", tri(ACTIVITY_TYPES));
    add("activities", "status", tri(ACTIVITY_STATUSES));
    add("potentials", "status", tri(POTENTIAL_STATUSES));
    add(
        "accounts",
        "account_type",
        tri(&[
            ("Customer", "Customer", "Kund"),
            ("Prospect", "Prospect", "Prospekt"),
            ("Partner", "Partner", "Partner"),
        ]),
    );
}

pub(crate) fn seed_demo(sim: &CrmSim) -> DemoCrm {
    let company_name = "Esimerkki Oy";
    let created = sim.create_company(company_name);
    let c = created.company_id;
    let user = NewUser {
        username: "demo".into(),
        password: "demo".into(),
        email: "demo@esimerkki.fi".into(),
        name: "Demo Käyttäjä".into(),
        locked: false,
    };
    let user_id = sim
        .add_user(c, user.clone())
        .expect("demo user")
        .to_string();
    sim.add_user(
        c,
        NewUser {
            username: "lukittu".into(),
            password: "lukittu".into(),
            email: "lukittu@esimerkki.fi".into(),
            name: "Lukittu Käyttäjä".into(),
            locked: true,
        },
    )
    .expect("locked user");
    sim.add_user(
        c,
        NewUser {
            username: "maija".into(),
            password: "maija".into(),
            email: "maija.myyja@esimerkki.fi".into(),
            name: "Maija Myyjä".into(),
            locked: false,
        },
    )
    .expect("second user");

    let ins = |module: &str, v: Value| sim.insert(c, module, v).expect("demo record is valid");
    let accounts = [
        (
            "Kone ja Terä Oy",
            "Customer",
            "info@konejatera.fi",
            "+358 9 123 4567",
        ),
        (
            "Pohjolan Puu Ab",
            "Customer",
            "myynti@pohjolanpuu.fi",
            "+358 6 321 7654",
        ),
        (
            "Järvinen & Co Tmi",
            "Prospect",
            "jarvinen@jarvinenco.fi",
            "+358 40 555 1212",
        ),
        (
            "Savon Sähkö Oyj",
            "Partner",
            "asiakaspalvelu@savonsahko.fi",
            "+358 17 888 9900",
        ),
    ];
    let account_ids: Vec<String> = accounts
        .iter()
        .map(|(name, ty, email, phone)| {
            id(&ins(
                "accounts",
                json!({"name": name, "account_type": ty, "email": email, "phone": phone, "owner_id": user_id}),
            ))
        })
        .collect();
    let contacts = [
        ("Matti", "Virtanen", "Toimitusjohtaja", 0),
        ("Liisa", "Korhonen", "Ostopäällikkö", 0),
        ("Jussi", "Mäkinen", "Tuotantopäällikkö", 1),
        ("Aino", "Nieminen", "Talousjohtaja", 1),
        ("Pekka", "Järvinen", "Yrittäjä", 2),
        ("Sanna", "Heikkinen", "Projektipäällikkö", 3),
    ];
    let contact_ids: Vec<String> = contacts
        .iter()
        .map(|(first, last, title, acc)| {
            // Contacts use their company's mail domain, so mail and meetings in the demo mailbox
            // (crates/sim/src/graph/seed.rs) are exchanged with these very people.
            let domain = accounts[*acc].2.split('@').nth(1).expect("account email");
            let ascii = |s: &str| s.to_lowercase().replace('ä', "a").replace('ö', "o");
            let email = format!("{}.{}@{domain}", ascii(first), ascii(last));
            id(&ins(
                "contacts",
                json!({"first_name": first, "last_name": last, "title": title, "email": email,
                       "phone": "+358 40 123 4567", "account_id": account_ids[*acc], "owner_id": user_id}),
            ))
        })
        .collect();
    let project_ids: Vec<String> = [
        ("Tehdaslaajennus 2027", 0),
        ("Sahan automaatio", 1),
        ("Verkkokaupan uudistus", 2),
    ]
    .iter()
    .map(|(name, acc)| {
        id(&ins(
            "projects",
            json!({"name": name, "account_id": account_ids[*acc], "owner_id": user_id}),
        ))
    })
    .collect();
    for (name, acc, status, amount) in [
        ("Huoltosopimus 2027", 0, "Avoin", 24000),
        ("Lisälaitetoimitus", 0, "Voitettu", 58000),
        ("Kuivaamon ohjaus", 1, "Avoin", 120000),
        ("Konsultointi", 2, "Hävitty", 8000),
    ] {
        ins(
            "potentials",
            json!({"name": name, "account_id": account_ids[acc], "status": status, "amount": amount, "owner_id": user_id}),
        );
    }
    for (first, last, company) in [
        ("Kalle", "Laine", "Laineen Kuljetus Oy"),
        ("Emilia", "Koskinen", "Koskisen Kahvila"),
    ] {
        ins(
            "leads",
            json!({"first_name": first, "last_name": last, "company": company, "owner_id": user_id}),
        );
    }

    // Activities over the coming weeks, at whole hours in CRM local time.
    let today = sim.now_local(c).date();
    let at = |days: i64, h: u32, m: u32| {
        (today + Duration::days(days))
            .and_time(NaiveTime::from_hms_opt(h, m, 0).expect("valid time"))
            .format(DATETIME_FORMAT)
            .to_string()
    };
    let plan = [
        (
            "Puhelu Matti Virtasen kanssa",
            "Soitto",
            1,
            (9, 0),
            (9, 30),
            vec![0],
            vec![0],
            None,
            "Avoin",
        ),
        (
            "Tarjouspalaveri",
            "Tapaaminen",
            2,
            (13, 0),
            (14, 30),
            vec![0, 1],
            vec![0],
            Some(0),
            "Avoin",
        ),
        (
            "Sahan automaation aloitus",
            "Tapaaminen",
            6,
            (10, 0),
            (12, 0),
            vec![2, 3],
            vec![1],
            Some(1),
            "Avoin",
        ),
        (
            "Lähetä tarjous Järviselle",
            "Tehtävä",
            3,
            (8, 0),
            (8, 30),
            vec![4],
            vec![2],
            Some(2),
            "Avoin",
        ),
        (
            "Muistio: hinnoittelu",
            "Muistio",
            -2,
            (15, 0),
            (15, 15),
            vec![],
            vec![0],
            None,
            "Valmis",
        ),
        (
            "Kvartaalikatsaus Savon Sähkön kanssa",
            "Tapaaminen",
            13,
            (12, 0),
            (13, 0),
            vec![5],
            vec![3],
            None,
            "Avoin",
        ),
    ];
    let activity_ids = plan
        .into_iter()
        .map(|(subject, ty, day, (sh, sm), (eh, em), contacts, accounts, project, status)| {
            let project_id: Value = project.map_or(Value::Null, |p: usize| json!(project_ids[p]));
            id(&ins(
                "activities",
                json!({
                    "subject": subject, "activity_type": ty, "status": status,
                    "start_date": at(day, sh, sm), "end_date": at(day, eh, em),
                    "description": format!("{subject} — luotu demoa varten."),
                    "location": if ty == "Tapaaminen" { "Asiakkaan toimisto" } else { "" },
                    "owner_id": user_id, "project_id": project_id,
                    "contacts": contacts.iter().map(|i: &usize| contact_ids[*i].clone()).collect::<Vec<_>>(),
                    "accounts": accounts.iter().map(|i: &usize| account_ids[*i].clone()).collect::<Vec<_>>(),
                }),
            ))
        })
        .collect();

    DemoCrm {
        company_id: c,
        company_name: company_name.to_owned(),
        api_key: created.api_key,
        username: user.username,
        password: user.password,
        email: user.email,
        user_id,
        locked_username: "lukittu".into(),
        account_ids,
        contact_ids,
        project_ids,
        activity_ids,
    }
}
