//! Writes seed inputs for every fuzz target into `fuzz/corpus/<target>/`, from the golden
//! s3db.js fixtures (`fixtures/s3dbjs-21.6.2/objects.jsonl`) and a few hand-written forms.
//!
//! ```text
//! cargo run -p s3db-fuzz --example seed_corpus
//! cargo +nightly fuzz cmin <target>     # then keep the corpus small
//! ```

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use s3db_codec::meta::decode_meta;
use s3db_codec::secret::{SALT_LEN, Secrets};
use s3db_codec::value::{self, ValueKind};
use s3db_fuzz::{FIXTURE_PASSPHRASE, VALUE_DEFINITIONS};
use s3db_storage::fs::ObjectHeader;
use serde_json::{Value, json};

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The repository root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Seeds of one target, written as files named by a hash of their content.
struct Seeds {
    dir: PathBuf,
    written: usize,
}

impl Seeds {
    fn new(target: &str) -> AnyResult<Seeds> {
        let dir = root().join("fuzz/corpus").join(target);
        std::fs::create_dir_all(&dir)?;
        Ok(Seeds { dir, written: 0 })
    }

    fn add(&mut self, data: impl AsRef<[u8]>) -> AnyResult<()> {
        let data = data.as_ref();
        // FNV-1a: a stable name, so re-running the seeder adds no duplicates.
        let hash = data.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        });
        std::fs::write(self.dir.join(format!("seed-{hash:016x}")), data)?;
        self.written += 1;
        Ok(())
    }
}

impl Drop for Seeds {
    fn drop(&mut self) {
        println!("{}: {} seeds", self.dir.display(), self.written);
    }
}

