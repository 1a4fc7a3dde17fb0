//! The change log's contract (schema 8), on both backends: one entry per committed
//! batch, in the batch's transaction, under a gapless sequence in commit order; a
//! writer that expects an older head writes nothing; bucket writes are logged; a
//! consistent load names the head it is current to.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use iamd_store::testing::{every_change, group, user, PgCluster};
use iamd_store::*;

fn batch(e: &LogEntry) -> (Option<&str>, &[Change]) {
    match &e.change {
        Logged::Batch { account, changes } => (account.as_deref(), changes),
        other => panic!("entry {}: expected a batch, got {other:?}", e.seq),
    }
}

/// Every committed batch is one entry, in order, with its account and its changes
/// exactly; a failed batch leaves no entry and takes no number (same transaction).
async fn every_batch_is_logged_once_in_order(store: AnyStore) {
    assert_eq!(store.log_head().await.unwrap(), 0);
    let all = every_change();
    store.apply(&all).await.unwrap();
    let other = AccountRecord {
        id: "210987654321".into(),
        created: 5,
    };
    let in_other = vec![
        Change::PutAccount(other.clone()),
        Change::PutUser(user("AIDAOTHER", "u")),
    ];
    let seq = store
        .apply_logged(Some(&other.id), &in_other, None)
        .await
        .unwrap();
    assert_eq!(seq, 2);
    // A name conflict: refused, nothing logged, no number taken.
    let dup = [Change::PutGroup(group("AGPADUP", "G1"))];
    store
        .apply(&[Change::PutGroup(group("AGPAG1", "g1"))])
        .await
        .unwrap();
    assert!(matches!(
        store.apply(&dup).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.log_head().await.unwrap(), 3);

    let log = store.log_since(0, 100).await.unwrap();
    assert_eq!(log.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(batch(&log[0]), (None, all.as_slice()));
    assert_eq!(
        batch(&log[1]),
        (Some(other.id.as_str()), in_other.as_slice())
    );
    assert!(log.iter().all(|e| e.node == node_id()));
    assert_eq!(store.log_since(1, 1).await.unwrap(), log[1..2].to_vec());
    assert!(store.log_since(3, 100).await.unwrap().is_empty());
}

/// A writer expecting the head writes; one expecting an older head gets `Stale` and
/// writes nothing (neither its rows nor an entry).
async fn a_stale_writer_writes_nothing(store: AnyStore) {
    let a = [Change::PutUser(user("AIDAA", "a"))];
    let b = [Change::PutUser(user("AIDAB", "b"))];
    assert_eq!(store.apply_logged(None, &a, Some(0)).await.unwrap(), 1);
    assert_eq!(
        store.apply_logged(None, &b, Some(0)).await,
        Err(StoreError::Stale(0))
    );
    assert_eq!(store.log_head().await.unwrap(), 1);
    assert_eq!(store.load().await.unwrap().users, vec![user("AIDAA", "a")]);
    assert_eq!(store.apply_logged(None, &b, Some(1)).await.unwrap(), 2);
}

/// Writers racing: every acknowledged batch has its own number, with no gap, and the
/// log's order is the order their rows were committed in.
async fn racing_writers_get_a_gapless_sequence(store: AnyStore) {
    let mut tasks = Vec::new();
    for t in 0..6 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..8 {
                let id = format!("AIDAT{t}I{i}");
                let c = [Change::PutUser(user(&id, &id))];
                seqs.push(store.apply_logged(None, &c, None).await.unwrap());
            }
            seqs
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.extend(t.await.unwrap());
    }
    seqs.sort();
    assert_eq!(seqs, (1..=48).collect::<Vec<_>>());
    let log = store.log_since(0, 1000).await.unwrap();
    assert_eq!(log.len(), 48);
    let logged: std::collections::HashSet<String> = log
        .iter()
        .map(|e| match batch(e).1 {
            [Change::PutUser(u)] => u.id.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(logged.len(), 48);
}

/// Bucket writes append a `bucket` entry in their transaction; a consistent load
/// names the head it includes; pruned entries are gone from reads.
async fn buckets_are_logged_and_load_all_names_its_head(store: AnyStore) {
    let b = BucketRecord {
        name: "b1".into(),
        owner_account: "123456789012".into(),
        created: 1,
        versioning: iamd_store::Versioning::Unversioned,
    };
    store.create_bucket(&b).await.unwrap();
    store
        .set_bucket_policy("b1", Some(("{}", &[])))
        .await
        .unwrap();
    store
        .set_bucket_setting("b1", "cors", Some("<x/>"))
        .await
        .unwrap();
    assert!(store
        .set_bucket_versioning("b1", iamd_store::Versioning::Enabled)
        .await
        .unwrap());
    store
        .apply(&[Change::PutUser(user("AIDAA", "a"))])
        .await
        .unwrap();
    assert!(matches!(
        store.delete_bucket("b1").await.unwrap(),
        DeleteBucket::Deleted(_)
    ));
    let log = store.log_since(0, 100).await.unwrap();
    let kinds: Vec<Option<&str>> = log
        .iter()
        .map(|e| match &e.change {
            Logged::Bucket(n) => Some(n.as_str()),
            Logged::Batch { .. } => None,
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            Some("b1"),
            Some("b1"),
            Some("b1"),
            Some("b1"),
            None,
            Some("b1")
        ]
    );
    let all = store.load_all().await.unwrap();
    assert_eq!(all.head, 6);
    assert_eq!(all.first.users, vec![user("AIDAA", "a")]);
    store.prune_log(3).await.unwrap();
    let rest = store.log_since(0, 100).await.unwrap();
    assert_eq!(
        rest.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![4, 5, 6]
    );
    assert_eq!(store.log_head().await.unwrap(), 6);
}

common::on_both!(
    threads = 4;
    every_batch_is_logged_once_in_order,
    a_stale_writer_writes_nothing,
    racing_writers_get_a_gapless_sequence,
    buckets_are_logged_and_load_all_names_its_head,
);

/// PostgreSQL notifies every entry with its sequence, at commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_notifies_the_sequence() {
    let url = PgCluster::shared()
        .unwrap()
        .create_database()
        .await
        .unwrap();
    let store = AnyStore::open(&url).await.unwrap();
    let mut listener = store.listen().await.unwrap();
    store
        .apply(&[Change::PutUser(user("AIDAA", "a"))])
        .await
        .unwrap();
    store
        .apply(&[Change::PutUser(user("AIDAB", "b"))])
        .await
        .unwrap();
    for want in [1, 2] {
        assert_eq!(
            listener.wait(Duration::from_secs(10)).await,
            log::Wake::Notified(Some(want))
        );
    }
    assert_eq!(
        listener.wait(Duration::from_millis(300)).await,
        log::Wake::Timeout
    );
}
