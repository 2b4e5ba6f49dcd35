//! Importer: JSON lines, JSON arrays and CSV into a resource, with mapping, transforms,
//! progress, and per-item failures that never stop the rest.

use std::io::Cursor;
use std::sync::{Arc, Mutex};

use s3db_plugins::importer::{ImportFormat, Importer, Position};
use serde_json::{Value, json};

use crate::common::{define, memory_db};

async fn people() -> s3db_core::Resource {
    let db = memory_db("importer").await;
    define(
        &db,
        json!({"name": "people", "attributes": {"name": "string|required", "age": "number|optional", "tags": "array|items:string|optional"}}),
    )
    .await
}

#[tokio::test]
async fn json_lines_report_each_bad_line_by_number_and_import_the_rest() {
    let people = people().await;
    let input = "{\"id\":\"a\",\"name\":\"Ana\"}\n\n{oops\n[1]\n{\"id\":\"b\",\"age\":3}\n{\"id\":\"c\",\"name\":\"Cy\",\"age\":4}\n{\"id\":\"a\",\"name\":\"Again\"}\n";
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let report = Importer::new(people.clone())
        .concurrency(1)
        .on_progress(move |p| {
            log.lock()
                .unwrap()
                .push((p.processed, p.imported, p.failure.map(|f| f.position)))
        })
        .import_reader(Cursor::new(input))
        .await;
    assert_eq!((report.imported, report.failed), (2, 4));
    let failures: Vec<(Position, bool)> = report
        .failures
        .iter()
        .map(|f| (f.position, f.malformed))
        .collect();
    assert_eq!(
        failures,
        [
            (Position::Line(3), true),
            (Position::Line(4), false),
            (Position::Line(5), false),
            (Position::Line(7), false)
        ]
    );
    assert!(report.failures[1].reason.contains("expected a JSON object"));
    assert!(
        report.failures[2].reason.contains("name"),
        "{}",
        report.failures[2].reason
    );
    assert_eq!(people.get("c").await.unwrap()["age"], 4);
    assert_eq!(
        people.get("a").await.unwrap()["name"],
        "Ana",
        "insert never overwrites"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 6, "one progress call per item");
    assert_eq!(seen.last().unwrap().0, 6);
    assert_eq!(seen.iter().filter(|s| s.2.is_some()).count(), 4);
}

#[tokio::test]
async fn json_arrays_map_fields_transform_and_upsert() {
    let people = people().await;
    people
        .insert(
            json!({"id": "a", "name": "old"})
                .as_object()
                .cloned()
                .unwrap(),
        )
        .await
        .unwrap();
    let input = json!([
        {"id": "a", "fullName": "ana", "years": 30},
        {"id": "b", "fullName": "bo", "years": -1},
        {"id": "c", "fullName": "cy", "years": 7, "labels": "x;y"}
    ]);
    let report = Importer::new(people.clone())
        .format(ImportFormat::Json)
        .upsert(true)
        .map_field("fullName", "name")
        .map_field("years", "age")
        .map_field("labels", "tags")
        .transform_field("name", |v| {
            Ok(json!(v.as_str().unwrap_or_default().to_uppercase()))
        })
        .transform_field("age", |v| match v.as_i64() {
            Some(n) if n >= 0 => Ok(v),
            _ => Err("must not be negative".into()),
        })
        .transform(|mut record| {
            if let Some(Value::String(tags)) = record.get("tags") {
                let split: Vec<Value> = tags.split(';').map(|t| json!(t)).collect();
                record.insert("tags".into(), Value::Array(split));
            }
            Ok(record)
        })
        .import_reader(Cursor::new(input.to_string()))
        .await;
    assert_eq!((report.imported, report.failed), (2, 1));
    assert_eq!(report.failures[0].position, Position::Element(2));
    assert_eq!(
        report.failures[0].reason,
        "field \"age\": must not be negative"
    );
    let a = people.get("a").await.unwrap();
    assert_eq!(
        (a["name"].clone(), a["age"].clone()),
        (json!("ANA"), json!(30)),
        "upserted"
    );
    assert_eq!(people.get("c").await.unwrap()["tags"], json!(["x", "y"]));
}

#[tokio::test]
async fn csv_columns_are_typed_by_the_attribute_they_map_to() {
    let people = people().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("people.csv");
    std::fs::write(&path, "id,who,howOld\na,Ana,31\nb,Bo,old\nc,Cy\nd,Di,4\n").unwrap();
    let report = Importer::new(people.clone())
        .format(s3db_plugins::importer::format_of(&path))
        .map_field("who", "name")
        .map_field("howOld", "age")
        .import_file(&path)
        .await
        .unwrap();
    assert_eq!((report.imported, report.failed), (2, 2));
    let lines: Vec<Position> = report.failures.iter().map(|f| f.position).collect();
    assert_eq!(lines, [Position::Line(3), Position::Line(4)]);
    assert!(
        report.failures[0].reason.contains("\"howOld\""),
        "{}",
        report.failures[0].reason
    );
    assert_eq!(
        people.get("a").await.unwrap()["age"],
        31,
        "a number, not the text \"31\""
    );
    let missing = Importer::new(people)
        .import_file(dir.path().join("nope.jsonl"))
        .await
        .unwrap_err();
    assert!(missing.to_string().contains("nope.jsonl"), "{missing}");
}
