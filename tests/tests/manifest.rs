//! The add-in manifest (`manifest.xml`) against Microsoft's XSDs, vendored in `schemas/office/`.
//!
//! These tests prove: the committed manifest validates; the manifest as the server serves it (public URL
//! filled in by `api_types::manifest::render`) validates; the check really fails on a broken manifest;
//! and the cross-references XSD cannot check (resids, fi-FI overrides, icon files, handler names) hold.
//! They need `xmllint` (Debian `libxml2-utils`, installed by `cargo xtask`); the schemas are the vendored
//! copies, so no network is used.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn manifest() -> String {
    std::fs::read_to_string(root().join("manifest.xml")).unwrap()
}

/// Runs xmllint on `xml` and returns (exit code, stderr).
fn xmllint(name: &str, xml: &str) -> (i32, String) {
    let dir = std::env::temp_dir().join(format!("manifest-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("manifest.xml");
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(root().join("schemas/office/OfficeAppManifestV1_1.xsd"))
        .arg(&file)
        .output()
        .expect("xmllint is installed (Debian package libxml2-utils; `cargo xtask` installs it)");
    let _ = std::fs::remove_dir_all(&dir);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn committed_manifest_validates_against_the_vendored_xsds() {
    let (code, stderr) = xmllint("committed", &manifest());
    assert_eq!(code, 0, "manifest.xml does not validate:\n{stderr}");
}

#[test]
fn served_manifest_validates_with_a_real_public_url() {
    let served = api_types::manifest::render(&manifest(), "https://crm-addin.example.com/");
    assert!(!served.contains(api_types::manifest::PLACEHOLDER_ORIGIN));
    assert!(served.contains("https://crm-addin.example.com/index.html?view=preferences"));
    let (code, stderr) = xmllint("served", &served);
    assert_eq!(code, 0, "served manifest does not validate:\n{stderr}");

    // With the server's Microsoft app registration for Office SSO filled in too.
    let client_id = "6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c";
    let served = api_types::manifest::render_with_client_id(
        &manifest(),
        "https://crm-addin.example.com",
        client_id,
    );
    assert!(!served.contains(api_types::manifest::PLACEHOLDER_CLIENT_ID));
    assert!(served.contains(&format!(
        "<Resource>api://crm-addin.example.com/{client_id}</Resource>"
    )));
    let (code, stderr) = xmllint("served", &served);
    assert_eq!(code, 0, "served manifest does not validate:\n{stderr}");
}

#[test]
fn the_check_fails_on_a_broken_manifest() {
    // Without <Id> the document is well-formed but not schema-valid: xmllint must exit 3.
    let m = manifest();
    let start = m.find("<Id>").unwrap();
    let end = m.find("</Id>").unwrap() + "</Id>".len();
    let broken = format!("{}{}", &m[..start], &m[end..]);
    let (code, stderr) = xmllint("no-id", &broken);
    assert_eq!(
        code, 3,
        "expected a schema violation, got exit {code}:\n{stderr}"
    );
    assert!(stderr.contains("fails to validate"), "{stderr}");

    // Elements out of order are caught too.
    let swapped = m.replacen("<Version>1.0.0.0</Version>", "", 1).replacen(
        "<Id>",
        "<Version>1.0.0.0</Version><Id>",
        1,
    );
    assert_eq!(xmllint("order", &swapped).0, 3);
}

/// Values of `attr="..."` for every occurrence in `xml`.
fn attr_values<'a>(xml: &'a str, attr: &str) -> Vec<&'a str> {
    let needle = format!(" {attr}=\"");
    xml.match_indices(&needle)
        .map(|(i, _)| {
            let rest = &xml[i + needle.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect()
}

#[test]
fn every_resid_is_defined_and_every_string_has_a_finnish_override() {
    let m = manifest();
    let defined: Vec<&str> = attr_values(&m, "id");
    for resid in attr_values(&m, "resid") {
        assert!(
            defined.contains(&resid),
            "resid {resid} is not defined in <Resources>"
        );
    }
    // Each <bt:String ...> is followed by a fi-FI override before its closing tag.
    for (i, _) in m.match_indices("<bt:String ") {
        let body = &m[i..i + m[i..].find("</bt:String>").unwrap()];
        assert!(
            body.contains("<bt:Override Locale=\"fi-FI\""),
            "no fi-FI override in {body}"
        );
    }
    for tag in ["<DisplayName ", "<Description "] {
        let i = m.find(tag).unwrap();
        assert!(
            m[i..i + 400].contains("Locale=\"fi-FI\""),
            "{tag} lacks a fi-FI override"
        );
    }
    // The guide's labels.
    for label in [
        "Asetukset",
        "Kirjaudu sisään",
        "Kirjaudu ulos",
        "Synkronoi nyt",
        "\"CRM-service\"",
    ] {
        assert!(m.contains(label), "missing {label}");
    }
}

#[test]
fn icons_exist_as_real_pngs_of_the_declared_sizes() {
    let m = manifest();
    for size in [16u32, 32, 64, 80, 128] {
        let url = format!("/icons/icon-{size}.png");
        assert!(m.contains(&url), "manifest does not reference {url}");
        let bytes = std::fs::read(root().join(format!("static{url}"))).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{url} is not a PNG");
        // IHDR: width and height, big-endian, at bytes 16..24.
        let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        assert_eq!((w, h), (size, size), "{url}");
        assert!(bytes.len() > 300, "{url} looks like a placeholder");
    }
}

#[test]
fn every_function_the_manifest_names_is_registered_in_the_function_file() {
    let m = manifest();
    let js = std::fs::read_to_string(root().join("static/functions.js")).unwrap();
    let mut names: Vec<&str> = m
        .match_indices("<FunctionName>")
        .map(|(i, t)| {
            let rest = &m[i + t.len()..];
            &rest[..rest.find('<').unwrap()]
        })
        .collect();
    names.extend(attr_values(&m, "FunctionName"));
    assert!(names.contains(&"onNewAppointmentOrganizer"));
    for name in names {
        assert!(
            js.contains(&format!("Office.actions.associate(\"{name}\"")),
            "{name} is not associated in static/functions.js"
        );
    }
}
