//! The served `/manifest.xml` carries the server's public URL and still validates against Microsoft's XSDs.

mod common;

use std::process::Command;

use common::TestServer;

#[tokio::test]
async fn served_manifest_names_the_public_url_and_validates_against_the_office_schemas() {
    let server = TestServer::start_with(|c| {
        c.public_url = Some("https://addin.esimerkki.fi".parse().unwrap());
        c.client_id = "5f0c4b8e-6d1a-4c59-9a43-1e2d3c4b5a69".into();
    })
    .await;
    let resp = reqwest::get(server.url("/manifest.xml")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/xml")
    );
    let xml = resp.text().await.unwrap();
    assert!(xml.contains("https://addin.esimerkki.fi/index.html?view=preferences"));
    assert!(
        !xml.contains("https://localhost:8080/"),
        "placeholder left in served manifest"
    );

    let dir = std::env::temp_dir().join(format!("served-manifest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("manifest.xml");
    std::fs::write(&file, &xml).unwrap();
    let xsd = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schemas/office/OfficeAppManifestV1_1.xsd"
    );
    let out = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema", xsd])
        .arg(&file)
        .output()
        .expect("xmllint is installed by `cargo xtask test` (Debian libxml2-utils)");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "served manifest does not validate:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn the_pane_page_and_icons_are_served_from_the_static_folder() {
    let static_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../static");
    let server = TestServer::start_with(|c| c.static_dir = static_dir.into()).await;
    let icon = reqwest::get(server.url("/icons/icon-32.png"))
        .await
        .unwrap();
    assert_eq!(icon.status(), 200);
    let bytes = icon.bytes().await.unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let same = reqwest::get(server.url("/taskpane/icons/icon-32.png"))
        .await
        .unwrap();
    assert_eq!(same.bytes().await.unwrap(), bytes);
    let functions = reqwest::get(server.url("/functions.html")).await.unwrap();
    assert_eq!(functions.status(), 200);
}
