//! Full-text plugin: every search (words, prefixes, phrases, pages) equals a brute-force
//! BM25 computed over all records with the same analyzer, on memory and on SeaweedFS,
//! after inserts, updates, deletes and bulk writes; requests per write and per query are
//! counted; concurrent writers leave the index equal to a rebuild.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use s3db_core::{Database, Error as CoreError, Record, Resource, ResourceConfig};
use s3db_plugins::fulltext::{
    Analyzer, Bm25, FullTextConfig, FullTextIndex, FullTextPlugin, Language, Query, SearchOptions,
};
use s3db_storage::layers::Stack;
use s3db_storage::testing::{self, Server, fresh_storage_on};
use s3db_storage::{MemoryStorage, S3Storage, Storage, StorageExt};
use serde_json::json;

use crate::common::processes::{Worker, spawn};
use crate::common::rec;

/// Words of the generated corpus: plain words sharing prefixes, words with diacritics (and
/// their folded twins), ligatures, and Cyrillic, Greek and Japanese words.
const VOCABULARY: &[&str] = &[
    "data",
    "database",
    "datum",
    "dated",
    "date",
    "bucket",
    "object",
    "store",
    "stored",
    "storing",
    "query",
    "queries",
    "index",
    "indexes",
    "rank",
    "ranking",
    "search",
    "term",
    "phrase",
    "prefix",
    "write",
    "read",
    "list",
    "key",
    "value",
    "café",
    "cafe",
    "Café",
    "naïve",
    "résumé",
    "Zürich",
    "zurich",
    "straße",
    "crème",
    "brûlée",
    "façade",
    "piñata",
    "ﬁnal",
    "coöperate",
    "Ångström",
    "москва",
    "Москва",
    "данные",
    "Αθήνα",
    "λόγος",
    "東京",
    "データ",
    "l'été",
    "rust",
    "tokio",
    "s3",
    "2024",
    "v1.2",
];

/// A small deterministic generator (splitmix64), so failures reproduce.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A word, the first ones more often (a skewed vocabulary, as text has).
    fn word(&mut self) -> &'static str {
        let a = self.below(VOCABULARY.len());
        VOCABULARY[self.below(a + 1)]
    }

    fn text(&mut self, low: usize, high: usize) -> String {
        let n = low + self.below(high - low + 1);
        let words: Vec<&str> = (0..n).map(|_| self.word()).collect();
        words.join(if self.below(3) == 0 { ", " } else { " " })
    }
}

fn doc(dice: &mut Dice, id: &str) -> Record {
    let mut record = rec(json!({"id": id, "n": dice.below(1000)}));
    // Some records have no title at all.
    if dice.below(8) != 0 {
        record.insert("title".into(), dice.text(1, 5).into());
    }
    record.insert("body".into(), dice.text(8, 40).into());
    record
}

struct Setup {
    db: Database,
    docs: Resource,
    index: FullTextIndex,
    stack: Stack,
}

