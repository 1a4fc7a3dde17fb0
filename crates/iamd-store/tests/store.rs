//! The store contract, checked against both backends: every scenario is a function
//! taking a fresh empty store, run once on SQLite (temp dir) and once on PostgreSQL
//! (a throwaway cluster started by `iamd_store::testing::PgCluster`).

// Test code: failing loudly is the point.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{postgres_store, sqlite_store};
use iamd_store::testing::{
    every_change, every_change_snapshot, group, instance_profile, role, user, PgCluster,
};
use iamd_store::*;

fn ok<T>(r: Result<T, StoreError>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: {e}"),
    }
}

/// Applies `changes` expecting a conflict, and returns its message.
async fn expect_conflict(store: &AnyStore, changes: &[Change]) -> String {
    match store.apply(changes).await {
        Err(StoreError::Conflict(msg)) => msg,
        other => panic!("expected Conflict, got {other:?}"),
    }
}

async fn expect_reference(store: &AnyStore, changes: &[Change]) -> String {
    match store.apply(changes).await {
        Err(StoreError::Reference(msg)) => msg,
        other => panic!("expected Reference, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------

/// Every change variant in one batch, then loaded back.
async fn round_trip_one_batch(store: AnyStore) {
    assert_eq!(ok(store.load().await, "load empty"), Snapshot::default());
    ok(store.apply(&every_change()).await, "apply every change");
    let loaded = ok(store.load().await, "load");
    assert_eq!(loaded, every_change_snapshot());
    // Sanity: the fixture leaves rows in every table, so this compares something.
    assert!(loaded.account.is_some());
    for (table, n) in [
        ("users", loaded.users.len()),
        ("groups", loaded.groups.len()),
        ("memberships", loaded.memberships.len()),
        ("inline_policies", loaded.inline_policies.len()),
        ("access_keys", loaded.access_keys.len()),
        ("key_usage", loaded.key_usage.len()),
        ("tags", loaded.tags.len()),
        ("roles", loaded.roles.len()),
        ("instance_profiles", loaded.instance_profiles.len()),
        (
            "instance_profile_roles",
            loaded.instance_profile_roles.len(),
        ),
        ("deletion_tasks", loaded.deletion_tasks.len()),
    ] {
        assert!(n > 0, "{table} is empty");
    }
}

/// The same changes, one batch each, give the same snapshot.
async fn round_trip_one_change_per_batch(store: AnyStore) {
    for change in every_change() {
        ok(
            store.apply(std::slice::from_ref(&change)).await,
            &format!("{change:?}"),
        );
    }
    assert_eq!(ok(store.load().await, "load"), every_change_snapshot());
}

/// `Put*` replaces the row with the same key; deleting missing rows is no error.
async fn upserts_replace_and_deletes_are_idempotent(store: AnyStore) {
    ok(store.apply(&every_change()).await, "apply");
    let mut expected = every_change_snapshot();

    let mut u = expected.users[0].clone();
    u.name = "Melvins2".into();
    u.path = "/moved/".into();
    u.boundary_arn = None;
    let mut p = expected.inline_policies[0].clone();
    p.document = r#"{"Version":"2012-10-17","Statement":[]}"#.into();
    let mut k = expected.access_keys[0].clone();
    k.status = KeyStatus::Inactive;
    k.secret_ciphertext = vec![1, 2, 3];
    let mut t = expected.tags[0].clone();
    t.value = "changed".into();
    let m = expected.memberships[0].clone();
    ok(
        store
            .apply(&[
                Change::PutUser(u.clone()),
                Change::PutInlinePolicy(p.clone()),
                Change::PutAccessKey(k.clone()),
                Change::PutTag(t.clone()),
                // An existing membership again: no-op.
                Change::PutMembership(m),
                // Missing children: no-ops (a missing entity is an error:
                // `guarded_writes_report_what_they_miss`).
                Change::DeleteMembership(MembershipRecord {
                    group_id: "AGPANOSUCHGROUP".into(),
                    user_id: "AIDANOSUCHUSER".into(),
                }),
                Change::DeleteInlinePolicy {
                    owner_kind: OwnerKind::User,
                    owner_id: "AIDANOSUCHUSER".into(),
                    name: "x".into(),
                },
                Change::DeleteTag {
                    owner_kind: OwnerKind::User,
                    owner_id: "AIDANOSUCHUSER".into(),
                    key: "x".into(),
                },
            ])
            .await,
        "upserts",
    );
    expected.users[0] = u;
    expected.inline_policies = expected
        .inline_policies
        .into_iter()
        .map(|q| {
            if q.name == p.name && q.owner_id == p.owner_id {
                p.clone()
            } else {
                q
            }
        })
        .collect();
    expected.access_keys = expected
        .access_keys
        .into_iter()
        .map(|q| if q.id == k.id { k.clone() } else { q })
        .collect();
    expected.tags = expected
        .tags
        .into_iter()
        .map(|q| {
            if q.key == t.key && q.owner_id == t.owner_id {
                t.clone()
            } else {
                q
            }
        })
        .collect();
    assert_eq!(ok(store.load().await, "load"), expected);
    // An empty batch is fine too.
    ok(store.apply(&[]).await, "empty batch");
    assert_eq!(ok(store.load().await, "load"), expected);
}

/// User and group names are unique case-insensitively; a rename onto a taken name
/// conflicts too; inline policy names are case-sensitive.
async fn names_conflict_case_insensitively(store: AnyStore) {
    ok(
        store
            .apply(&[
                Change::PutUser(user("AIDA0001", "Alice")),
                Change::PutGroup(group("AGPA0001", "Admins")),
            ])
            .await,
        "first",
    );
    let msg = expect_conflict(&store, &[Change::PutUser(user("AIDA0002", "ALICE"))]).await;
    assert!(msg.contains("AIDA0002"), "message names the change: {msg}");
    assert!(
        msg.contains("users_name_ci"),
        "message names the constraint: {msg}"
    );
    expect_conflict(&store, &[Change::PutUser(user("AIDA0003", "alice"))]).await;
    expect_conflict(&store, &[Change::PutGroup(group("AGPA0002", "admins"))]).await;
    // A user and a group may share a name.
    ok(
        store
            .apply(&[Change::PutGroup(group("AGPA0003", "alice"))])
            .await,
        "group alice",
    );
    // Renaming onto a taken name conflicts; renaming a user to its own name in another
    // case is fine (same row).
    ok(
        store
            .apply(&[Change::PutUser(user("AIDA0004", "bob"))])
            .await,
        "bob",
    );
    expect_conflict(&store, &[Change::PutUser(user("AIDA0004", "aLiCe"))]).await;
    ok(
        store
            .apply(&[Change::PutUser(user("AIDA0001", "ALICE"))])
            .await,
        "recase",
    );
    // Inline policy names: unique per owner, case-sensitive.
    let pol = |name: &str, doc: &str| {
        Change::PutInlinePolicy(InlinePolicyRecord {
            owner_kind: OwnerKind::User,
            owner_id: "AIDA0001".into(),
            name: name.into(),
            document: doc.into(),
        })
    };
    ok(
        store
            .apply(&[pol("Pol", "{}"), pol("pol", "{}"), pol("Pol", "{\"v\":2}")])
            .await,
        "pols",
    );
    let s = ok(store.load().await, "load");
    let names: Vec<_> = s.users.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["ALICE", "bob"]);
    assert_eq!(s.groups.len(), 2);
    assert_eq!(s.inline_policies.len(), 2);
    assert!(s
        .inline_policies
        .iter()
        .any(|p| p.name == "Pol" && p.document == "{\"v\":2}"));
}

/// A batch whose third change conflicts writes nothing of the first two.
async fn failed_batch_writes_nothing(store: AnyStore) {
    ok(
        store
            .apply(&[Change::PutUser(user("AIDA0001", "taken"))])
            .await,
        "setup",
    );
    let before = ok(store.load().await, "load");
    expect_conflict(
        &store,
        &[
            Change::PutUser(user("AIDA0002", "fresh")),
            Change::PutGroup(group("AGPA0001", "fresh-group")),
            Change::PutUser(user("AIDA0003", "TAKEN")),
            Change::PutTag(TagRecord {
                owner_kind: OwnerKind::User,
                owner_id: "AIDA0002".into(),
                key: "k".into(),
                value: "v".into(),
            }),
        ],
    )
    .await;
    assert_eq!(ok(store.load().await, "load"), before);
    // Duplicate ids inside a batch conflict on the other unique index too.
    expect_conflict(
        &store,
        &[
            Change::PutUser(user("AIDA0005", "x1")),
            Change::PutUser(user("AIDA0006", "X1")),
        ],
    )
    .await;
    assert_eq!(ok(store.load().await, "load"), before);
    // The store is still usable after failures.
    ok(
        store
            .apply(&[Change::PutUser(user("AIDA0002", "fresh"))])
            .await,
        "after",
    );
    assert_eq!(ok(store.load().await, "load").users.len(), 2);
}

/// Foreign keys: no membership or key of a missing user, no deleting a user that still
/// has keys or memberships; nothing of a failed batch is written.
async fn references_are_enforced(store: AnyStore) {
    ok(
        store
            .apply(&[
                Change::PutUser(user("AIDA0001", "u1")),
                Change::PutGroup(group("AGPA0001", "g1")),
            ])
            .await,
        "setup",
    );
    let before = ok(store.load().await, "load");
    let member = |g: &str, u: &str| MembershipRecord {
        group_id: g.into(),
        user_id: u.into(),
    };
    let key = |id: &str, user: &str| AccessKeyRecord {
        id: id.into(),
        user_id: Some(user.into()),
        status: KeyStatus::Active,
        secret_ciphertext: vec![1; 8],
        created: 1,
    };
    let msg = expect_reference(
        &store,
        &[
            Change::PutTag(TagRecord {
                owner_kind: OwnerKind::User,
                owner_id: "AIDA0001".into(),
                key: "k".into(),
                value: "v".into(),
            }),
            Change::PutMembership(member("AGPA0001", "AIDAMISSING")),
        ],
    )
    .await;
    assert!(msg.contains("PutMembership"), "{msg}");
    expect_reference(
        &store,
        &[Change::PutMembership(member("AGPAMISSING", "AIDA0001"))],
    )
    .await;
    expect_reference(
        &store,
        &[Change::PutAccessKey(key("AKIA0001", "AIDAMISSING"))],
    )
    .await;
    assert_eq!(ok(store.load().await, "load"), before);

    ok(
        store
            .apply(&[
                Change::PutMembership(member("AGPA0001", "AIDA0001")),
                Change::PutAccessKey(key("AKIA0001", "AIDA0001")),
            ])
            .await,
        "children",
    );
    let with_children = ok(store.load().await, "load");
    expect_reference(
        &store,
        &[Change::DeleteUser {
            id: "AIDA0001".into(),
        }],
    )
    .await;
    expect_reference(
        &store,
        &[Change::DeleteGroup {
            id: "AGPA0001".into(),
        }],
    )
    .await;
    // Deleting the key but not the membership is still refused, and the key stays.
    expect_reference(
        &store,
        &[
            Change::DeleteAccessKey {
                id: "AKIA0001".into(),
            },
            Change::DeleteUser {
                id: "AIDA0001".into(),
            },
        ],
    )
    .await;
    assert_eq!(ok(store.load().await, "load"), with_children);
    // Children first, then the parent: fine.
    ok(
        store
            .apply(&[
                Change::DeleteMembership(member("AGPA0001", "AIDA0001")),
                Change::DeleteAccessKey {
                    id: "AKIA0001".into(),
                },
                Change::DeleteUser {
                    id: "AIDA0001".into(),
                },
                Change::DeleteGroup {
                    id: "AGPA0001".into(),
                },
            ])
            .await,
        "delete in order",
    );
    assert_eq!(ok(store.load().await, "load"), Snapshot::default());
    // A policy version needs its policy; deleting the policy deletes its versions.
    let version = PolicyVersionRecord {
        policy_id: "ANPA0001".into(),
        version_id: "v1".into(),
        document: "{}".into(),
        created: 1,
    };
    expect_reference(&store, &[Change::PutPolicyVersion(version.clone())]).await;
    let policy = ManagedPolicyRecord {
        id: "ANPA0001".into(),
        name: "p".into(),
        path: "/".into(),
        created: 1,
        description: None,
        default_version: "v1".into(),
        next_version: 2,
    };
    ok(
        store
            .apply(&[
                Change::PutManagedPolicy(policy),
                Change::PutPolicyVersion(version),
            ])
            .await,
        "policy",
    );
    ok(
        store
            .apply(&[Change::DeleteManagedPolicy {
                id: "ANPA0001".into(),
            }])
            .await,
        "delete policy",
    );
    assert_eq!(ok(store.load().await, "load"), Snapshot::default());
}

/// Deleting a user or group deletes its tags and inline policies, and only its own.
async fn owner_delete_removes_tags_and_policies(store: AnyStore) {
    let tag = |kind: OwnerKind, id: &str| TagRecord {
        owner_kind: kind,
        owner_id: id.into(),
        key: "k".into(),
        value: "v".into(),
    };
    let pol = |kind: OwnerKind, id: &str| InlinePolicyRecord {
        owner_kind: kind,
        owner_id: id.into(),
        name: "p".into(),
        document: "{}".into(),
    };
    ok(
        store
            .apply(&[
                Change::PutUser(user("X0001", "u1")),
                Change::PutGroup(group("X0001", "g1")),
                Change::PutTag(tag(OwnerKind::User, "X0001")),
                Change::PutTag(tag(OwnerKind::Group, "X0001")),
                Change::PutInlinePolicy(pol(OwnerKind::User, "X0001")),
                Change::PutInlinePolicy(pol(OwnerKind::Group, "X0001")),
            ])
            .await,
        "setup",
    );
    ok(
        store
            .apply(&[Change::DeleteUser { id: "X0001".into() }])
            .await,
        "delete user",
    );
    let s = ok(store.load().await, "load");
    assert!(s.users.is_empty());
    assert_eq!(s.tags, vec![tag(OwnerKind::Group, "X0001")]);
    assert_eq!(s.inline_policies, vec![pol(OwnerKind::Group, "X0001")]);
    ok(
        store
            .apply(&[Change::DeleteGroup { id: "X0001".into() }])
            .await,
        "delete group",
    );
    assert_eq!(ok(store.load().await, "load"), Snapshot::default());
}

/// One account row at most; key usage only moves forward and is dropped for deleted
/// keys; deleting a key deletes its usage.
async fn account_and_key_usage_rules(store: AnyStore) {
    let account = |id: &str, created| AccountRecord {
        id: id.into(),
        created,
    };
    ok(
        store
            .apply(&[Change::PutAccount(account("123456789012", 1))])
            .await,
        "acct",
    );
    ok(
        store
            .apply(&[Change::PutAccount(account("123456789012", 2))])
            .await,
        "acct again",
    );
    expect_conflict(&store, &[Change::PutAccount(account("999999999999", 3))]).await;
    assert_eq!(
        ok(store.load().await, "load").account,
        Some(account("123456789012", 2))
    );

    let usage = |last_used, service: &str| KeyUsageRecord {
        access_key_id: "AKIAROOT0001".into(),
        last_used,
        service: service.into(),
        region: "eu-west-1".into(),
    };
    // No key yet: dropped silently.
    ok(
        store.apply(&[Change::PutKeyUsage(usage(10, "iam"))]).await,
        "usage no key",
    );
    assert!(ok(store.load().await, "load").key_usage.is_empty());
    ok(
        store
            .apply(&[Change::PutAccessKey(AccessKeyRecord {
                id: "AKIAROOT0001".into(),
                user_id: None,
                status: KeyStatus::Active,
                secret_ciphertext: vec![0; 60],
                created: 5,
            })])
            .await,
        "root key",
    );
    ok(
        store.apply(&[Change::PutKeyUsage(usage(20, "s3"))]).await,
        "usage 20",
    );
    ok(
        store.apply(&[Change::PutKeyUsage(usage(15, "iam"))]).await,
        "usage 15 (older)",
    );
    assert_eq!(
        ok(store.load().await, "load").key_usage,
        vec![usage(20, "s3")]
    );
    ok(
        store.apply(&[Change::PutKeyUsage(usage(30, "sts"))]).await,
        "usage 30",
    );
    assert_eq!(
        ok(store.load().await, "load").key_usage,
        vec![usage(30, "sts")]
    );
    ok(
        store
            .apply(&[Change::DeleteAccessKey {
                id: "AKIAROOT0001".into(),
            }])
            .await,
        "del",
    );
    let s = ok(store.load().await, "load");
    assert!(s.key_usage.is_empty() && s.access_keys.is_empty());
}

/// N tasks create a user with the same name (different ids) at once: exactly one wins,
/// the others get Conflict, and exactly one user exists.
async fn concurrent_creates_one_wins(store: AnyStore) {
    const N: usize = 16;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(N));
    let mut tasks = Vec::new();
    for i in 0..N {
        let store = store.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let name = if i % 2 == 0 { "racer" } else { "RACER" };
            store
                .apply(&[Change::PutUser(user(&format!("AIDARACE{i:04}"), name))])
                .await
        }));
    }
    let mut oks = 0;
    let mut conflicts = 0;
    for t in tasks {
        match t.await {
            Ok(Ok(())) => oks += 1,
            Ok(Err(StoreError::Conflict(_))) => conflicts += 1,
            Ok(Err(e)) => panic!("unexpected error: {e}"),
            Err(e) => panic!("task failed: {e}"),
        }
    }
    assert_eq!((oks, conflicts), (1, N - 1));
    let s = ok(store.load().await, "load");
    assert_eq!(s.users.len(), 1);
    assert!(s.users[0].name.eq_ignore_ascii_case("racer"));
}

