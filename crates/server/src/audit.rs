//! The audit trail: who changed what and when. Details never contain secrets (callers pass settings
//! and identifiers only).

use serde_json::{Map, Value, json};
use uuid::Uuid;

pub async fn record(
    db: impl sqlx::PgExecutor<'_>,
    mailbox_id: Option<Uuid>,
    actor: &str,
    action: &str,
    detail: &Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (mailbox_id, actor, action, detail) VALUES ($1, $2, $3, $4)",
    )
    .bind(mailbox_id)
    .bind(actor)
    .bind(action)
    .bind(detail)
    .execute(db)
    .await?;
    Ok(())
}

/// The changed leaves between two JSON objects, as `{"a.b": {"from": …, "to": …}}`.
pub fn diff(old: &Value, new: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    walk("", old, new, &mut out);
    out
}

fn walk(path: &str, old: &Value, new: &Value, out: &mut Map<String, Value>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(
                    &p,
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (a, b) if a != b => {
            out.insert(path.to_owned(), json!({ "from": a, "to": b }));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_lists_only_changed_leaves_with_dotted_paths() {
        let old = json!({"a": {"x": 1, "y": [1]}, "b": true});
        let new = json!({"a": {"x": 2, "y": [1]}, "b": true, "c": "n"});
        let d = diff(&old, &new);
        assert_eq!(d.len(), 2);
        assert_eq!(d["a.x"], json!({"from": 1, "to": 2}));
        assert_eq!(d["c"], json!({"from": null, "to": "n"}));
    }
}
