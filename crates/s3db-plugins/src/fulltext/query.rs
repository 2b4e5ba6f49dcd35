//! Queries: parsing, BM25 ranking, phrase verification, pagination.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures::{StreamExt, TryStreamExt};
use s3db_core::Record;

use super::analyzer::{Analyzer, escape};
use super::index::{FullTextIndex, IN_FLIGHT};
use super::{Bm25, SLUG};
use crate::{Error, Result};

/// A parsed query: words, `prefix*` words and `"quoted phrases"`.
///
/// Words and phrase words go through the resource's [`Analyzer`] (a word may make several
/// terms, or none when filtered out); a prefix is folded but not stemmed and matches every
/// indexed term starting with it.
///
/// ```
/// use s3db_plugins::fulltext::{Analyzer, Query};
///
/// let query = Query::parse(&Analyzer::new(), r#"Café "New York" héb*"#);
/// assert_eq!(query.terms, ["cafe"].map(String::from).into());
/// assert_eq!(query.phrases, [vec!["new".to_owned(), "york".to_owned()]]);
/// assert_eq!(query.prefixes, ["heb"].map(String::from).into());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Terms, any of which makes a record match.
    pub terms: BTreeSet<String>,
    /// Term prefixes, any indexed term starting with one of them matches.
    pub prefixes: BTreeSet<String>,
    /// Phrases (two terms or more), each of which a matching record holds in one field, its
    /// terms adjacent and in order.
    pub phrases: Vec<Vec<String>>,
}

impl Query {
    /// Parses `text` with `analyzer`.
    pub fn parse(analyzer: &Analyzer, text: &str) -> Query {
        let mut query = Query::default();
        for (i, part) in text.split('"').enumerate() {
            if i % 2 == 1 {
                let words = analyzer.tokens(part);
                match words.len() {
                    0 => {}
                    1 => query.terms.extend(words),
                    _ => query.phrases.push(words),
                }
                continue;
            }
            for chunk in part.split_whitespace() {
                match chunk.strip_suffix('*') {
                    Some(stem) => {
                        let mut words = analyzer.folded_words(stem);
                        if let Some(last) = words.pop() {
                            query.prefixes.insert(last);
                        }
                        query
                            .terms
                            .extend(words.iter().flat_map(|w| analyzer.tokens(w)));
                    }
                    None => query.terms.extend(analyzer.tokens(chunk)),
                }
            }
        }
        query
    }

    /// Whether the query has nothing to look for.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty() && self.prefixes.is_empty() && self.phrases.is_empty()
    }

    /// The terms looked up exactly: the words and the words of the phrases.
    fn exact_terms(&self) -> BTreeSet<String> {
        let mut terms = self.terms.clone();
        terms.extend(self.phrases.iter().flatten().cloned());
        terms
    }
}

/// Which results, and how much of them, a search returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchOptions {
    /// Results skipped (default 0).
    pub offset: usize,
    /// Results returned at most (default 100, s3db.js's `maxResults`).
    pub limit: usize,
    /// Only these of the indexed fields (default: all).
    pub fields: Option<Vec<String>>,
    /// Whether each hit carries its record (one GET per hit returned).
    pub records: bool,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            offset: 0,
            limit: 100,
            fields: None,
            records: false,
        }
    }
}

impl SearchOptions {
    /// The first 100 results, ids and scores only, every field.
    pub fn new() -> SearchOptions {
        SearchOptions::default()
    }

    /// Skips `n` results.
    pub fn offset(mut self, n: usize) -> Self {
        self.offset = n;
        self
    }

    /// Returns at most `n` results.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = n;
        self
    }

    /// Searches only these indexed fields.
    pub fn fields<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.fields = Some(fields.into_iter().map(Into::into).collect());
        self
    }

    /// Loads the record of each hit returned.
    pub fn with_records(mut self) -> Self {
        self.records = true;
        self
    }
}

/// One result.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// The record's id.
    pub id: String,
    /// Its BM25 score.
    pub score: f64,
    /// The record, when asked for ([`SearchOptions::with_records`]).
    pub record: Option<Record>,
}

/// A page of results, best first (ties by id).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchResults {
    /// How many records match in all.
    pub total: usize,
    /// The page asked for.
    pub hits: Vec<SearchHit>,
}

/// The postings of one field: term → (record id, term frequency).
type FieldPostings = BTreeMap<String, Vec<(String, usize)>>;

