//! The S3 metadata contract (`ObjectMeta`), checked on SQLite and PostgreSQL alike.

// Test code: failing loudly is the point.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use iamd_store::*;

fn bucket(name: &str) -> BucketRecord {
    BucketRecord {
        name: name.into(),
        owner_account: "123456789012".into(),
        created: 1,
        versioning: Versioning::Unversioned,
    }
}

fn object(bucket: &str, key: &str, blob: &str) -> ObjectRecord {
    ObjectRecord {
        bucket: bucket.into(),
        key: key.into(),
        version_id: format!("v-{blob}"),
        latest: true,
        blob_id: blob.into(),
        size: 3,
        etag: "\"abc\"".into(),
        content_type: Some("text/plain".into()),
        metadata: "{}".into(),
        last_modified: 2,
    }
}

const ALWAYS: Precondition<'static> = Precondition::Always;

/// Puts unconditionally; the written outcome.
async fn put(s: &AnyStore, o: &ObjectRecord, tags: &[(String, String)]) -> Written {
    match s.put_object(o, tags, ALWAYS).await.unwrap() {
        Put::Written(w) => w,
        other => panic!("put: {other:?}"),
    }
}

/// The current object (not a delete marker).
async fn current(s: &AnyStore, b: &str, k: &str) -> Option<ObjectRecord> {
    match s.get_object(b, k, None).await.unwrap() {
        Some(Version::Object(o)) => Some(o),
        _ => None,
    }
}

async fn delete(s: &AnyStore, b: &str, k: &str) -> Deleted {
    s.delete_object(b, k, None, "marker").await.unwrap()
}

fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn buckets_and_policies(s: AnyStore) {
    s.create_bucket(&bucket("houdini")).await.unwrap();
    s.create_bucket(&bucket("other")).await.unwrap();
    assert!(matches!(
        s.create_bucket(&bucket("houdini")).await,
        Err(StoreError::Conflict(_))
    ));
    let names: Vec<_> = s
        .list_buckets()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert_eq!(names, ["houdini", "other"]);
    assert_eq!(
        s.get_bucket("houdini").await.unwrap(),
        Some(bucket("houdini"))
    );
    assert_eq!(s.get_bucket("nope").await.unwrap(), None);

    assert_eq!(s.get_bucket_policy("houdini").await.unwrap(), None);
    let bound = [TrustBinding {
        arn: "arn:aws:iam::123456789012:user/lorax".into(),
        id: "AIDALORAX".into(),
    }];
    s.set_bucket_policy("houdini", Some(("{}", &bound)))
        .await
        .unwrap();
    let policy = |document: &str, bindings: Option<&[TrustBinding]>| {
        Some(BucketPolicy {
            document: document.into(),
            bindings: bindings.map(<[_]>::to_vec),
        })
    };
    assert_eq!(
        s.get_bucket_policy("houdini").await.unwrap(),
        policy("{}", Some(&bound))
    );
    // Replaced with its bindings (none is not "unknown").
    s.set_bucket_policy("houdini", Some(("{ }", &[])))
        .await
        .unwrap();
    assert_eq!(
        s.get_bucket_policy("houdini").await.unwrap(),
        policy("{ }", Some(&[]))
    );
    // A policy stored without its bindings (an older build) reads as unbound.
    s.set_bucket_setting("houdini", "policy-bindings", None)
        .await
        .unwrap();
    assert_eq!(
        s.get_bucket_policy("houdini").await.unwrap(),
        policy("{ }", None)
    );
    // Bound later, once, and only while the document is the one bound.
    s.bind_bucket_policy("houdini", "{}", &bound).await.unwrap();
    assert_eq!(
        s.get_bucket_policy("houdini").await.unwrap(),
        policy("{ }", None)
    );
    s.bind_bucket_policy("houdini", "{ }", &bound)
        .await
        .unwrap();
    s.bind_bucket_policy("houdini", "{ }", &[]).await.unwrap();
    assert_eq!(
        s.get_bucket_policy("houdini").await.unwrap(),
        policy("{ }", Some(&bound))
    );
    s.set_bucket_policy("houdini", Some(("{}", &bound)))
        .await
        .unwrap();
    assert!(matches!(
        s.set_bucket_policy("nope", Some(("{}", &[]))).await,
        Err(StoreError::Reference(_))
    ));

    put(&s, &object("houdini", "a", "b1"), &[]).await;
    assert_eq!(
        s.delete_bucket("houdini").await.unwrap(),
        DeleteBucket::NotEmpty
    );
    assert_eq!(
        delete(&s, "houdini", "a").await.unused.as_deref(),
        Some("b1")
    );
    assert_eq!(delete(&s, "houdini", "a").await, Deleted::default());
    assert_eq!(
        s.delete_bucket("houdini").await.unwrap(),
        DeleteBucket::Deleted(Vec::new())
    );
    assert_eq!(
        s.delete_bucket("houdini").await.unwrap(),
        DeleteBucket::NoSuchBucket
    );
    // The policy went with its bucket.
    s.create_bucket(&bucket("houdini")).await.unwrap();
    assert_eq!(s.get_bucket_policy("houdini").await.unwrap(), None);
}

