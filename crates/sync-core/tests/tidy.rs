//! Architecture invariant: the core does no IO and reads no clock. This test reads the crate's sources
//! and fails when one of them reaches for the network, the file system, the environment or the time.

use std::path::Path;

const FORBIDDEN: &[&str] = &[
    "Utc::now",
    "Local::now",
    "SystemTime",
    "Instant::now",
    "std::fs",
    "std::net",
    "std::env",
    "std::process",
    "std::thread",
    "tokio",
    "reqwest",
];

#[test]
fn sources_do_no_io_and_read_no_clock() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offences = Vec::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&src).expect("src dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(&path).expect("source");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for word in FORBIDDEN {
                if code.contains(word) {
                    offences.push(format!("{}:{}: {word}", path.display(), n + 1));
                }
            }
        }
    }
    assert!(files >= 5, "found only {files} source files");
    assert!(
        offences.is_empty(),
        "IO or clock in sync-core:\n{}",
        offences.join("\n")
    );
}