/// Concurrent writers on disjoint rows all succeed (no spurious errors under load).
async fn concurrent_disjoint_writes_all_succeed(store: AnyStore) {
    const N: usize = 12;
    const PER_TASK: usize = 10;
    let mut tasks = Vec::new();
    for i in 0..N {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for j in 0..PER_TASK {
                let id = format!("AIDA{i:03}{j:03}");
                store
                    .apply(&[
                        Change::PutUser(user(&id, &format!("user-{i}-{j}"))),
                        Change::PutTag(TagRecord {
                            owner_kind: OwnerKind::User,
                            owner_id: id.clone(),
                            key: "n".into(),
                            value: j.to_string(),
                        }),
                    ])
                    .await?;
                store.load().await?;
            }
            Ok::<(), StoreError>(())
        }));
    }
    for t in tasks {
        match t.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("writer failed: {e}"),
            Err(e) => panic!("task failed: {e}"),
        }
    }
    let s = ok(store.load().await, "load");
    assert_eq!(s.users.len(), N * PER_TASK);
    assert_eq!(s.tags.len(), N * PER_TASK);
    let ids: HashSet<_> = s.users.iter().map(|u| u.id.clone()).collect();
    assert_eq!(ids.len(), N * PER_TASK);
}

/// Median latency of a single-user `apply` (printed; no timing assertion).
async fn apply_latency(store: AnyStore, backend: &str) {
    const RUNS: usize = 200;
    let mut times = Vec::with_capacity(RUNS);
    for i in 0..RUNS {
        let change = Change::PutUser(user(&format!("AIDALAT{i:05}"), &format!("lat-{i}")));
        let start = Instant::now();
        ok(store.apply(std::slice::from_ref(&change)).await, "apply");
        times.push(start.elapsed());
    }
    times.sort();
    let pct = |p: usize| times[(RUNS * p / 100).min(RUNS - 1)];
    eprintln!(
        "apply latency ({backend}, single PutUser, {RUNS} runs): median {:?}, p90 {:?}, max {:?}",
        pct(50),
        pct(90),
        times[RUNS - 1]
    );
    assert_eq!(ok(store.load().await, "load").users.len(), RUNS);
    assert!(pct(50) < Duration::from_secs(60)); // only: it ran.
}