/// Bucket settings: one document per (bucket, kind), replaced, deleted, and gone with
/// the bucket.
async fn bucket_settings(s: AnyStore) {
    s.create_bucket(&bucket("b")).await.unwrap();
    assert_eq!(s.get_bucket_setting("b", "cors").await.unwrap(), None);
    s.set_bucket_setting("b", "cors", Some("c1")).await.unwrap();
    s.set_bucket_setting("b", "tagging", Some("t1"))
        .await
        .unwrap();
    s.set_bucket_setting("b", "cors", Some("c2")).await.unwrap();
    assert_eq!(
        s.get_bucket_setting("b", "cors").await.unwrap().as_deref(),
        Some("c2")
    );
    assert_eq!(
        s.get_bucket_setting("b", "tagging")
            .await
            .unwrap()
            .as_deref(),
        Some("t1")
    );
    s.set_bucket_setting("b", "cors", None).await.unwrap();
    assert_eq!(s.get_bucket_setting("b", "cors").await.unwrap(), None);
    assert!(matches!(
        s.set_bucket_setting("nope", "cors", Some("c")).await,
        Err(StoreError::Reference(_))
    ));
    assert!(matches!(
        s.delete_bucket("b").await.unwrap(),
        DeleteBucket::Deleted(_)
    ));
    s.create_bucket(&bucket("b")).await.unwrap();
    assert_eq!(s.get_bucket_setting("b", "tagging").await.unwrap(), None);

    // A conditional delete removes the object only while it names that blob.
    put(&s, &object("b", "k", "old"), &tags(&[("a", "1")])).await;
    put(&s, &object("b", "k", "new"), &[]).await;
    assert!(s
        .delete_object_if_blob("b", "k", "old", "m")
        .await
        .unwrap()
        .is_none());
    assert_eq!(current(&s, "b", "k").await.unwrap().blob_id, "new");
    let d = s
        .delete_object_if_blob("b", "k", "new", "m")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.unused.as_deref(), Some("new"));
    assert_eq!(s.get_object("b", "k", None).await.unwrap(), None);
    assert!(s
        .delete_object_if_blob("b", "k", "new", "m")
        .await
        .unwrap()
        .is_none());
}

