//! Two nodes (two services) on one database file, the store declared shared: what one
//! commits, the other shows after catching up, in order and once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamd_store::{
    AccountRecord, AnyStore, Change, Everything, LogEntry, Seq, Snapshot, Store, StoreError,
};

use crate::core::{Iam, InitOptions};
use crate::error::IamError;
use crate::testing::{err, master, ok, ACCOUNT, ROOT_KEY};

/// A SQLite store that says it is shared, as PostgreSQL is.
#[derive(Clone)]
struct Shared(AnyStore);

impl Store for Shared {
    async fn load_in(&self, account: Option<&str>) -> Result<Snapshot, StoreError> {
        self.0.load_in(account).await
    }
    async fn apply_in(&self, account: Option<&str>, changes: &[Change]) -> Result<(), StoreError> {
        self.0.apply_in(account, changes).await
    }
    async fn other_accounts(&self) -> Result<Vec<AccountRecord>, StoreError> {
        self.0.other_accounts().await
    }
    async fn apply_logged(
        &self,
        account: Option<&str>,
        changes: &[Change],
        expect: Option<Seq>,
    ) -> Result<Seq, StoreError> {
        self.0.apply_logged(account, changes, expect).await
    }
    async fn log_since(&self, after: Seq, limit: i64) -> Result<Vec<LogEntry>, StoreError> {
        self.0.log_since(after, limit).await
    }
    async fn log_head(&self) -> Result<Seq, StoreError> {
        self.0.log_head().await
    }
    async fn prune_log(&self, through: Seq) -> Result<(), StoreError> {
        self.0.prune_log(through).await
    }
    async fn load_all(&self) -> Result<Everything, StoreError> {
        self.0.load_all().await
    }
    fn shared(&self) -> bool {
        true
    }
}

async fn node(dir: &std::path::Path) -> Iam<Shared> {
    let store = AnyStore::open_dir(dir).await.unwrap();
    let init = InitOptions {
        account_id: Some(ACCOUNT.to_string()),
        root_key: Some((ROOT_KEY.to_string(), "secret".to_string())),
        ..Default::default()
    };
    Iam::open(Shared(store), master(), init).await.unwrap().0
}

async fn two_nodes() -> (Iam<Shared>, Iam<Shared>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let a = node(dir.path()).await;
    let b = node(dir.path()).await;
    (a, b, dir)
}

#[tokio::test]
async fn another_nodes_writes_are_applied_in_order_once() {
    let (a, b, _dir) = two_nodes().await;
    ok(&a, "CreateUser", "UserName=melvins").await;
    ok(&a, "CreateGroup", "GroupName=admins").await;
    ok(&a, "AddUserToGroup", "GroupName=admins&UserName=melvins").await;
    ok(
        &a,
        "PutUserPolicy",
        "UserName=melvins&PolicyName=p&PolicyDocument=%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3A*%22%2C%22Resource%22%3A%22*%22%7D%5D%7D",
    )
    .await;
    assert!(matches!(
        err(&b, "GetUser", "UserName=melvins").await,
        IamError::NoSuchEntity(_)
    ));
    b.catch_up().await.unwrap();
    assert_eq!(b.applied_seq().await, a.applied_seq().await);
    ok(&b, "GetUserPolicy", "UserName=melvins&PolicyName=p").await;
    let group = ok(&b, "GetGroup", "GroupName=admins").await;
    assert!(group.contains("<UserName>melvins</UserName>"), "{group}");
    // Catching up again applies nothing twice (a second membership or user would fail
    // prepare and force a reload; the position stays).
    let at = b.applied_seq().await;
    b.catch_up().await.unwrap();
    assert_eq!(b.applied_seq().await, at);
    // Removals follow too, in order.
    ok(
        &a,
        "RemoveUserFromGroup",
        "GroupName=admins&UserName=melvins",
    )
    .await;
    ok(&a, "DeleteUserPolicy", "UserName=melvins&PolicyName=p").await;
    ok(&a, "DeleteUser", "UserName=melvins").await;
    b.catch_up().await.unwrap();
    assert!(matches!(
        err(&b, "GetUser", "UserName=melvins").await,
        IamError::NoSuchEntity(_)
    ));
    assert!(!ok(&b, "GetGroup", "GroupName=admins")
        .await
        .contains("melvins"));
}

/// A node that has not seen another's write yet plans against the state that includes
/// it: the race answers as one node would.
#[tokio::test]
async fn a_stale_write_catches_up_and_plans_again() {
    let (a, b, _dir) = two_nodes().await;
    ok(&a, "CreateUser", "UserName=racer").await;
    assert!(matches!(
        err(&b, "CreateUser", "UserName=racer").await,
        IamError::EntityAlreadyExists(_)
    ));
    ok(&b, "GetUser", "UserName=racer").await;
    // And B's own write after that is at the head: A applies it.
    ok(&b, "CreateUser", "UserName=second").await;
    a.catch_up().await.unwrap();
    ok(&a, "GetUser", "UserName=second").await;
    assert_eq!(a.applied_seq().await, b.applied_seq().await);
}

/// Entries pruned past a node's position: it reloads everything, at the head.
#[tokio::test]
async fn a_node_behind_a_pruned_log_reloads() {
    let (a, b, _dir) = two_nodes().await;
    for n in ["u1", "u2", "u3"] {
        ok(&a, "CreateUser", &format!("UserName={n}")).await;
    }
    ok(&a, "DeleteUser", "UserName=u2").await;
    let head = a.applied_seq().await;
    a.inner.store.prune_log(head - 1).await.unwrap();
    b.catch_up().await.unwrap();
    assert_eq!(b.applied_seq().await, head);
    ok(&b, "GetUser", "UserName=u1").await;
    ok(&b, "GetUser", "UserName=u3").await;
    assert!(matches!(
        err(&b, "GetUser", "UserName=u2").await,
        IamError::NoSuchEntity(_)
    ));
}

/// An account created on another node appears, with its root key.
#[tokio::test]
async fn an_account_created_elsewhere_appears() {
    let (a, b, _dir) = two_nodes().await;
    let new = a.create_account(Some("210987654321".into())).await.unwrap();
    b.catch_up().await.unwrap();
    assert!(b.account_ids().contains(&"210987654321".to_string()));
    assert_eq!(
        b.key_account(&new.access_key_id)
            .map(|i| i.account_id().to_string()),
        Some("210987654321".to_string())
    );
}

/// Creating an account on a node behind the log catches up first, then commits.
#[tokio::test]
async fn an_account_created_on_a_node_behind_the_log_commits() {
    let (a, b, _dir) = two_nodes().await;
    ok(&a, "CreateUser", "UserName=first").await;
    b.create_account(Some("210987654321".into())).await.unwrap();
    ok(&b, "GetUser", "UserName=first").await;
    a.catch_up().await.unwrap();
    assert!(a.account_ids().contains(&"210987654321".to_string()));
    assert!(matches!(
        a.create_account(Some("210987654321".into())).await,
        Err(IamError::EntityAlreadyExists(_))
    ));
}