// ---------------------------------------------------------------------------------
// Instantiation on both backends
// ---------------------------------------------------------------------------------

/// Roles and instance profiles: names unique case-insensitively (a role may share a
/// user's name), a profile's role must exist and cannot be deleted while in it,
/// deleting either deletes its tags (and the role's inline policies).
async fn roles_and_instance_profiles(store: AnyStore) {
    let in_profile = |p: &str, r: &str| InstanceProfileRoleRecord {
        profile_id: p.into(),
        role_id: r.into(),
    };
    ok(
        store
            .apply(&[
                Change::PutUser(user("AIDA0001", "ops")),
                Change::PutRole(role("AROA0001", "ops")),
                Change::PutInstanceProfile(instance_profile("AIPA0001", "ops")),
            ])
            .await,
        "setup",
    );
    let msg = expect_conflict(&store, &[Change::PutRole(role("AROA0002", "OPS"))]).await;
    assert!(msg.contains("roles_name_ci"), "{msg}");
    expect_conflict(
        &store,
        &[Change::PutInstanceProfile(instance_profile(
            "AIPA0002", "Ops",
        ))],
    )
    .await;
    expect_reference(
        &store,
        &[Change::PutInstanceProfileRole(in_profile(
            "AIPA0001",
            "AROAMISSING",
        ))],
    )
    .await;
    ok(
        store
            .apply(&[
                Change::PutInstanceProfileRole(in_profile("AIPA0001", "AROA0001")),
                // Again: a no-op.
                Change::PutInstanceProfileRole(in_profile("AIPA0001", "AROA0001")),
                Change::PutTag(TagRecord {
                    owner_kind: OwnerKind::Role,
                    owner_id: "AROA0001".into(),
                    key: "k".into(),
                    value: "v".into(),
                }),
                Change::PutTag(TagRecord {
                    owner_kind: OwnerKind::InstanceProfile,
                    owner_id: "AIPA0001".into(),
                    key: "k".into(),
                    value: "v".into(),
                }),
                Change::PutInlinePolicy(InlinePolicyRecord {
                    owner_kind: OwnerKind::Role,
                    owner_id: "AROA0001".into(),
                    name: "p".into(),
                    document: "{}".into(),
                }),
            ])
            .await,
        "attach",
    );
    let s = ok(store.load().await, "load");
    assert_eq!(s.instance_profile_roles.len(), 1);
    assert_eq!(s.tags.len(), 2);
    expect_reference(
        &store,
        &[Change::DeleteRole {
            id: "AROA0001".into(),
        }],
    )
    .await;
    expect_reference(
        &store,
        &[Change::DeleteInstanceProfile {
            id: "AIPA0001".into(),
        }],
    )
    .await;
    // The role's record changes (a new trust policy and last use) in place.
    let mut r = role("AROA0001", "ops");
    r.trust_bindings = vec![TrustBinding {
        arn: "arn:aws:iam::123456789012:user/ops".into(),
        id: "AIDA0001".into(),
    }];
    r.last_used = Some(5);
    r.last_used_region = Some("us-east-1".into());
    ok(store.apply(&[Change::PutRole(r.clone())]).await, "update");
    assert_eq!(ok(store.load().await, "load").roles, vec![r]);
    ok(
        store
            .apply(&[
                Change::DeleteInstanceProfileRole(in_profile("AIPA0001", "AROA0001")),
                Change::DeleteRole {
                    id: "AROA0001".into(),
                },
                Change::DeleteInstanceProfile {
                    id: "AIPA0001".into(),
                },
            ])
            .await,
        "delete",
    );
    let s = ok(store.load().await, "load");
    assert!(s.roles.is_empty() && s.instance_profiles.is_empty());
    assert!(s.tags.is_empty() && s.inline_policies.is_empty());
    assert_eq!(s.users.len(), 1);
}