async fn objects_replace_and_list_in_byte_order(s: AnyStore) {
    s.create_bucket(&bucket("b")).await.unwrap();
    assert!(matches!(
        s.put_object(&object("nope", "k", "x"), &[], ALWAYS).await,
        Err(StoreError::Reference(_))
    ));
    let keys = [
        "a//b", "../x", "dir/", "dir/a", "dir/b", "Z", "é", "a", "a%",
    ];
    for (i, k) in keys.iter().enumerate() {
        put(&s, &object("b", k, &format!("blob{i}")), &[]).await;
    }
    let w = put(&s, &object("b", "a", "new"), &tags(&[("t", "1")])).await;
    assert_eq!(w.unused, ["blob7"]);
    assert_eq!((w.version_id.as_str(), w.versioned), ("null", false));
    let got = current(&s, "b", "a").await.unwrap();
    assert_eq!(got.blob_id, "new");
    assert_eq!(
        s.get_object_tags("b", "a", None).await.unwrap(),
        tags(&[("t", "1")])
    );

    let all: Vec<String> = s
        .list_objects("b", "", "", 100)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    // UTF-8 byte order: '.' < 'Z' < 'a' < 'd' < 'é'.
    assert_eq!(
        all,
        ["../x", "Z", "a", "a%", "a//b", "dir/", "dir/a", "dir/b", "é"]
    );
    let page: Vec<String> = s
        .list_objects("b", "dir/", "dir/", 1)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(page, ["dir/a"]);
    // `%` and `_` in a prefix are literal.
    let pct: Vec<String> = s
        .list_objects("b", "a%", "", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(pct, ["a%"]);

    assert_eq!(
        s.set_object_tags("b", "dir/a", None, &tags(&[("x", "y")]))
            .await
            .unwrap()
            .as_deref(),
        Some("null")
    );
    assert!(s
        .set_object_tags("b", "missing", None, &tags(&[("x", "y")]))
        .await
        .unwrap()
        .is_none());
    // Deleting an object drops its tags; putting again starts without.
    delete(&s, "b", "dir/a").await;
    put(&s, &object("b", "dir/a", "again"), &[]).await;
    assert!(s
        .get_object_tags("b", "dir/a", None)
        .await
        .unwrap()
        .is_empty());

    let mut blobs = s.all_blob_ids().await.unwrap();
    blobs.sort();
    assert_eq!(blobs.len(), keys.len());
    assert!(blobs.contains(&"again".to_string()) && !blobs.contains(&"blob7".to_string()));
}

async fn multipart_uploads(s: AnyStore) {
    s.create_bucket(&bucket("b")).await.unwrap();
    let up = UploadRecord {
        upload_id: "u1".into(),
        bucket: "b".into(),
        key: "big".into(),
        created: 5,
        content_type: None,
        metadata: "{}".into(),
        tagging: Some("a=b".into()),
        checksum_algorithm: Some("CRC32".into()),
        checksum_type: Some("COMPOSITE".into()),
    };
    s.create_upload(&up).await.unwrap();
    assert_eq!(s.get_upload("u1").await.unwrap(), Some(up.clone()));
    let part = |n: i64, blob: &str| PartRecord {
        upload_id: "u1".into(),
        part_number: n,
        blob_id: blob.into(),
        size: 10,
        etag: "\"e\"".into(),
        last_modified: 6,
        checksum: (n != 2).then(|| format!("crc{n}")),
    };
    assert_eq!(s.put_part(&part(2, "p2")).await.unwrap(), None);
    assert_eq!(s.put_part(&part(1, "p1")).await.unwrap(), None);
    assert_eq!(
        s.put_part(&part(1, "p1b")).await.unwrap().as_deref(),
        Some("p1")
    );
    let parts = s.list_parts("u1", 0, 10).await.unwrap();
    assert_eq!(
        parts.iter().map(|p| p.blob_id.as_str()).collect::<Vec<_>>(),
        ["p1b", "p2"]
    );
    // Each part keeps its checksum (or none).
    assert_eq!(
        parts
            .iter()
            .map(|p| p.checksum.as_deref())
            .collect::<Vec<_>>(),
        [Some("crc1"), None]
    );
    assert_eq!(parts[0], part(1, "p1b"));
    assert_eq!(s.list_parts("u1", 1, 10).await.unwrap().len(), 1);
    // An upload without a checksum algorithm reads back without one.
    let plain = UploadRecord {
        upload_id: "u0".into(),
        checksum_algorithm: None,
        checksum_type: None,
        ..up.clone()
    };
    s.create_upload(&plain).await.unwrap();
    assert_eq!(s.get_upload("u0").await.unwrap(), Some(plain));
    s.delete_upload("u0").await.unwrap();
    assert_eq!(s.list_uploads("b", "bi", 10).await.unwrap().len(), 1);
    assert_eq!(s.list_uploads("b", "x", 10).await.unwrap().len(), 0);

    let Some(Put::Written(done)) = s
        .complete_upload(
            "u1",
            &object("b", "big", "whole"),
            &tags(&[("a", "b")]),
            ALWAYS,
        )
        .await
        .unwrap()
    else {
        panic!("not completed");
    };
    let mut done = done.unused;
    done.sort();
    assert_eq!(done, ["p1b", "p2"]);
    assert_eq!(s.get_upload("u1").await.unwrap(), None);
    assert!(s
        .complete_upload("u1", &object("b", "big", "whole2"), &[], ALWAYS)
        .await
        .unwrap()
        .is_none());
    assert_eq!(current(&s, "b", "big").await.unwrap().blob_id, "whole");
    assert!(matches!(
        s.put_part(&part(3, "p3")).await,
        Err(StoreError::Reference(_))
    ));

    let mut up2 = up.clone();
    up2.upload_id = "u2".into();
    s.create_upload(&up2).await.unwrap();
    s.put_part(&PartRecord {
        upload_id: "u2".into(),
        ..part(1, "q1")
    })
    .await
    .unwrap();
    assert_eq!(
        s.delete_upload("u2").await.unwrap(),
        Some(vec!["q1".to_string()])
    );
    assert_eq!(s.delete_upload("u2").await.unwrap(), None);
}

/// A bucket whose only content is unfinished uploads is deleted with them (S3 aborts
/// them); their parts' blobs are returned for the caller to delete. Objects still
/// keep it.
async fn delete_bucket_aborts_uploads(s: AnyStore) {
    s.create_bucket(&bucket("b")).await.unwrap();
    for (id, blobs) in [("u1", &["p1", "p2"][..]), ("u2", &["q1"][..])] {
        s.create_upload(&UploadRecord {
            upload_id: id.into(),
            bucket: "b".into(),
            key: "k".into(),
            created: 1,
            content_type: None,
            metadata: "{}".into(),
            tagging: None,
            checksum_algorithm: None,
            checksum_type: None,
        })
        .await
        .unwrap();
        for (n, blob) in blobs.iter().enumerate() {
            s.put_part(&PartRecord {
                upload_id: id.into(),
                part_number: n as i64 + 1,
                blob_id: (*blob).into(),
                size: 1,
                etag: "\"e\"".into(),
                last_modified: 1,
                checksum: None,
            })
            .await
            .unwrap();
        }
    }
    put(&s, &object("b", "o", "ob"), &[]).await;
    assert_eq!(s.delete_bucket("b").await.unwrap(), DeleteBucket::NotEmpty);
    assert!(s.get_upload("u1").await.unwrap().is_some());
    delete(&s, "b", "o").await;
    let DeleteBucket::Deleted(mut blobs) = s.delete_bucket("b").await.unwrap() else {
        panic!("not deleted");
    };
    blobs.sort();
    assert_eq!(blobs, ["p1", "p2", "q1"]);
    assert_eq!(s.get_upload("u1").await.unwrap(), None);
    assert_eq!(s.get_upload("u2").await.unwrap(), None);
    assert!(s.all_blob_ids().await.unwrap().is_empty());
    assert_eq!(s.get_bucket("b").await.unwrap(), None);
}

fn ids(vs: &[Version]) -> Vec<String> {
    vs.iter()
        .map(|v| format!("{}:{}", v.key(), v.version_id()))
        .collect()
}

async fn all_versions(s: &AnyStore, b: &str) -> Vec<String> {
    ids(&s.list_versions(b, "", "", None, 100).await.unwrap())
}

/// Versioning: versions newest first, the null version, delete markers, removal by
/// id (the next newest becomes current), listing after a (key, version) marker.
async fn versions_and_delete_markers(s: AnyStore) {
    s.create_bucket(&bucket("v")).await.unwrap();
    // Written before versioning: the null version.
    put(&s, &object("v", "k", "b0"), &[]).await;
    put(&s, &object("v", "other", "o0"), &[]).await;
    assert!(s
        .set_bucket_versioning("v", Versioning::Enabled)
        .await
        .unwrap());
    assert!(!s
        .set_bucket_versioning("nope", Versioning::Enabled)
        .await
        .unwrap());
    assert_eq!(
        s.get_bucket("v").await.unwrap().unwrap().versioning,
        Versioning::Enabled
    );
    let w1 = put(&s, &object("v", "k", "b1"), &tags(&[("n", "1")])).await;
    assert_eq!(
        (w1.version_id.as_str(), w1.versioned, w1.unused.len()),
        ("v-b1", true, 0)
    );
    put(&s, &object("v", "k", "b2"), &[]).await;
    assert_eq!(current(&s, "v", "k").await.unwrap().blob_id, "b2");
    let Some(Version::Object(old)) = s.get_object("v", "k", Some("v-b1")).await.unwrap() else {
        panic!("no version v-b1");
    };
    assert!(!old.latest && old.blob_id == "b1");
    assert_eq!(s.get_object("v", "k", Some("nope")).await.unwrap(), None);
    // Tags belong to a version.
    assert_eq!(
        s.get_object_tags("v", "k", Some("v-b1")).await.unwrap(),
        tags(&[("n", "1")])
    );
    assert!(s.get_object_tags("v", "k", None).await.unwrap().is_empty());
    assert_eq!(
        all_versions(&s, "v").await,
        ["k:v-b2", "k:v-b1", "k:null", "other:null"]
    );

    // DELETE without a version: a delete marker becomes current.
    let d = s.delete_object("v", "k", None, "m1").await.unwrap();
    assert_eq!(
        d,
        Deleted {
            version_id: Some("m1".into()),
            delete_marker: true,
            unused: None,
            versioned: true
        }
    );
    assert!(matches!(
        s.get_object("v", "k", None).await.unwrap(),
        Some(Version::DeleteMarker(m)) if m.latest && m.version_id == "m1"
    ));
    let listed: Vec<_> = s.list_objects("v", "", "", 10).await.unwrap();
    assert_eq!(
        listed.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(),
        ["other"]
    );
    assert!(s
        .set_object_tags("v", "k", None, &tags(&[("a", "b")]))
        .await
        .unwrap()
        .is_none());
    // Paging: after a (key, version) marker, after a key, with a limit.
    assert_eq!(
        ids(&s
            .list_versions("v", "", "k", Some("v-b2"), 100)
            .await
            .unwrap()),
        ["k:v-b1", "k:null", "other:null"]
    );
    assert_eq!(
        ids(&s.list_versions("v", "", "k", Some("m1"), 1).await.unwrap()),
        ["k:v-b2"]
    );
    assert_eq!(
        ids(&s.list_versions("v", "", "k", None, 10).await.unwrap()),
        ["other:null"]
    );
    assert_eq!(
        ids(&s.list_versions("v", "o", "", None, 10).await.unwrap()),
        ["other:null"]
    );

    // Removing the marker restores the version under it.
    let d = s.delete_object("v", "k", Some("m1"), "x").await.unwrap();
    assert!(d.delete_marker && d.unused.is_none());
    assert_eq!(current(&s, "v", "k").await.unwrap().blob_id, "b2");
    // Removing a version by id returns its blob; a missing id removes nothing.
    let d = s.delete_object("v", "k", Some("v-b1"), "x").await.unwrap();
    assert_eq!((d.unused.as_deref(), d.delete_marker), (Some("b1"), false));
    let d = s.delete_object("v", "k", Some("v-b1"), "x").await.unwrap();
    assert_eq!(d.unused, None);

    // Suspended: a PUT replaces the null version, a DELETE puts a null marker there.
    s.set_bucket_versioning("v", Versioning::Suspended)
        .await
        .unwrap();
    let w = put(&s, &object("v", "k", "b3"), &[]).await;
    assert_eq!(
        (w.version_id.as_str(), w.unused.as_slice(), w.versioned),
        ("null", &["b0".to_string()][..], true)
    );
    assert_eq!(
        all_versions(&s, "v").await,
        ["k:null", "k:v-b2", "other:null"]
    );
    let d = delete(&s, "v", "k").await;
    assert_eq!(
        d,
        Deleted {
            version_id: Some("null".into()),
            delete_marker: true,
            unused: Some("b3".into()),
            versioned: true
        }
    );
    assert!(matches!(
        s.get_object("v", "k", None).await.unwrap(),
        Some(Version::DeleteMarker(_))
    ));
    assert_eq!(
        all_versions(&s, "v").await,
        ["k:null", "k:v-b2", "other:null"]
    );
    // A lifecycle expiration on a versioned bucket adds a marker too (the blob stays).
    let d = s
        .delete_object_if_blob("v", "other", "o0", "m2")
        .await
        .unwrap()
        .unwrap();
    assert!(d.delete_marker && d.unused.as_deref() == Some("o0"));

    // The bucket is not empty while a version remains.
    assert_eq!(s.delete_bucket("v").await.unwrap(), DeleteBucket::NotEmpty);
    let mut blobs = s.all_blob_ids().await.unwrap();
    blobs.sort();
    assert_eq!(blobs, ["b2"]);
    for (k, v) in [("k", "null"), ("k", "v-b2"), ("other", "null")] {
        s.delete_object("v", k, Some(v), "x").await.unwrap();
    }
    assert_eq!(s.get_object("v", "k", None).await.unwrap(), None);
    assert!(matches!(
        s.delete_bucket("v").await.unwrap(),
        DeleteBucket::Deleted(_)
    ));
}

/// Conditional writes are decided in the write's transaction: of concurrent
/// `IfAbsent` writers of one key exactly one wins, on both engines.
async fn conditional_writes(s: AnyStore) {
    for (name, state) in [("c", Versioning::Unversioned), ("cv", Versioning::Enabled)] {
        s.create_bucket(&bucket(name)).await.unwrap();
        s.set_bucket_versioning(name, state).await.unwrap();
        let o = |blob: &str| object(name, "k", &format!("{name}-{blob}"));
        assert_eq!(
            s.put_object(&o("b1"), &[], Precondition::IfMatch("\"abc\""))
                .await
                .unwrap(),
            Put::NoSuchKey
        );
        put(&s, &o("b1"), &[]).await;
        assert_eq!(
            s.put_object(&o("b2"), &[], Precondition::IfAbsent)
                .await
                .unwrap(),
            Put::PreconditionFailed
        );
        assert_eq!(
            s.put_object(&o("b2"), &[], Precondition::IfMatch("zzz"))
                .await
                .unwrap(),
            Put::PreconditionFailed
        );
        assert_eq!(
            current(&s, name, "k").await.unwrap().blob_id,
            format!("{name}-b1")
        );
        // Quotes or not, the ETag matches.
        assert!(matches!(
            s.put_object(&o("b2"), &[], Precondition::IfMatch("abc"))
                .await
                .unwrap(),
            Put::Written(_)
        ));
        // Behind a delete marker (or deleted), the key is absent.
        delete(&s, name, "k").await;
        assert!(matches!(
            s.put_object(&o("b3"), &[], Precondition::IfAbsent)
                .await
                .unwrap(),
            Put::Written(_)
        ));

        let mut racers = Vec::new();
        for i in 0..8 {
            let s = s.clone();
            let o = object(name, "race", &format!("{name}-r{i}"));
            racers.push(tokio::spawn(async move {
                s.put_object(&o, &[], Precondition::IfAbsent).await
            }));
        }
        let mut won = 0;
        for r in racers {
            match r.await.unwrap().unwrap() {
                Put::Written(_) => won += 1,
                Put::PreconditionFailed => {}
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(won, 1, "{name}");
        let versions = s.list_versions(name, "race", "", None, 100).await.unwrap();
        assert_eq!(versions.len(), 1, "{name}");
    }
}

common::on_both!(
    threads = 2;
    delete_bucket_aborts_uploads,
    bucket_settings,
    buckets_and_policies,
    objects_replace_and_list_in_byte_order,
    multipart_uploads,
    versions_and_delete_markers,
    conditional_writes,
);

/// S3 rows of a schema-7 database: an object with tags, a bucket.
const SCHEMA_7_OBJECTS: &str = "
INSERT INTO s3_buckets (name, owner_account, created) VALUES ('old', '123456789012', 1);
INSERT INTO s3_objects (bucket, object_key, blob_id, size, etag, content_type, metadata, last_modified)
    VALUES ('old', 'k', 'blob-old', 3, '\"e\"', NULL, '{}', 5);
INSERT INTO s3_object_tags (bucket, object_key, tag_key, tag_value) VALUES ('old', 'k', 't', '1');
";

/// Objects written before schema 9 are their key's current null version, with their
/// tags; the bucket is unversioned; versioning then works on them.
async fn objects_of_schema_7_are_null_versions(s: AnyStore) {
    let b = s.get_bucket("old").await.unwrap().unwrap();
    assert_eq!(b.versioning, Versioning::Unversioned);
    let o = current(&s, "old", "k").await.unwrap();
    assert_eq!(
        (o.version_id.as_str(), o.latest, o.blob_id.as_str(), o.size),
        ("null", true, "blob-old", 3)
    );
    assert_eq!(
        s.get_object_tags("old", "k", None).await.unwrap(),
        tags(&[("t", "1")])
    );
    s.set_bucket_versioning("old", Versioning::Enabled)
        .await
        .unwrap();
    put(&s, &object("old", "k", "blob-new"), &[]).await;
    assert_eq!(all_versions(&s, "old").await, ["k:v-blob-new", "k:null"]);
    assert_eq!(
        s.get_object_tags("old", "k", Some("null")).await.unwrap(),
        tags(&[("t", "1")])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_migrates_schema_7_objects() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iamd.db");
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
    for sql in iamd_store::testing::schema_up_to(7, false) {
        sqlx::raw_sql(&sql).execute(&pool).await.unwrap();
    }
    sqlx::raw_sql(SCHEMA_7_OBJECTS)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let url = format!("sqlite://{}", path.display());
    objects_of_schema_7_are_null_versions(AnyStore::open(&url).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_migrates_schema_7_objects() {
    let cluster = iamd_store::testing::PgCluster::shared().unwrap();
    let url = cluster.create_database().await.unwrap();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    for sql in iamd_store::testing::schema_up_to(7, true) {
        sqlx::raw_sql(&sql).execute(&pool).await.unwrap();
    }
    sqlx::raw_sql(SCHEMA_7_OBJECTS)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    objects_of_schema_7_are_null_versions(AnyStore::open(&url).await.unwrap()).await;
}
