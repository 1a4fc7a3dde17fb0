//! The cost of one write with a full account in memory (5,000 users, 300 groups).
//! Ignored by default; run it with
//! `cargo test -p iamd-iam --lib write_cost -- --ignored --nocapture` (it prints the
//! median of 200 writes of each kind).

use std::time::{Duration, Instant};

use iamd_store::{
    AccessKeyRecord, GroupRecord, InlinePolicyRecord, KeyStatus, MembershipRecord, OwnerKind,
    Snapshot, TagRecord, UserRecord,
};

use crate::testing::{master, ok, open, MemStore};

const DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;

fn account() -> Snapshot {
    let master = master();
    let mut s = Snapshot::default();
    for g in 0..300 {
        let id = format!("AGPA{g:017}");
        s.groups.push(GroupRecord {
            id: id.clone(),
            name: format!("g{g}"),
            path: "/".into(),
            created: 1,
        });
        s.inline_policies.push(InlinePolicyRecord {
            owner_kind: OwnerKind::Group,
            owner_id: id,
            name: "p".into(),
            document: DOC.into(),
        });
    }
    for u in 0..5000 {
        let id = format!("AIDA{u:017}");
        s.users.push(UserRecord {
            id: id.clone(),
            name: format!("u{u}"),
            path: "/".into(),
            created: 1,
            boundary_arn: None,
        });
        s.inline_policies.push(InlinePolicyRecord {
            owner_kind: OwnerKind::User,
            owner_id: id.clone(),
            name: "p".into(),
            document: DOC.into(),
        });
        for g in [u % 300, (u + 7) % 300] {
            s.memberships.push(MembershipRecord {
                group_id: format!("AGPA{g:017}"),
                user_id: id.clone(),
            });
        }
        for k in ["team", "cost"] {
            s.tags.push(TagRecord {
                owner_kind: OwnerKind::User,
                owner_id: id.clone(),
                key: k.into(),
                value: format!("v{u}"),
            });
        }
        let key = format!("AKIA{u:016}");
        s.access_keys.push(AccessKeyRecord {
            secret_ciphertext: master
                .seal(&key, b"0123456789012345678901234567890123456789")
                .unwrap_or_default(),
            id: key,
            user_id: Some(id),
            status: KeyStatus::Active,
            created: 1,
        });
    }
    s.sort();
    s
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::test]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn write_cost() {
    let t = Instant::now();
    let iam = open(MemStore::with(account())).await;
    println!("startup from the snapshot: {:?}", t.elapsed());
    let mut tag = Vec::new();
    let mut group_policy = Vec::new();
    for i in 0..200 {
        let t = Instant::now();
        ok(
            &iam,
            "TagUser",
            &format!("UserName=u{i}&Tags.member.1.Key=k&Tags.member.1.Value=v"),
        )
        .await;
        tag.push(t.elapsed());
        let t = Instant::now();
        let form = format!(
            "GroupName=g{}&PolicyName=q&PolicyDocument={}",
            i % 300,
            crate::ops::url_encode(DOC)
        );
        ok(&iam, "PutGroupPolicy", &form).await;
        group_policy.push(t.elapsed());
    }
    println!("TagUser median: {:?}", median(tag));
    println!("PutGroupPolicy median: {:?}", median(group_policy));
}
