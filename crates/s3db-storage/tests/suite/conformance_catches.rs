//! The conformance suite fails storages that break S3 semantics (so a pass means something).

use async_trait::async_trait;
use futures::stream::BoxStream;
use s3db_storage::{
    Capabilities, CopyOptions, GetResult, HeadResult, ListOptions, MemoryStorage, ObjectMeta,
    PutMode, PutPayload, Result, Storage, conformance,
};

/// A memory bucket that ignores write conditions (last writer wins) and lists in reverse.
#[derive(Debug)]
struct Sloppy {
    inner: MemoryStorage,
    reverse_lists: bool,
}

#[async_trait]
impl Storage for Sloppy {
    async fn put(&self, key: &str, payload: PutPayload, _mode: PutMode) -> Result<String> {
        tokio::task::yield_now().await;
        self.inner.put(key, payload, PutMode::Overwrite).await
    }
    async fn get(&self, key: &str) -> Result<GetResult> {
        self.inner.get(key).await
    }
    async fn head(&self, key: &str) -> Result<HeadResult> {
        self.inner.head(key).await
    }
    async fn copy(&self, from: &str, to: &str, options: CopyOptions) -> Result<String> {
        self.inner.copy(from, to, options).await
    }
    async fn delete(&self, key: &str) -> Result<()> {
        self.inner.delete(key).await
    }
    async fn delete_many(&self, keys: &[String]) -> Result<()> {
        self.inner.delete_many(keys).await
    }
    fn list(&self, options: ListOptions) -> BoxStream<'_, Result<ObjectMeta>> {
        use futures::StreamExt;
        if !self.reverse_lists {
            return self.inner.list(options);
        }
        let items = self.inner.list(options).collect::<Vec<_>>();
        futures::stream::once(items)
            .flat_map(|mut items| {
                items.reverse();
                futures::stream::iter(items)
            })
            .boxed()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
}

fn sloppy(reverse_lists: bool) -> Sloppy {
    Sloppy {
        inner: MemoryStorage::new(),
        reverse_lists,
    }
}

#[tokio::test]
async fn ignoring_conditions_is_caught() {
    let store = sloppy(false);
    let race = conformance::conditional_create_race(&store)
        .await
        .unwrap_err();
    assert_eq!(race.check, "conditional_create_race");
    let cas = conformance::cas_increments(&store).await.unwrap_err();
    assert_eq!(cas.check, "cas_increments");
    let semantics = conformance::conditional_put_semantics(&store)
        .await
        .unwrap_err();
    assert_eq!(semantics.check, "conditional_put_semantics");
}

#[tokio::test]
async fn wrong_list_order_is_caught() {
    let store = sloppy(true);
    let err = conformance::list_semantics(&store).await.unwrap_err();
    assert_eq!(err.check, "list_semantics");
    conformance::head_matches_get(&store).await.unwrap();
}
