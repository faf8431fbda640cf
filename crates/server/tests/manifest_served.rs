//! The served `/manifest.xml` carries the server's public URL and still validates against Microsoft's XSDs;
//! the pane's static files are served, compressed for clients that accept it.

mod common;

use std::{io::Read, io::Write, path::Path, process::Command};

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

/// Writes `name` and, when `siblings`, its `.br` and `.gz` as `cargo xtask pane` does (the gzip one names
/// itself in its header, so it cannot be mistaken for gzip made on the fly).
fn put(dir: &Path, name: &str, plain: &[u8], siblings: bool) -> (Vec<u8>, Vec<u8>) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, plain).unwrap();
    if !siblings {
        return (Vec::new(), Vec::new());
    }
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 24,
        ..Default::default()
    };
    let mut br = Vec::new();
    brotli::BrotliCompress(&mut &plain[..], &mut br, &params).unwrap();
    let mut gz = flate2::GzBuilder::new()
        .filename(name.rsplit('/').next().unwrap())
        .write(Vec::new(), flate2::Compression::best());
    gz.write_all(plain).unwrap();
    let gz = gz.finish().unwrap();
    std::fs::write(dir.join(format!("{name}.br")), &br).unwrap();
    std::fs::write(dir.join(format!("{name}.gz")), &gz).unwrap();
    (br, gz)
}

/// `assert_eq!` without printing kilobytes of bytes.
#[track_caller]
fn same(got: &[u8], want: &[u8], what: &str) {
    assert!(
        got == want,
        "{what}: got {} bytes, not the {} expected",
        got.len(),
        want.len()
    );
}

fn unbrotli(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(body, 4096)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn gunzip(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[tokio::test]
async fn precompressed_pane_files_go_to_clients_that_accept_them_and_plain_bytes_to_the_rest() {
    let dir = std::env::temp_dir().join(format!("served-static-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // Stand-ins for the built pane: a WASM module (header + compressible body) and its JS glue.
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    wasm.extend((0..40_000u32).flat_map(|i| [(i % 7) as u8, (i % 251) as u8, (i / 97) as u8]));
    let js = "export function __wbg_call(a, b) { return a.call(b); }\n".repeat(300);
    let page = "<!DOCTYPE html><title>pane</title>\n".repeat(40);
    let (wasm_br, wasm_gz) = put(&dir, "pkg/taskpane_bg.wasm", &wasm, true);
    let (js_br, _) = put(&dir, "pkg/taskpane.js", js.as_bytes(), true);
    put(&dir, "index.html", page.as_bytes(), false);
    let static_dir = dir.clone();
    let server = TestServer::start_with(|c| c.static_dir = static_dir).await;
    // No automatic Accept-Encoding or decompression: the test sees the bytes on the wire.
    let client = reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .no_deflate()
        .no_zstd()
        .build()
        .unwrap();
    let get = |path: &str, accept: Option<&str>| {
        let mut req = client.get(server.url(path));
        if let Some(accept) = accept {
            req = req.header("accept-encoding", accept);
        }
        let path = path.to_owned();
        async move {
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 200, "{path}");
            let headers = resp.headers().clone();
            let header = move |name: &str| {
                headers
                    .get(name)
                    .map(|v| v.to_str().unwrap().to_owned())
                    .unwrap_or_default()
            };
            (header, resp.bytes().await.unwrap().to_vec())
        }
    };

    for path in ["/pkg/taskpane_bg.wasm", "/taskpane/pkg/taskpane_bg.wasm"] {
        // A browser (brotli preferred), then a client that takes gzip only: the precompressed file
        // sent as it is, and it unpacks to the original.
        let unbr: fn(&[u8]) -> Vec<u8> = unbrotli;
        let ungz: fn(&[u8]) -> Vec<u8> = gunzip;
        for (accept, encoding, sibling, unpack) in [
            ("gzip, deflate, br", "br", &wasm_br, unbr),
            ("gzip", "gzip", &wasm_gz, ungz),
        ] {
            let (header, body) = get(path, Some(accept)).await;
            assert_eq!(header("content-encoding"), encoding, "{path} {accept}");
            assert_eq!(header("content-type"), "application/wasm", "{path}");
            assert!(
                header("vary")
                    .to_ascii_lowercase()
                    .contains("accept-encoding")
            );
            same(
                &body,
                sibling,
                &format!("{path}: the precompressed .{encoding} file"),
            );
            same(&unpack(&body), &wasm, path);
        }

        // No Accept-Encoding (and an explicit identity): the plain file.
        for accept in [None, Some("identity")] {
            let (header, body) = get(path, accept).await;
            assert_eq!(header("content-encoding"), "", "{path} {accept:?}");
            assert_eq!(header("content-type"), "application/wasm", "{path}");
            assert_eq!(header("content-length"), wasm.len().to_string(), "{path}");
            same(&body, &wasm, &format!("{path} {accept:?}"));
        }
    }

    let (header, body) = get("/pkg/taskpane.js", Some("br;q=1.0, gzip;q=0.8")).await;
    assert_eq!(header("content-encoding"), "br");
    assert!(header("content-type").starts_with("text/javascript"));
    same(&body, &js_br, "taskpane.js: the precompressed .br file");

    // A committed file without siblings is compressed on the fly; without Accept-Encoding it is plain.
    let (header, body) = get("/index.html", Some("br")).await;
    assert_eq!(header("content-encoding"), "br");
    assert!(header("content-type").starts_with("text/html"));
    same(&unbrotli(&body), page.as_bytes(), "index.html, br");
    let (header, body) = get("/taskpane/index.html", Some("gzip")).await;
    assert_eq!(header("content-encoding"), "gzip");
    same(&gunzip(&body), page.as_bytes(), "index.html, gzip");
    let (header, body) = get("/index.html", None).await;
    assert_eq!(header("content-encoding"), "");
    same(&body, page.as_bytes(), "index.html, plain");

    // Routes are not static files: the manifest and the API answer as before.
    let (header, body) = get("/manifest.xml", Some("br, gzip")).await;
    assert_eq!(header("content-encoding"), "");
    assert!(header("content-type").starts_with("application/xml"));
    assert!(body.starts_with(b"<?xml"));
    let resp = client
        .get(server.url("/api/no-such-thing"))
        .header("accept-encoding", "br, gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert!(resp.headers().get("content-encoding").is_none());
    let error: serde_json::Value = resp.json().await.unwrap();
    assert!(error["code"].is_string(), "{error}");

    let _ = std::fs::remove_dir_all(&dir);
}