/// A permissions boundary is set, replaced and cleared on users and roles (by
/// upserting the record) and read back as written.
async fn boundaries_are_set_changed_and_cleared(store: AnyStore) {
    let mut u = user("AIDABOUNDED000000001", "bounded");
    let mut r = role("AROABOUNDED000000001", "bounded");
    for arn in [
        Some("arn:aws:iam::123456789012:policy/b"),
        Some("arn:aws:iam::aws:policy/ReadOnlyAccess"),
        None,
    ] {
        u.boundary_arn = arn.map(String::from);
        r.boundary_arn = arn.map(String::from);
        ok(
            store
                .apply(&[Change::PutUser(u.clone()), Change::PutRole(r.clone())])
                .await,
            "put",
        );
        let s = ok(store.load().await, "load");
        assert_eq!(s.users, vec![u.clone()]);
        assert_eq!(s.roles, vec![r.clone()]);
    }
}

common::on_both!(
    threads = 4;
    boundaries_are_set_changed_and_cleared,
    roles_and_instance_profiles,
    round_trip_one_batch,
    round_trip_one_change_per_batch,
    upserts_replace_and_deletes_are_idempotent,
    names_conflict_case_insensitively,
    failed_batch_writes_nothing,
    references_are_enforced,
    owner_delete_removes_tags_and_policies,
    account_and_key_usage_rules,
    concurrent_creates_one_wins,
    concurrent_disjoint_writes_all_succeed,
    accounts_have_their_own_namespaces,
    guarded_writes_report_what_they_miss,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_apply_latency() {
    let (store, _guard) = sqlite_store().await;
    apply_latency(store, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_apply_latency() {
    let (store, _guard) = postgres_store().await;
    apply_latency(store, "postgres").await;
}

// ---------------------------------------------------------------------------------
// SQLite only: files, reopening, schema versions, corrupt rows
// ---------------------------------------------------------------------------------

/// Acknowledged writes survive closing and reopening (also through a URL), and
/// reopening does not re-run migrations.
#[tokio::test]
async fn sqlite_data_survives_reopen() {
    let dir = ok(
        tempfile::tempdir().map_err(|e| StoreError::Database(e.to_string())),
        "tmp",
    );
    let store = ok(SqliteStore::open_dir(dir.path()).await, "open");
    ok(store.apply(&every_change()).await, "apply");
    store.close().await;
    drop(store);
    let path = dir.path().join("iamd.db");
    assert!(path.exists());
    let url = format!("sqlite://{}", path.display());
    let again = ok(AnyStore::open(&url).await, "reopen");
    assert_eq!(again.backend(), "sqlite");
    assert_eq!(ok(again.load().await, "load"), every_change_snapshot());
    again.close().await;

    // One schema_version row per migration, whatever the number of opens.
    let pool = sqlx_pool(&path).await;
    let versions: Vec<i64> =
        match sqlx::query_scalar("SELECT version FROM schema_version ORDER BY version")
            .fetch_all(&pool)
            .await
        {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        };
    assert_eq!(versions, vec![1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // The pragmas the durability contract depends on.
    let mode: String = scalar(&pool, "PRAGMA journal_mode").await;
    assert_eq!(mode, "wal");
    pool.close().await;
}

/// Without closing (the process keeps running, the store is just dropped), a second
/// store on the same file sees every acknowledged write.
#[tokio::test]
async fn sqlite_second_opener_sees_acknowledged_writes() {
    let dir = ok(
        tempfile::tempdir().map_err(|e| StoreError::Database(e.to_string())),
        "tmp",
    );
    let a = ok(SqliteStore::open_dir(dir.path()).await, "open a");
    let b = ok(SqliteStore::open_dir(dir.path()).await, "open b");
    ok(a.apply(&every_change()).await, "apply");
    assert_eq!(ok(b.load().await, "load b"), every_change_snapshot());
    // And the two writers still cannot create the same name.
    ok(
        a.apply(&[Change::PutUser(user("AIDAX1", "Same"))]).await,
        "a",
    );
    match b.apply(&[Change::PutUser(user("AIDAX2", "same"))]).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn sqlite_refuses_newer_schema() {
    let dir = ok(
        tempfile::tempdir().map_err(|e| StoreError::Database(e.to_string())),
        "tmp",
    );
    let store = ok(SqliteStore::open_dir(dir.path()).await, "open");
    store.close().await;
    let pool = sqlx_pool(&dir.path().join("iamd.db")).await;
    exec(
        &pool,
        "INSERT INTO schema_version (version, applied_at) VALUES (999, 0)",
    )
    .await;
    pool.close().await;
    match SqliteStore::open_dir(dir.path()).await {
        Err(StoreError::Migration(msg)) => assert!(msg.contains("999"), "{msg}"),
        other => panic!("expected Migration error, got {other:?}"),
    }
}

#[tokio::test]
async fn sqlite_corrupt_row_is_reported() {
    let dir = ok(
        tempfile::tempdir().map_err(|e| StoreError::Database(e.to_string())),
        "tmp",
    );
    let store = ok(SqliteStore::open_dir(dir.path()).await, "open");
    ok(
        store.apply(&[Change::PutUser(user("AIDA1", "u"))]).await,
        "apply",
    );
    let pool = sqlx_pool(&dir.path().join("iamd.db")).await;
    let mut conn = match pool.acquire().await {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    exec(&mut *conn, "PRAGMA ignore_check_constraints = ON").await;
    exec(
        &mut *conn,
        "INSERT INTO tags (owner_kind, owner_id, tag_key, tag_value) VALUES ('bogus', 'AIDA1', 'k', 'v')",
    )
    .await;
    drop(conn);
    pool.close().await;
    match store.load().await {
        Err(StoreError::Corrupt(msg)) => assert!(msg.contains("bogus"), "{msg}"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_urls_are_refused() {
    for url in ["mysql://x/y", "sqlite://", "sqlite:///tmp/x.db?mode=rwc"] {
        match AnyStore::open(url).await {
            Err(StoreError::InvalidUrl(_)) => {}
            other => panic!("{url}: expected InvalidUrl, got {other:?}"),
        }
    }
}

async fn sqlx_pool(path: &std::path::Path) -> sqlx::SqlitePool {
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
    match sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
    {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

async fn exec<'c, E: sqlx::Executor<'c, Database = sqlx::Sqlite>>(e: E, sql: &'static str) {
    if let Err(err) = sqlx::query(sql).execute(e).await {
        panic!("{sql}: {err}");
    }
}

async fn scalar(pool: &sqlx::SqlitePool, sql: &'static str) -> String {
    match sqlx::query_scalar(sql).fetch_one(pool).await {
        Ok(v) => v,
        Err(e) => panic!("{sql}: {e}"),
    }
}

// ---------------------------------------------------------------------------------
// SQLite: kill -9 of a writing process loses no acknowledged write
// ---------------------------------------------------------------------------------

const KILL_CHILD_ENV: &str = "IAMD_STORE_KILL9_CHILD_DIR";

/// Helper, not a check: when started by `sqlite_kill_9_keeps_acknowledged_writes`
/// (with `$IAMD_STORE_KILL9_CHILD_DIR` set), writes users forever, printing `ACK i`
/// after each acknowledged apply. Ignored, so it never counts as a passing test.
#[tokio::test]
#[ignore = "helper process of sqlite_kill_9_keeps_acknowledged_writes, not a check"]
async fn kill9_child_writer() {
    use std::io::Write;
    let Ok(dir) = std::env::var(KILL_CHILD_ENV) else {
        return;
    };
    let store = ok(
        SqliteStore::open_dir(std::path::Path::new(&dir)).await,
        "open",
    );
    let mut out = std::io::stdout();
    for i in 0u64.. {
        let id = format!("AIDAKILL{i:08}");
        ok(
            store
                .apply(&[
                    Change::PutUser(user(&id, &format!("kill-{i}"))),
                    Change::PutTag(TagRecord {
                        owner_kind: OwnerKind::User,
                        owner_id: id,
                        key: "i".into(),
                        value: i.to_string(),
                    }),
                ])
                .await,
            "apply",
        );
        let _ = writeln!(out, "ACK {i}");
        let _ = out.flush();
    }
}

#[test]
fn sqlite_kill_9_keeps_acknowledged_writes() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--ignored",
            "--exact",
            "kill9_child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(KILL_CHILD_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut acked: Option<u64> = None;
    while acked.is_none_or(|n| n < 150) {
        assert!(Instant::now() < deadline, "child too slow; acked {acked:?}");
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(n) = line.strip_prefix("ACK ") {
                    acked = Some(n.parse().unwrap());
                }
            }
            _ => panic!("child writer ended early; acked {acked:?}"),
        }
    }
    child.kill().unwrap(); // SIGKILL, mid-write most likely
    child.wait().unwrap();
    // Acknowledgements still in the pipe count too.
    for line in lines.map_while(Result::ok) {
        if let Some(n) = line.strip_prefix("ACK ") {
            acked = Some(n.parse().unwrap());
        }
    }
    let acked = acked.unwrap();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let snapshot = rt.block_on(async {
        let store = SqliteStore::open_dir(dir.path()).await.unwrap();
        store.load().await.unwrap()
    });
    let ids: HashSet<_> = snapshot.users.iter().map(|u| u.id.clone()).collect();
    for i in 0..=acked {
        assert!(
            ids.contains(&format!("AIDAKILL{i:08}")),
            "acknowledged user {i} lost"
        );
    }
    // At most the one batch in flight is there unacknowledged, and every batch is whole.
    assert!(
        snapshot.users.len() as u64 <= acked + 2,
        "{} users",
        snapshot.users.len()
    );
    assert_eq!(snapshot.tags.len(), snapshot.users.len());
    eprintln!(
        "kill -9 after {} acknowledged batches: all present",
        acked + 1
    );
}

// ---------------------------------------------------------------------------------
// PostgreSQL only: several nodes on one database, notifications
// ---------------------------------------------------------------------------------

/// Nodes starting together migrate once; each sees the others' writes; two nodes
/// cannot create the same name.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_nodes_share_one_database() {
    let url = PgCluster::shared()
        .unwrap()
        .create_database()
        .await
        .unwrap();
    let (a, b, c, d) = tokio::join!(
        AnyStore::open(&url),
        AnyStore::open(&url),
        AnyStore::open(&url),
        AnyStore::open(&url)
    );
    let (a, b, c, d) = (a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap());
    a.apply(&every_change()).await.unwrap();
    for node in [&b, &c, &d] {
        assert_eq!(node.load().await.unwrap(), every_change_snapshot());
    }
    let on_a = [Change::PutUser(user("AIDANODEA", "Shared"))];
    let on_b = [Change::PutUser(user("AIDANODEB", "shared"))];
    let (ra, rb) = tokio::join!(a.apply(&on_a), b.apply(&on_b));
    let conflicts = [&ra, &rb]
        .iter()
        .filter(|r| matches!(r, Err(StoreError::Conflict(_))))
        .count();
    assert_eq!(
        (ra.is_ok() as usize + rb.is_ok() as usize, conflicts),
        (1, 1),
        "{ra:?} {rb:?}"
    );
    for node in [a, b, c, d] {
        node.close().await;
    }
}

/// A committed batch notifies `iamd_changes`; a failed one does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_notifies_committed_batches() {
    let url = PgCluster::shared()
        .unwrap()
        .create_database()
        .await
        .unwrap();
    let store = AnyStore::open(&url).await.unwrap();
    let mut listener = sqlx::postgres::PgListener::connect(&url).await.unwrap();
    listener
        .listen(iamd_store::postgres::NOTIFY_CHANNEL)
        .await
        .unwrap();

    store
        .apply(&[Change::PutUser(user("AIDAN1", "n1"))])
        .await
        .unwrap();
    let n = tokio::time::timeout(Duration::from_secs(10), listener.recv())
        .await
        .expect("no notification within 10 s")
        .unwrap();
    assert_eq!(n.channel(), iamd_store::postgres::NOTIFY_CHANNEL);

    expect_conflict(&store, &[Change::PutUser(user("AIDAN2", "N1"))]).await;
    let none = tokio::time::timeout(Duration::from_millis(500), listener.recv()).await;
    assert!(none.is_err(), "a failed batch notified: {none:?}");
}

/// An owned cluster (`PgCluster::start`) works and is gone when dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_owned_cluster_stops_on_drop() {
    let parent = tempfile::tempdir().unwrap();
    // The postgres OS user must reach the directory: make the parent traversable.
    std::fs::set_permissions(
        parent.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let dir = parent.path().join("pg");
    let cluster = PgCluster::start(&dir).unwrap();
    let url = cluster.create_database().await.unwrap();
    let store = AnyStore::open(&url).await.unwrap();
    store.apply(&every_change()).await.unwrap();
    assert_eq!(store.load().await.unwrap(), every_change_snapshot());
    store.close().await;
    assert!(dir.join("data").exists());
    drop(cluster);
    assert!(!dir.exists(), "cluster directory left behind");
    // One attempt (a pool would retry until its acquire timeout).
    let again = <sqlx::PgConnection as sqlx::Connection>::connect(&url).await;
    assert!(again.is_err(), "cluster still answers");
}

// ---------------------------------------------------------------------------------
// Several accounts (schema 5)
// ---------------------------------------------------------------------------------

const OTHER: &str = "210987654321";

fn root_key(id: &str) -> AccessKeyRecord {
    AccessKeyRecord {
        id: id.into(),
        user_id: None,
        status: KeyStatus::Active,
        secret_ciphertext: vec![1; 60],
        created: 7,
    }
}

fn tag_of(owner: &str) -> TagRecord {
    TagRecord {
        owner_kind: OwnerKind::User,
        owner_id: owner.into(),
        key: "team".into(),
        value: "a".into(),
    }
}

/// Every account has its own names, keys and children; a batch cannot create another
/// account; loads see one account each.
async fn accounts_have_their_own_namespaces(store: AnyStore) {
    let first = AccountRecord {
        id: "123456789012".into(),
        created: 1,
    };
    let other = AccountRecord {
        id: OTHER.into(),
        created: 2,
    };
    ok(
        store
            .apply(&[
                Change::PutAccount(first.clone()),
                Change::PutUser(user("AIDAFIRST", "bob")),
                Change::PutTag(tag_of("AIDAFIRST")),
                Change::PutAccessKey(root_key("AKIAFIRSTROOT")),
            ])
            .await,
        "first",
    );
    // The same name in another account is another user.
    ok(
        store
            .apply_in(
                Some(OTHER),
                &[
                    Change::PutAccount(other.clone()),
                    Change::PutUser(user("AIDAOTHER", "bob")),
                    Change::PutTag(tag_of("AIDAOTHER")),
                    Change::PutAccessKey(root_key("AKIAOTHERROOT")),
                    Change::PutInlinePolicy(InlinePolicyRecord {
                        owner_kind: OwnerKind::User,
                        owner_id: "AIDAOTHER".into(),
                        name: "p".into(),
                        document: "{}".into(),
                    }),
                ],
            )
            .await,
        "other",
    );
    // Within one account, names still conflict case-insensitively.
    match store
        .apply_in(Some(OTHER), &[Change::PutUser(user("AIDAOTHER2", "BOB"))])
        .await
    {
        Err(StoreError::Conflict(_)) => {}
        r => panic!("expected Conflict, got {r:?}"),
    }
    // A batch of one account cannot create another.
    let third = AccountRecord {
        id: "333333333333".into(),
        created: 3,
    };
    match store
        .apply_in(Some(OTHER), &[Change::PutAccount(third)])
        .await
    {
        Err(StoreError::Conflict(_)) => {}
        r => panic!("expected Conflict, got {r:?}"),
    }
    let a = ok(store.load().await, "load first");
    assert_eq!(a.account, Some(first));
    assert_eq!(a.users, vec![user("AIDAFIRST", "bob")]);
    assert_eq!(a.tags, vec![tag_of("AIDAFIRST")]);
    assert_eq!(a.access_keys, vec![root_key("AKIAFIRSTROOT")]);
    assert!(a.inline_policies.is_empty());
    let b = ok(store.load_in(Some(OTHER)).await, "load other");
    assert_eq!(b.account, Some(other.clone()));
    assert_eq!(b.users, vec![user("AIDAOTHER", "bob")]);
    assert_eq!(b.tags, vec![tag_of("AIDAOTHER")]);
    assert_eq!(b.access_keys, vec![root_key("AKIAOTHERROOT")]);
    assert_eq!(b.inline_policies.len(), 1);
    assert_eq!(ok(store.other_accounts().await, "accounts"), vec![other]);
    // An update in the wrong account is refused and moves nothing, either way.
    let mut moved = user("AIDAFIRST", "renamed");
    moved.path = "/x/".into();
    expect_in(&store, Some(OTHER), &[Change::PutUser(moved)], "Conflict").await;
    expect_in(
        &store,
        None,
        &[Change::PutUser(user("AIDAOTHER", "bobby"))],
        "Conflict",
    )
    .await;
    assert_eq!(ok(store.load().await, "load first"), a);
    assert_eq!(ok(store.load_in(Some(OTHER)).await, "load other"), b);
}

/// Applies `changes` in the account `scope` expecting the error `want` (`"Conflict"`
/// or `"Missing"`) and returns its message.
async fn expect_in(
    store: &AnyStore,
    scope: Option<&str>,
    changes: &[Change],
    want: &str,
) -> String {
    match store.apply_in(scope, changes).await {
        Err(StoreError::Conflict(m)) if want == "Conflict" => m,
        Err(StoreError::Missing(m)) if want == "Missing" => m,
        other => panic!("{changes:?} in {scope:?}: expected {want}, got {other:?}"),
    }
}

/// A put guarded by the account that writes nothing (the id is another account's) is
/// a conflict; deleting an entity that is not in the batch's account (missing, or
/// another account's) is `Missing`; either way nothing of the batch is written, in
/// neither account.
async fn guarded_writes_report_what_they_miss(store: AnyStore) {
    // Every entity kind, in the first account: one of each from `every_change`.
    ok(store.apply(&every_change()).await, "first");
    ok(
        store
            .apply_in(
                Some(OTHER),
                &[Change::PutAccount(AccountRecord {
                    id: OTHER.into(),
                    created: 2,
                })],
            )
            .await,
        "other",
    );
    let first = ok(store.load().await, "load first");
    let other = ok(store.load_in(Some(OTHER)).await, "load other");
    let puts = [
        Change::PutUser(first.users[0].clone()),
        Change::PutGroup(first.groups[0].clone()),
        Change::PutAccessKey(first.access_keys[0].clone()),
        Change::PutRole(first.roles[0].clone()),
        Change::PutInstanceProfile(first.instance_profiles[0].clone()),
        Change::PutDeletionTask(first.deletion_tasks[0].clone()),
        Change::PutManagedPolicy(first.managed_policies[0].clone()),
    ];
    let deletes = [
        Change::DeleteUser {
            id: first.users[0].id.clone(),
        },
        Change::DeleteGroup {
            id: first.groups[0].id.clone(),
        },
        Change::DeleteAccessKey {
            id: first.access_keys[0].id.clone(),
        },
        Change::DeleteRole {
            id: first.roles[0].id.clone(),
        },
        Change::DeleteInstanceProfile {
            id: first.instance_profiles[0].id.clone(),
        },
        Change::DeleteManagedPolicy {
            id: first.managed_policies[0].id.clone(),
        },
    ];
    // Each alone, and after a change that would succeed (the batch is undone).
    let fine = Change::PutUser(user("AIDAOTHERFINE", "fine"));
    for put in &puts {
        let msg = expect_in(&store, Some(OTHER), std::slice::from_ref(put), "Conflict").await;
        assert!(msg.contains("another account"), "{msg}");
        expect_in(
            &store,
            Some(OTHER),
            &[fine.clone(), put.clone()],
            "Conflict",
        )
        .await;
    }
    for delete in &deletes {
        let msg = expect_in(&store, Some(OTHER), std::slice::from_ref(delete), "Missing").await;
        assert!(msg.contains(&deleted_id(delete)), "{msg}");
        expect_in(
            &store,
            Some(OTHER),
            &[fine.clone(), delete.clone()],
            "Missing",
        )
        .await;
    }
    assert_eq!(ok(store.load().await, "load first"), first);
    assert_eq!(ok(store.load_in(Some(OTHER)).await, "load other"), other);
    // A missing entity, in its own account.
    for id in ["AIDANOSUCHUSER", "AKIANOSUCHKEY"] {
        let gone = if id.starts_with("AIDA") {
            Change::DeleteUser { id: id.into() }
        } else {
            Change::DeleteAccessKey { id: id.into() }
        };
        expect_in(&store, None, &[gone], "Missing").await;
    }
    assert_eq!(ok(store.load().await, "load first"), first);
}

/// The id a delete names.
fn deleted_id(c: &Change) -> String {
    match c {
        Change::DeleteUser { id }
        | Change::DeleteGroup { id }
        | Change::DeleteAccessKey { id }
        | Change::DeleteRole { id }
        | Change::DeleteInstanceProfile { id }
        | Change::DeleteManagedPolicy { id } => id.clone(),
        other => panic!("not a delete: {other:?}"),
    }
}

/// A database of schema 4 with data, opened by this binary: migrated to 5, every row
/// kept in the first account, and another account may reuse its names.
async fn migrates_a_schema_4_database(store_at: impl std::future::Future<Output = AnyStore>) {
    let store = store_at.await;
    let s = ok(store.load().await, "load");
    assert_eq!(
        s.account.as_ref().map(|a| a.id.as_str()),
        Some("123456789012")
    );
    assert_eq!(s.users, vec![user("AIDAOLD", "melvins")]);
    assert_eq!(s.tags, vec![tag_of("AIDAOLD")]);
    assert_eq!(s.access_keys.len(), 2);
    assert_eq!(s.memberships.len(), 1);
    ok(
        store
            .apply_in(
                Some(OTHER),
                &[
                    Change::PutAccount(AccountRecord {
                        id: OTHER.into(),
                        created: 2,
                    }),
                    Change::PutUser(user("AIDANEW", "melvins")),
                ],
            )
            .await,
        "other account, same name",
    );
    assert_eq!(
        ok(store.load_in(Some(OTHER)).await, "load other").users,
        vec![user("AIDANEW", "melvins")]
    );
    assert_eq!(ok(store.load().await, "load").users.len(), 1);
}

/// Rows as schema 4 wrote them.
const SCHEMA_4_ROWS: &str = "
INSERT INTO account (id, created) VALUES ('123456789012', 1);
INSERT INTO users (id, name, path, created) VALUES ('AIDAOLD', 'melvins', '/', 1700000000000);
INSERT INTO groups (id, name, path, created) VALUES ('AGPAOLD', 'admins', '/', 1);
INSERT INTO group_members (group_id, user_id) VALUES ('AGPAOLD', 'AIDAOLD');
INSERT INTO tags (owner_kind, owner_id, tag_key, tag_value) VALUES ('user', 'AIDAOLD', 'team', 'a');
INSERT INTO access_keys (id, user_id, status, secret_ciphertext, created)
    VALUES ('AKIAOLDROOT', NULL, 'Active', X'00', 1);
INSERT INTO access_keys (id, user_id, status, secret_ciphertext, created)
    VALUES ('AKIAOLDUSER', 'AIDAOLD', 'Active', X'00', 1);
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_migrates_a_schema_4_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iamd.db");
    std::fs::File::create(&path).unwrap();
    let pool = sqlx_pool(&path).await;
    for sql in iamd_store::testing::schema_up_to(4, false) {
        sqlx::raw_sql(&sql).execute(&pool).await.unwrap();
    }
    sqlx::raw_sql(SCHEMA_4_ROWS).execute(&pool).await.unwrap();
    pool.close().await;
    let url = format!("sqlite://{}", path.display());
    migrates_a_schema_4_database(async { ok(AnyStore::open(&url).await, "open") }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_migrates_a_schema_4_database() {
    let cluster = PgCluster::shared().unwrap();
    let url = cluster.create_database().await.unwrap();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    for sql in iamd_store::testing::schema_up_to(4, true) {
        sqlx::raw_sql(&sql).execute(&pool).await.unwrap();
    }
    sqlx::raw_sql(&SCHEMA_4_ROWS.replace("X'00'", "'\\x00'::bytea"))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    migrates_a_schema_4_database(async { ok(AnyStore::open(&url).await, "open") }).await;
}
