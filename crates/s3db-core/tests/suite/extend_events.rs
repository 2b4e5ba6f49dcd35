//! Events: delivery to every subscriber, no work without subscribers, unsubscribing by
//! drop, lag behaviour, streams and the s3db.js names.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::StreamExt;
use s3db_core::extend::{Event, EventBus, Operation};
use serde_json::{Map, json};

fn counted(n: usize) -> Event {
    Event::Counted {
        resource: "users".into(),
        count: n,
    }
}

#[tokio::test]
async fn every_subscriber_gets_each_event_exactly_once() {
    let events = EventBus::new();
    let mut subscriptions: Vec<_> = (0..3).map(|_| events.subscribe()).collect();
    assert_eq!(events.subscriber_count(), 3);

    events.emit(counted(1));
    events.emit_with(|| counted(2));
    for subscription in &mut subscriptions {
        assert_eq!(*subscription.recv().await.unwrap(), counted(1));
        assert_eq!(*subscription.recv().await.unwrap(), counted(2));
        assert_eq!(subscription.try_recv(), None, "nothing more");
    }
}

#[tokio::test]
async fn subscribers_share_one_built_event() {
    let events = EventBus::new();
    let (mut a, mut b) = (events.subscribe(), events.subscribe());
    let builds = AtomicUsize::new(0);
    events.emit_with(|| {
        builds.fetch_add(1, Ordering::SeqCst);
        counted(7)
    });
    assert_eq!(
        builds.load(Ordering::SeqCst),
        1,
        "built once, not per subscriber"
    );
    let (first, second) = (a.recv().await.unwrap(), b.recv().await.unwrap());
    assert!(Arc::ptr_eq(&first, &second));
}

#[tokio::test]
async fn without_subscribers_the_payload_is_never_built() {
    let events = EventBus::new();
    let builds = AtomicUsize::new(0);
    let build = || {
        builds.fetch_add(1, Ordering::SeqCst);
        counted(0)
    };
    events.emit_with(build);
    assert_eq!(builds.load(Ordering::SeqCst), 0);

    let subscription = events.subscribe();
    events.emit_with(build);
    assert_eq!(builds.load(Ordering::SeqCst), 1);

    drop(subscription);
    events.emit_with(build);
    assert_eq!(
        builds.load(Ordering::SeqCst),
        1,
        "a dropped subscriber costs nothing"
    );
}

#[tokio::test]
async fn dropping_a_subscription_unsubscribes_it() {
    let events = EventBus::new();
    let clone = events.clone();
    let first = events.subscribe();
    let mut second = clone.subscribe();
    assert_eq!(events.subscriber_count(), 2);
    drop(first);
    assert_eq!(clone.subscriber_count(), 1);
    events.emit(counted(1));
    assert_eq!(*second.recv().await.unwrap(), counted(1));
    drop(second);
    assert!(!events.has_subscribers());
}

#[tokio::test]
async fn a_lagging_subscriber_loses_the_oldest_events_and_never_blocks_the_writer() {
    let events = EventBus::with_capacity(2);
    let mut slow = events.subscribe();
    for n in 0..5 {
        events.emit(counted(n)); // never waits for `slow`
    }
    assert_eq!(*slow.recv().await.unwrap(), counted(3));
    assert_eq!(slow.missed(), 3);
    assert_eq!(*slow.recv().await.unwrap(), counted(4));
    assert_eq!(slow.try_recv(), None);

    // A subscriber that keeps up misses nothing.
    let mut quick = events.subscribe();
    for n in 0..10 {
        events.emit(counted(n));
        assert_eq!(*quick.recv().await.unwrap(), counted(n));
    }
    assert_eq!(quick.missed(), 0);
}

#[tokio::test]
async fn a_zero_capacity_is_raised_to_one() {
    let events = EventBus::with_capacity(0);
    let mut subscription = events.subscribe();
    events.emit(counted(1));
    events.emit(counted(2));
    assert_eq!(*subscription.recv().await.unwrap(), counted(2));
    assert_eq!(subscription.missed(), 1);
}

#[tokio::test]
async fn streams_end_when_the_bus_is_gone() {
    let events = EventBus::new();
    let stream = events.subscribe().into_stream();
    let writer = tokio::spawn(async move {
        for n in 0..3 {
            events.emit(counted(n));
            tokio::task::yield_now().await;
        }
    });
    let received: Vec<Event> = stream.map(|event| (*event).clone()).collect().await;
    writer.await.unwrap();
    assert_eq!(received, vec![counted(0), counted(1), counted(2)]);
}

#[test]
fn events_carry_s3dbjs_names_resources_and_ids() {
    let inserted = Event::Inserted {
        resource: "users".into(),
        id: "ana".into(),
        record: Map::new(),
    };
    assert_eq!(
        (inserted.name(), inserted.resource(), inserted.id()),
        ("inserted", Some("users"), Some("ana"))
    );
    assert_eq!(inserted.to_string(), "inserted users:ana");

    let exceeds = Event::ExceedsLimit {
        resource: "users".into(),
        operation: Operation::Insert,
        id: None,
        total_size: 2100,
        limit: 2000,
        excess: 100,
    };
    assert_eq!((exceeds.name(), exceeds.id()), ("exceedsLimit", None));

    let uploaded = Event::MetadataUploaded {
        document: json!({"version": "1"}),
    };
    assert_eq!(
        (uploaded.name(), uploaded.resource()),
        ("db:metadata-uploaded", None)
    );
    assert_eq!(
        Event::ResourceCreated {
            resource: "users".into()
        }
        .to_string(),
        "db:resource-created users"
    );
    let failure = Event::Error {
        resource: None,
        operation: Some(Operation::InsertMany),
        id: Some("x".into()),
        message: "boom".into(),
    };
    assert_eq!((failure.name(), failure.id()), ("error", Some("x")));
}