impl FullTextIndex {
    /// The records matching `text` ([`Query`] syntax), ranked by BM25 summed over the
    /// fields searched, each field with its own average length.
    ///
    /// A record matches when it holds one of the terms (or a term of a prefix) and every
    /// phrase. Requests: one LIST per 1 000 records (the lengths), one LIST per field and
    /// term or prefix (per 1 000 postings), with phrases one GET per record holding all the
    /// words of a phrase in one field, and with records one GET per hit returned.
    pub async fn search(&self, text: &str, options: &SearchOptions) -> Result<SearchResults> {
        let fields = self.searched_fields(options)?;
        let query = Query::parse(&self.settings.analyzer, text);
        if query.is_empty() {
            return Ok(SearchResults::default());
        }
        let lookups: Vec<(usize, String)> = fields
            .iter()
            .flat_map(|&f| {
                let exact = query
                    .exact_terms()
                    .into_iter()
                    .map(|t| format!("{}/", escape(&t)));
                let prefixes = query.prefixes.iter().map(|p| escape(p));
                exact.chain(prefixes).map(move |prefix| (f, prefix))
            })
            .collect();
        let (lengths, listed) = futures::try_join!(
            self.lengths(),
            futures::stream::iter(lookups)
                .map(|(f, prefix)| async move {
                    let found = self.postings(&self.settings.fields[f], &prefix).await?;
                    Ok::<_, Error>((f, found))
                })
                .buffered(IN_FLIGHT)
                .try_collect::<Vec<_>>()
        )?;
        let mut postings: BTreeMap<usize, FieldPostings> = BTreeMap::new();
        for (f, found) in listed {
            let field = postings.entry(f).or_default();
            for (term, list) in found {
                // A term both asked for and under a prefix is listed twice: keep it once.
                field.entry(term).or_insert(list);
            }
        }
        let mut scores = rank(&self.settings.bm25, &lengths, &postings);
        if !query.phrases.is_empty() {
            let holding = self.phrase_candidates(&query, &postings, &scores);
            let kept = self.verify_phrases(&query, &fields, holding).await?;
            scores.retain(|id, _| kept.contains(id));
        }
        let mut ranked: Vec<(String, f64)> = scores.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let total = ranked.len();
        let mut hits: Vec<SearchHit> = ranked
            .into_iter()
            .skip(options.offset)
            .take(options.limit)
            .map(|(id, score)| SearchHit {
                id,
                score,
                record: None,
            })
            .collect();
        if options.records {
            let ids: Vec<String> = hits.iter().map(|h| h.id.clone()).collect();
            let mut records: HashMap<String, Record> = self
                .resource
                .get_many(&ids)
                .await?
                .into_iter()
                .filter_map(|r| Some((r.get("id")?.as_str()?.to_owned(), r)))
                .collect();
            for hit in &mut hits {
                hit.record = records.remove(&hit.id);
            }
        }
        Ok(SearchResults { total, hits })
    }

    /// Indices of the fields `options` searches; [`Error::Config`] names a field that is
    /// not indexed.
    fn searched_fields(&self, options: &SearchOptions) -> Result<Vec<usize>> {
        let all = &self.settings.fields;
        match &options.fields {
            None => Ok((0..all.len()).collect()),
            Some(asked) => asked
                .iter()
                .map(|name| {
                    all.iter()
                        .position(|f| f == name)
                        .ok_or_else(|| Error::Config {
                            plugin: SLUG,
                            reason: format!(
                                "resource {:?}: field {name:?} is not indexed (indexed: {all:?})",
                                self.resource.name()
                            ),
                        })
                })
                .collect(),
        }
    }

    /// Records that hold, for every phrase, all its terms in one field (by the postings).
    fn phrase_candidates(
        &self,
        query: &Query,
        postings: &BTreeMap<usize, FieldPostings>,
        scores: &BTreeMap<String, f64>,
    ) -> Vec<String> {
        let holding: Vec<BTreeSet<&String>> = query
            .phrases
            .iter()
            .map(|phrase| {
                postings
                    .values()
                    .flat_map(|field| {
                        let mut lists = phrase.iter().map(|term| {
                            field
                                .get(term)
                                .map(|list| list.iter().map(|(id, _)| id).collect::<BTreeSet<_>>())
                                .unwrap_or_default()
                        });
                        let first = lists.next().unwrap_or_default();
                        lists.fold(first, |all, next| {
                            all.intersection(&next).copied().collect()
                        })
                    })
                    .collect()
            })
            .collect();
        scores
            .keys()
            .filter(|id| holding.iter().all(|ids| ids.contains(id)))
            .cloned()
            .collect()
    }

    /// The ids among `candidates` whose stored record holds every phrase in one of `fields`.
    async fn verify_phrases(
        &self,
        query: &Query,
        fields: &[usize],
        candidates: Vec<String>,
    ) -> Result<BTreeSet<String>> {
        let records = self.resource.get_many(&candidates).await?;
        Ok(records
            .iter()
            .filter(|record| {
                let terms = self.terms_of(record);
                query.phrases.iter().all(|phrase| {
                    fields.iter().any(|&f| {
                        terms[f]
                            .windows(phrase.len())
                            .any(|w| w == phrase.as_slice())
                    })
                })
            })
            .filter_map(|record| Some(record.get("id")?.as_str()?.to_owned()))
            .collect())
    }
}

/// BM25 of every record holding a term: for each field (in order) and term (in order), the
/// term's weight `idf · tf·(k1+1) / (tf + k1·(1 − b + b·len/avglen))`, with
/// `idf = ln(1 + (N − df + 0.5)/(df + 0.5))`, `N` the records indexed, `df` the records
/// holding the term in that field and `avglen` the field's mean length. Records whose
/// lengths are not listed (written after the listing) are left out.
fn rank(
    bm25: &Bm25,
    lengths: &BTreeMap<String, Vec<usize>>,
    postings: &BTreeMap<usize, FieldPostings>,
) -> BTreeMap<String, f64> {
    let n = lengths.len() as f64;
    let mut scores: BTreeMap<String, f64> = BTreeMap::new();
    for (&f, terms) in postings {
        let total: usize = lengths.values().filter_map(|l| l.get(f)).sum();
        let average = total as f64 / n.max(1.0);
        for list in terms.values() {
            let df = list.len() as f64;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            for (id, tf) in list {
                let Some(len) = lengths.get(id).and_then(|l| l.get(f)) else {
                    continue;
                };
                let tf = *tf as f64;
                let norm = 1.0 - bm25.b + bm25.b * (*len as f64) / average.max(f64::MIN_POSITIVE);
                *scores.entry(id.clone()).or_default() +=
                    idf * tf * (bm25.k1 + 1.0) / (tf + bm25.k1 * norm);
            }
        }
    }
    scores
}
