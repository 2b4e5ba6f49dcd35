//! fastest-validator's `T[]` shorthand stores and reads back whole arrays.

use s3db_core::{Database, Record, ResourceConfig};
use serde_json::json;

#[tokio::test]
async fn typed_array_shorthand_round_trips() {
    let db = Database::connect("memory://array-shorthand").await.unwrap();
    let things = db
        .create_resource(
            ResourceConfig::new("things")
                .attribute("tags", "string[]")
                .attribute("scores", "number[]"),
        )
        .await
        .unwrap();
    let record: Record = serde_json::from_value(json!({
        "id": "t1", "tags": ["a|b", "c,d", ""], "scores": [1.5, -2.25]
    }))
    .unwrap();
    things.insert(record).await.unwrap();
    let back = things.get("t1").await.unwrap();
    assert_eq!(back["tags"], json!(["a|b", "c,d", ""]));
    assert_eq!(back["scores"], json!([1.5, -2.25]));
}
