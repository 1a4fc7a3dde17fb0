//! Test support (feature `testing`): fixtures, and a throwaway PostgreSQL cluster
//! ([`PgCluster`]) shared by this crate's tests and the server's end-to-end tests.

use crate::*;

/// A user record with the given id and name.
pub fn user(id: &str, name: &str) -> UserRecord {
    UserRecord {
        id: id.into(),
        name: name.into(),
        path: "/".into(),
        created: 1_700_000_000_000,
        boundary_arn: None,
    }
}

/// A group record with the given id and name.
pub fn group(id: &str, name: &str) -> GroupRecord {
    GroupRecord {
        id: id.into(),
        name: name.into(),
        path: "/".into(),
        created: 1_700_000_000_001,
    }
}

/// One change of every variant, in an order that applies cleanly to an empty store,
/// and leaves something of every table behind (the deletes remove extra rows).
pub fn every_change() -> Vec<Change> {
    let melvins = UserRecord {
        id: "AIDAMELVINS0000000001".into(),
        name: "melvins".into(),
        path: "/partners/".into(),
        created: 1_700_000_000_123,
        boundary_arn: Some("arn:aws:iam::123456789012:policy/boundary".into()),
    };
    let lorax = user("AIDALORAX000000000002", "lorax");
    let admins = GroupRecord {
        id: "AGPAADMINS0000000001".into(),
        name: "admins".into(),
        path: "/staff/".into(),
        created: 1_700_000_000_456,
    };
    let temp = group("AGPATEMP000000000002", "temp");
    vec![
        Change::PutAccount(AccountRecord {
            id: "123456789012".into(),
            created: 1_699_999_999_999,
        }),
        Change::PutUser(melvins.clone()),
        Change::PutUser(lorax.clone()),
        Change::PutGroup(admins.clone()),
        Change::PutGroup(temp.clone()),
        Change::PutMembership(MembershipRecord {
            group_id: admins.id.clone(),
            user_id: melvins.id.clone(),
        }),
        Change::PutMembership(MembershipRecord {
            group_id: admins.id.clone(),
            user_id: lorax.id.clone(),
        }),
        Change::DeleteMembership(MembershipRecord {
            group_id: admins.id.clone(),
            user_id: lorax.id.clone(),
        }),
        Change::PutInlinePolicy(InlinePolicyRecord {
            owner_kind: OwnerKind::User,
            owner_id: melvins.id.clone(),
            name: "houdini-only".into(),
            document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::houdini","arn:aws:s3:::houdini/*"]}]}"#.into(),
        }),
        Change::PutInlinePolicy(InlinePolicyRecord {
            owner_kind: OwnerKind::Group,
            owner_id: admins.id.clone(),
            name: "all".into(),
            document: r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#.into(),
        }),
        Change::PutInlinePolicy(InlinePolicyRecord {
            owner_kind: OwnerKind::Role,
            owner_id: "AROAEXAMPLE000000001".into(),
            name: "gone".into(),
            document: "{}".into(),
        }),
        Change::DeleteInlinePolicy {
            owner_kind: OwnerKind::Role,
            owner_id: "AROAEXAMPLE000000001".into(),
            name: "gone".into(),
        },
        Change::PutAccessKey(AccessKeyRecord {
            id: "AKIAMELVINS000000001".into(),
            user_id: Some(melvins.id.clone()),
            status: KeyStatus::Active,
            secret_ciphertext: vec![0, 1, 2, 254, 255, 0x53, 0x45, 0x43],
            created: 1_700_000_001_000,
        }),
        Change::PutAccessKey(AccessKeyRecord {
            id: "AKIAROOT000000000001".into(),
            user_id: None,
            status: KeyStatus::Inactive,
            secret_ciphertext: vec![9; 56],
            created: 1_700_000_002_000,
        }),
        Change::PutAccessKey(AccessKeyRecord {
            id: "AKIALORAX00000000001".into(),
            user_id: Some(lorax.id.clone()),
            status: KeyStatus::Active,
            secret_ciphertext: vec![7; 56],
            created: 1_700_000_003_000,
        }),
        Change::PutKeyUsage(KeyUsageRecord {
            access_key_id: "AKIALORAX00000000001".into(),
            last_used: 1_700_000_004_000,
            service: "s3".into(),
            region: "us-east-1".into(),
        }),
        Change::DeleteAccessKey {
            id: "AKIALORAX00000000001".into(),
        },
        Change::PutKeyUsage(KeyUsageRecord {
            access_key_id: "AKIAMELVINS000000001".into(),
            last_used: 1_700_000_005_000,
            service: "s3".into(),
            region: "us-east-1".into(),
        }),
        Change::PutTag(TagRecord {
            owner_kind: OwnerKind::User,
            owner_id: melvins.id.clone(),
            key: "team".into(),
            value: "partners".into(),
        }),
        Change::PutTag(TagRecord {
            owner_kind: OwnerKind::User,
            owner_id: melvins.id.clone(),
            key: "Team".into(),
            value: "case-sensitive key".into(),
        }),
        Change::PutTag(TagRecord {
            owner_kind: OwnerKind::Group,
            owner_id: admins.id.clone(),
            key: "scratch".into(),
            value: "x".into(),
        }),
        Change::DeleteTag {
            owner_kind: OwnerKind::Group,
            owner_id: admins.id.clone(),
            key: "scratch".into(),
        },
        Change::PutTag(TagRecord {
            owner_kind: OwnerKind::User,
            owner_id: lorax.id.clone(),
            key: "leaving".into(),
            value: "yes".into(),
        }),
        Change::DeleteUser { id: lorax.id },
        Change::DeleteGroup { id: temp.id },
    ]
}

/// The snapshot that [`every_change`] leaves on an empty store.
pub fn every_change_snapshot() -> Snapshot {
    let changes = every_change();
    let find = |pred: &dyn Fn(&Change) -> bool| changes.iter().find(|c| pred(c)).cloned();
    let mut s = Snapshot::default();
    if let Some(Change::PutAccount(a)) = find(&|c| matches!(c, Change::PutAccount(_))) {
        s.account = Some(a);
    }
    for c in &changes {
        match c {
            Change::PutUser(u) if u.name == "melvins" => s.users.push(u.clone()),
            Change::PutGroup(g) if g.name == "admins" => s.groups.push(g.clone()),
            Change::PutMembership(m) if m.user_id.starts_with("AIDAMELVINS") => {
                s.memberships.push(m.clone())
            }
            Change::PutInlinePolicy(p) if p.owner_kind != OwnerKind::Role => {
                s.inline_policies.push(p.clone())
            }
            Change::PutAccessKey(k) if !k.id.starts_with("AKIALORAX") => {
                s.access_keys.push(k.clone())
            }
            Change::PutKeyUsage(u) if u.access_key_id.starts_with("AKIAMELVINS") => {
                s.key_usage.push(u.clone())
            }
            Change::PutTag(t) if t.owner_id.starts_with("AIDAMELVINS") => s.tags.push(t.clone()),
            _ => {}
        }
    }
    s.sort();
    s
}