fn main() -> AnyResult<()> {
    let fixtures = root().join("fixtures/s3dbjs-21.6.2/objects.jsonl");
    let objects: Vec<Value> = std::fs::read_to_string(&fixtures)?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let mut stored = BTreeSet::new();
    let mut documents = Vec::new();
    for object in &objects {
        if let Some(metadata) = object["metadata"].as_object() {
            stored.extend(
                metadata
                    .values()
                    .filter_map(Value::as_str)
                    .map(str::to_owned),
            );
        }
        if object["key"]
            .as_str()
            .is_some_and(|k| k.ends_with("s3db.json"))
        {
            let body = object["body_base64"].as_str().unwrap_or_default();
            documents.push(STANDARD.decode(body)?);
        }
    }

    let mut meta = Seeds::new("meta_decode")?;
    for value in &stored {
        meta.add(value)?;
    }

    let mut values = Seeds::new("value_decode")?;
    let decoded: BTreeSet<String> = stored
        .iter()
        .filter_map(|s| decode_meta(s).as_str().map(str::to_owned))
        .collect();
    for (pick, definition) in (0u8..).zip(VALUE_DEFINITIONS) {
        let kind = ValueKind::from_definition(definition);
        for text in &decoded {
            // Only the values this kind really decodes (not passed through as text).
            match value::decode(&kind, text) {
                Ok(Value::String(s)) if s == *text => {}
                Ok(_) => values.add([&[pick], text.as_bytes()].concat())?,
                Err(_) => {}
            }
        }
    }

    let mut secrets = Seeds::new("secret_decrypt")?;
    let keys = Secrets::new(FIXTURE_PASSPHRASE);
    for text in decoded.iter().filter(|t| t.len() >= 60) {
        if let Ok(plaintext) = keys.decrypt(text) {
            secrets.add([b"\x00", text.as_bytes()].concat())?;
            secrets.add([b"\x02", plaintext.as_bytes()].concat())?;
            let bytes = STANDARD.decode(text)?;
            secrets.add([b"\x01", &bytes[SALT_LEN..]].concat())?;
        }
    }

    let mut cursors = Seeds::new("page_cursor")?;
    for (prefix, token) in [
        ("resource=users/data", json!("resource=users/data/id=u1")),
        (
            "resource=users/data",
            json!(STANDARD.encode("resource=users/data/id=u1")),
        ),
        (
            "resource=users/data",
            json!(STANDARD.encode("db/resource=users/data/id=u1")),
        ),
        (
            "resource=users/partition=byStatus/status=open",
            json!("resource=users/partition=byStatus/status=open/id=u2"),
        ),
        ("resource=users/data", Value::Null),
        ("resource=users/data", json!("1/opaque-s3-token")),
    ] {
        let body = json!({"v": 1, "prefix": prefix, "token": token, "pageSize": 10});
        cursors.add(URL_SAFE_NO_PAD.encode(body.to_string()))?;
    }

    let mut connections = Seeds::new("connection_string")?;
    for conn in [
        "s3://KEY:SECRET@bucket/prefix?region=eu-west-1",
        "s3://bucket",
        "http://minio:minio123@localhost:9000/bucket/app/tenant",
        "https://AKIA:s%2Fecret@s3.example.com/bucket?region=auto",
        "memory://bucket/prefix",
        "file:///var/lib/s3db",
        "file://./data",
        "file://localhost/srv/db%20one",
    ] {
        connections.add(conn)?;
    }

    let mut filters = Seeds::new("filter")?;
    for filter in [
        json!({"status": "open"}),
        json!({"profile.age": {"$gte": 18, "$lt": 65}, "status": {"$in": ["open", "new"]}}),
        json!([{"n": {"$ne": 3}, "f": {"$exists": true}}, {"n": 4, "f": 1}]),
        json!({"tags": {"$eq": ["x", "y"]}, "missing": {"$exists": false}}),
    ] {
        filters.add(filter.to_string())?;
    }

    let mut schemas = Seeds::new("schema_shorthand")?;
    let mut configs = Seeds::new("resource_config")?;
    let mut docs = Seeds::new("s3db_json")?;
    for document in &documents {
        docs.add(document)?;
        let doc: Value = serde_json::from_slice(document)?;
        for (name, resource) in doc["resources"].as_object().into_iter().flatten() {
            for version in resource["versions"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|v| v.1)
            {
                let attributes = &version["attributes"];
                schemas.add(format!("{attributes}\n{{}}"))?;
                for definition in attributes.as_object().into_iter().flatten().map(|a| a.1) {
                    if let Some(text) = definition.as_str() {
                        schemas.add(text)?;
                    }
                }
                let config = json!({
                    "name": name,
                    "attributes": attributes,
                    "behavior": version["behavior"],
                    "timestamps": version["timestamps"],
                    "partitions": version["partitions"],
                    "idSize": version["idSize"],
                });
                configs.add(config.to_string())?;
            }
        }
    }
    for (definition, record) in [
        ("string|min:2|max:100", json!("  Ana  ")),
        ("number|integer:true|min:0", json!("41")),
        ("email|required", json!("a@b.co")),
        ("array|items:string|min:1", json!(["a", "b"])),
        ("embedding:3", json!([0.1, 0.2, 0.3])),
        ("string|default:x:y|optional", Value::Null),
        ("boolean|default:true", Value::Null),
        ("date", json!("2026-01-02")),
        ("enum|values:a,b", json!("a")),
    ] {
        schemas.add(format!("{definition}\n{record}"))?;
    }
    let nested = json!({"profile": {"city": "string", "$$type": "object|optional"}, "age": {"type": "number", "min": 0}});
    schemas.add(format!(
        "{nested}\n{}",
        json!({"profile": {"city": "Rio"}, "age": 3})
    ))?;

    let mut objects_out = Seeds::new("object_header")?;
    for (metadata, body) in [
        (json!({}), &b""[..]),
        (json!({"0": "Ana", "_v": "v1"}), &b"{\"k\":1}"[..]),
    ] {
        let header = ObjectHeader {
            etag: "\"d41d8cd98f00b204e9800998ecf8427e\"".into(),
            size: body.len() as u64,
            modified: (1_764_000_000, 5),
            content_type: Some("application/json".into()),
            metadata: serde_json::from_value(metadata)?,
        };
        let json = serde_json::to_vec(&header)?;
        let mut file = b"S3DBOBJ1".to_vec();
        file.extend_from_slice(&u32::try_from(json.len())?.to_le_bytes());
        file.extend_from_slice(&json);
        file.extend_from_slice(body);
        objects_out.add(file)?;
    }
    Ok(())
}