async fn setup(storage: Arc<dyn Storage>, analyzer: Analyzer) -> Setup {
    let stack = Stack::builder(storage).metrics().build();
    let plugin = Arc::new(
        FullTextPlugin::new(
            FullTextConfig::new()
                .resource("docs", ["title", "body"])
                .analyzer(analyzer),
        )
        .unwrap(),
    );
    let db = Database::builder(stack.storage())
        .plugin(plugin.clone())
        .open()
        .await
        .unwrap();
    let docs = db
        .create_resource(
            ResourceConfig::from_json(&json!({
                "name": "docs",
                "paranoid": false,
                "attributes": {
                    "title": "string|optional", "body": "string|optional", "n": "number|optional"
                }
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    let index = plugin.index("docs").unwrap();
    Setup {
        db,
        docs,
        index,
        stack,
    }
}

fn requests(stack: &Stack) -> u64 {
    stack.metrics().unwrap().snapshot().requests()
}

fn id_of(record: &Record) -> String {
    record["id"].as_str().unwrap().to_owned()
}

/// (id, score) of every match, computed directly over `all` records: BM25 per field with
/// that field's mean length, summed field by field and term by term (the order the plugin
/// adds in, so the sums are bit for bit the same), best first, ties by id.
fn brute_force(index: &FullTextIndex, all: &[Record], text: &str) -> Vec<(String, f64)> {
    let settings = index.settings();
    let query = Query::parse(&settings.analyzer, text);
    let Bm25 { k1, b } = settings.bm25;
    let docs: Vec<(String, Vec<Vec<String>>)> =
        all.iter().map(|r| (id_of(r), index.terms_of(r))).collect();
    let n = docs.len() as f64;
    let mut scores: BTreeMap<String, f64> = BTreeMap::new();
    for f in 0..settings.fields.len() {
        let mut terms: BTreeSet<String> = query.terms.clone();
        terms.extend(query.phrases.iter().flatten().cloned());
        for (_, fields) in &docs {
            for term in &fields[f] {
                if query.prefixes.iter().any(|p| term.starts_with(p.as_str())) {
                    terms.insert(term.clone());
                }
            }
        }
        let total: usize = docs.iter().map(|(_, fields)| fields[f].len()).sum();
        let average = total as f64 / n;
        for term in &terms {
            let tf_of = |fields: &Vec<Vec<String>>| fields[f].iter().filter(|t| *t == term).count();
            let df = docs.iter().filter(|(_, fields)| tf_of(fields) > 0).count() as f64;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            for (id, fields) in &docs {
                let tf = tf_of(fields) as f64;
                if tf > 0.0 {
                    let len = fields[f].len() as f64;
                    let norm = 1.0 - b + b * len / average;
                    *scores.entry(id.clone()).or_default() +=
                        idf * tf * (k1 + 1.0) / (tf + k1 * norm);
                }
            }
        }
    }
    let phrase_holders: BTreeSet<&String> = docs
        .iter()
        .filter(|(_, fields)| {
            query.phrases.iter().all(|phrase| {
                fields
                    .iter()
                    .any(|terms| terms.windows(phrase.len()).any(|w| w == phrase.as_slice()))
            })
        })
        .map(|(id, _)| id)
        .collect();
    let mut ranked: Vec<(String, f64)> = scores
        .into_iter()
        .filter(|(id, _)| phrase_holders.contains(id))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked
}

/// Queries of every kind; the phrases are taken from stored records so they match.
fn queries(all: &[Record], dice: &mut Dice) -> Vec<String> {
    let mut queries: Vec<String> = [
        "data",
        "Zurich",
        "CAFE résumé",
        "москва данные 東京",
        "final cooperate angstrom",
        "dat*",
        "caf* zur*",
        "м*",
        "stor* query",
        "absent",
        "l'ete",
        "v1.2 2024",
        "\"data\"",
    ]
    .map(String::from)
    .to_vec();
    for _ in 0..6 {
        let record = &all[dice.below(all.len())];
        let words: Vec<&str> = record["body"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .collect();
        let at = dice.below(words.len() - 2);
        let phrase = words[at..at + 2 + dice.below(2)].join(" ");
        queries.push(format!("\"{}\"", phrase.replace(',', "")));
        queries.push(format!("\"{}\" {}", phrase.replace(',', ""), dice.word()));
    }
    queries
}

/// Every query equals the brute force, whole and paged.
async fn agree_with_brute_force(s: &Setup, dice: &mut Dice) {
    let all = s.docs.get_all().await.unwrap();
    for text in queries(&all, dice) {
        let expected = brute_force(&s.index, &all, &text);
        let everything = SearchOptions::new().limit(usize::MAX);
        let found = s.index.search(&text, &everything).await.unwrap();
        let got: Vec<(String, f64)> = found.hits.into_iter().map(|h| (h.id, h.score)).collect();
        assert_eq!(got, expected, "query {text:?}");
        assert_eq!(found.total, expected.len(), "query {text:?}");
        let page = s
            .index
            .search(
                &text,
                &SearchOptions::new().offset(3).limit(5).with_records(),
            )
            .await
            .unwrap();
        let page_ids: Vec<String> = page.hits.iter().map(|h| h.id.clone()).collect();
        let expected_ids: Vec<String> = expected
            .iter()
            .skip(3)
            .take(5)
            .map(|e| e.0.clone())
            .collect();
        assert_eq!(page_ids, expected_ids, "page of {text:?}");
        for hit in &page.hits {
            assert_eq!(hit.record.as_ref().map(id_of), Some(hit.id.clone()));
        }
    }
    let only_titles = SearchOptions::new().fields(["title"]).limit(usize::MAX);
    let titles = s.index.search("data", &only_titles).await.unwrap();
    let holders = all
        .iter()
        .filter(|r| s.index.terms_of(r)[0].iter().any(|t| t == "data"))
        .count();
    assert_eq!(titles.total, holders, "a search of one field");
}

/// Rewrites records through every write path, bulk ones included.
async fn rewrite(s: &Setup, dice: &mut Dice, n: usize) {
    let id = |i: usize| format!("d{i:04}");
    s.docs
        .update(&id(0), rec(json!({"title": "Zürich café data"})))
        .await
        .unwrap();
    s.docs
        .patch(&id(1), rec(json!({"body": dice.text(3, 6)})))
        .await
        .unwrap();
    let replaced = doc(dice, &id(2));
    s.docs.replace(&id(2), replaced).await.unwrap();
    s.docs.update(&id(3), rec(json!({"n": 7}))).await.unwrap();
    s.docs
        .update(&id(4), rec(json!({"title": null})))
        .await
        .unwrap();
    s.docs.delete(&id(5)).await.unwrap();
    let gone: Vec<String> = (6..16).map(id).collect();
    assert_eq!(s.docs.delete_many(&gone).await.unwrap(), 10);
    s.docs
        .upsert(rec(json!({"id": id(16), "title": "upserted résumé"})))
        .await
        .unwrap();
    let fresh = doc(dice, &id(n + 1));
    s.docs.upsert(fresh).await.unwrap();
    let more: Vec<Record> = (n + 2..n + 12).map(|i| doc(dice, &id(i))).collect();
    for result in s.docs.insert_many(more).await {
        result.unwrap();
    }
}

/// Requests of one write (the record's own included).
async fn counted<F: std::future::Future>(stack: &Stack, work: F) -> (u64, F::Output) {
    let before = requests(stack);
    let out = work.await;
    (requests(stack) - before, out)
}

/// Index entries `record` owns: its postings and its lengths object.
fn entries(index: &FullTextIndex, record: &Record) -> u64 {
    let distinct: usize = index
        .terms_of(record)
        .iter()
        .map(|terms| terms.iter().collect::<BTreeSet<_>>().len())
        .sum();
    distinct as u64 + 1
}

/// Counts requests of writes and queries, and checks the documented costs.
async fn measure(s: &Setup, dice: &mut Dice, label: &str, n: usize) {
    let record = doc(dice, "m0001");
    let expected = entries(&s.index, &record);
    let (insert, _) = counted(&s.stack, s.docs.insert(record)).await;
    // The record's PUT, then GET manifest, GET record, PUT manifest, GET record, the entries,
    // PUT manifest.
    assert_eq!(insert, 1 + 5 + expected, "{label}: requests of an insert");
    let (same, _) = counted(&s.stack, s.docs.update("m0001", rec(json!({"n": 1})))).await;
    let (retitle, _) = counted(
        &s.stack,
        s.docs
            .update("m0001", rec(json!({"title": "zurich zurich data"}))),
    )
    .await;
    let (delete, _) = counted(&s.stack, s.docs.delete("m0001")).await;
    eprintln!(
        "fulltext {label}: {n} records; requests: insert {insert} ({expected} entries), update of a non-text field {same}, update of the title {retitle}, delete {delete}"
    );
    let sample = s.docs.get("d0020").await.unwrap();
    let words: Vec<&str> = sample["body"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .collect();
    let phrase = format!("\"{} {}\"", words[0], words[1]).replace(',', "");
    let texts = [
        "data",
        "zurich café",
        "dat*",
        "\"data base\"",
        &phrase,
        "rust tokio s3 data",
    ];
    for text in texts {
        let (requests, found) =
            counted(&s.stack, s.index.search(text, &SearchOptions::new())).await;
        let found = found.unwrap();
        eprintln!(
            "fulltext {label}: query {text:?}: {} matches, {requests} requests",
            found.total
        );
    }
    let (two_terms, _) = counted(
        &s.stack,
        s.index.search("zurich café", &SearchOptions::new()),
    )
    .await;
    // One LIST of lengths, one LIST per field and term (under 1 000 records and postings).
    assert_eq!(
        two_terms,
        1 + 2 * 2,
        "{label}: requests of a two-term query"
    );
}

async fn scenario(storage: Arc<dyn Storage>, n: usize, label: &str) {
    let s = setup(storage, Analyzer::new()).await;
    let mut dice = Dice(0x5EED_F00D);
    let records: Vec<Record> = (0..n)
        .map(|i| doc(&mut dice, &format!("d{i:04}")))
        .collect();
    for result in s.docs.insert_many(records).await {
        result.unwrap();
    }
    agree_with_brute_force(&s, &mut dice).await;
    rewrite(&s, &mut dice, n).await;
    agree_with_brute_force(&s, &mut dice).await;
    measure(&s, &mut dice, label, n).await;
    let report = s.index.rebuild().await.unwrap();
    assert_eq!(
        (report.added, report.removed),
        (0, 0),
        "{label}: the maintained index equals a rebuild: {report:?}"
    );
    assert_eq!(report.records, s.docs.count().await.unwrap());
    s.docs.delete_all().await.unwrap();
    let left = s
        .index
        .search("data dat*", &SearchOptions::new())
        .await
        .unwrap();
    assert_eq!(left.total, 0, "{label}: delete_all empties the index");
    let area = s.db.storage().list_keys("resource=docs/").await.unwrap();
    assert!(area.is_empty(), "{label}: left behind: {area:?}");
    s.db.disconnect().await.unwrap();
}

#[tokio::test]
async fn searches_equal_brute_force_on_memory() {
    scenario(Arc::new(MemoryStorage::new()), 400, "memory").await;
}

#[tokio::test]
async fn searches_equal_brute_force_on_seaweedfs() {
    let storage = fresh_storage_on(Server::SeaweedFs).await.unwrap();
    scenario(Arc::new(storage), 200, "SeaweedFS").await;
}

#[tokio::test]
async fn stemming_stop_words_and_a_rebuild_of_existing_records() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let analyzer = Analyzer::new()
        .stemming(Language::English)
        .stop_words(["the", "a"])
        .min_word_length(2);
    let s = setup(storage.clone(), analyzer).await;
    let texts = [
        ("s1", "The runner was running a race"),
        ("s2", "Runners run; the races are run"),
        ("s3", "A quiet garden"),
    ];
    for (id, body) in texts {
        s.docs
            .insert(rec(json!({"id": id, "body": body})))
            .await
            .unwrap();
    }
    agree_with_brute_force_on(
        &s,
        &["runs", "race", "\"runner was\"", "gardens quiet", "the"],
    )
    .await;
    let found = s
        .index
        .search("running", &SearchOptions::new())
        .await
        .unwrap();
    assert_eq!(found.total, 2, "stems match across forms");
    assert_eq!(
        s.index
            .search("the a", &SearchOptions::new())
            .await
            .unwrap()
            .total,
        0
    );

    // Records written before the index existed: a rebuild indexes them.
    s.db.storage()
        .delete_prefix("resource=docs/plugin=fulltext/")
        .await
        .unwrap();
    assert_eq!(
        s.index
            .search("race", &SearchOptions::new())
            .await
            .unwrap()
            .total,
        0
    );
    let report = s.index.rebuild().await.unwrap();
    assert_eq!(report.records, 3);
    assert_eq!(report.added, report.entries);
    agree_with_brute_force_on(&s, &["runs", "race", "quiet"]).await;
    // Stray entries are removed.
    s.db.storage()
        .put_bytes(
            "resource=docs/plugin=fulltext/p/body/ghost/s9/1",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(s.index.rebuild().await.unwrap().removed, 1);

    // Bad input is refused with the reason.
    let unknown = s
        .index
        .search("race", &SearchOptions::new().fields(["summary"]))
        .await
        .unwrap_err();
    assert!(
        unknown.to_string().contains("\"summary\" is not indexed"),
        "{unknown}"
    );
    for bad in [
        FullTextConfig::new().resource("x", Vec::<String>::new()),
        FullTextConfig::new().resource("x", ["a", "a"]),
        FullTextConfig::new()
            .resource("x", ["a"])
            .bm25(Bm25 { k1: 1.2, b: 2.0 }),
    ] {
        assert!(FullTextPlugin::new(bad).is_err());
    }
    s.db.disconnect().await.unwrap();
}

async fn agree_with_brute_force_on(s: &Setup, texts: &[&str]) {
    let all = s.docs.get_all().await.unwrap();
    for text in texts {
        let found = s.index.search(text, &SearchOptions::new()).await.unwrap();
        let got: Vec<(String, f64)> = found.hits.into_iter().map(|h| (h.id, h.score)).collect();
        assert_eq!(got, brute_force(&s.index, &all, text), "query {text:?}");
    }
}

/// `writes` random inserts, updates, replaces, upserts and deletes of 12 shared ids; the
/// outcomes a race allows (a missing record, a taken id, a conflict after retries) are fine.
async fn write_randomly(docs: &Resource, seed: u64, writes: usize) {
    let mut dice = Dice(seed);
    for _ in 0..writes {
        let id = format!("c{:02}", dice.below(12));
        let result = match dice.below(5) {
            0 => docs.insert(doc(&mut dice, &id)).await.map(drop),
            1 => docs
                .update(&id, rec(json!({"body": dice.text(2, 12)})))
                .await
                .map(drop),
            2 => docs.replace(&id, doc(&mut dice, &id)).await.map(drop),
            3 => docs.upsert(doc(&mut dice, &id)).await.map(drop),
            _ => docs.delete(&id).await,
        };
        match result {
            Ok(())
            | Err(
                CoreError::NotFound { .. }
                | CoreError::AlreadyExists { .. }
                | CoreError::Conflict { .. },
            ) => {}
            Err(e) => panic!("writer {seed}: {e}"),
        }
    }
}

/// After concurrent writers: a rebuild finds nothing to fix, searches equal the brute force.
async fn assert_equal_to_a_rebuild(s: &Setup, label: &str) {
    let report = s.index.rebuild().await.unwrap();
    eprintln!("fulltext concurrency {label}: {report:?}");
    assert_eq!(
        (report.added, report.removed),
        (0, 0),
        "{label}: {report:?}"
    );
    agree_with_brute_force_on(s, &["data", "zurich café", "dat*", "москва"]).await;
}

/// Tasks insert, update, replace, upsert and delete the same few records at once; the index
/// they leave is exactly what a rebuild computes.
async fn concurrent_writers(storage: Arc<dyn Storage>, label: &str, writes: usize) {
    let s = setup(storage, Analyzer::new()).await;
    let tasks: Vec<_> = (0..6u64)
        .map(|task| {
            let docs = s.docs.clone();
            tokio::spawn(async move { write_randomly(&docs, task * 7919 + 1, writes).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_equal_to_a_rebuild(&s, &format!("{label}, 6 tasks × {writes} writes on 12 ids")).await;
    s.db.disconnect().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_leave_the_index_equal_to_a_rebuild_on_memory() {
    concurrent_writers(Arc::new(MemoryStorage::new()), "memory", 60).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_leave_the_index_equal_to_a_rebuild_on_seaweedfs() {
    let storage = fresh_storage_on(Server::SeaweedFs).await.unwrap();
    concurrent_writers(Arc::new(storage), "SeaweedFS", 25).await;
}

const PROCESSES: usize = 3;
const PROCESS_WRITES: usize = 30;

/// One writer process of `writer_processes_leave_the_index_equal_to_a_rebuild`.
#[tokio::test]
#[ignore = "a worker process of writer_processes_leave_the_index_equal_to_a_rebuild"]
async fn fulltext_writer() {
    let Some(worker) = Worker::from_env() else {
        return;
    };
    let config = testing::s3_config_at(worker.param("ENDPOINT").into(), worker.param("BUCKET"));
    let storage: Arc<dyn Storage> = Arc::new(S3Storage::connect(&config).await.unwrap());
    let s = setup(storage, Analyzer::new()).await;
    let seed = 1000 + worker.index as u64;
    write_randomly(&s.docs, seed, PROCESS_WRITES).await;
    worker.report(&json!({"writes": PROCESS_WRITES}));
}

/// Processes writing the same records of one SeaweedFS bucket leave the index equal to a
/// rebuild: the manifests' compare-and-swap holds across processes.
#[tokio::test]
async fn writer_processes_leave_the_index_equal_to_a_rebuild() {
    let bucket = testing::fresh_bucket_on(Server::SeaweedFs).await.unwrap();
    let storage: Arc<dyn Storage> = Arc::new(S3Storage::connect(&bucket).await.unwrap());
    let s = setup(storage, Analyzer::new()).await;
    let params = [
        ("ENDPOINT", bucket.endpoint.clone().unwrap()),
        ("BUCKET", bucket.bucket.clone()),
    ];
    let results = spawn("fulltext::fulltext_writer", PROCESSES, &params).wait();
    assert!(results.iter().all(|(ok, _)| *ok), "a writer failed");
    let writes: u64 = results
        .iter()
        .flat_map(|(_, reports)| reports)
        .map(|r| r["writes"].as_u64().unwrap())
        .sum();
    assert_eq!(writes, (PROCESSES * PROCESS_WRITES) as u64);
    let label = format!("SeaweedFS, {PROCESSES} processes × {PROCESS_WRITES} writes on 12 ids");
    assert_equal_to_a_rebuild(&s, &label).await;
    s.db.disconnect().await.unwrap();
}
