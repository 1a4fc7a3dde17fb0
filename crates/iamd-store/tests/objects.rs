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
    }
}

fn object(bucket: &str, key: &str, blob: &str) -> ObjectRecord {
    ObjectRecord {
        bucket: bucket.into(),
        key: key.into(),
        blob_id: blob.into(),
        size: 3,
        etag: "\"abc\"".into(),
        content_type: Some("text/plain".into()),
        metadata: "{}".into(),
        last_modified: 2,
    }
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
    s.set_bucket_policy("houdini", Some("{}")).await.unwrap();
    assert_eq!(
        s.get_bucket_policy("houdini").await.unwrap().as_deref(),
        Some("{}")
    );
    assert!(matches!(
        s.set_bucket_policy("nope", Some("{}")).await,
        Err(StoreError::Reference(_))
    ));

    s.put_object(&object("houdini", "a", "b1"), &[])
        .await
        .unwrap();
    assert_eq!(
        s.delete_bucket("houdini").await.unwrap(),
        DeleteBucket::NotEmpty
    );
    assert_eq!(
        s.delete_object("houdini", "a").await.unwrap().as_deref(),
        Some("b1")
    );
    assert_eq!(s.delete_object("houdini", "a").await.unwrap(), None);
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
    s.put_object(&object("b", "k", "old"), &tags(&[("a", "1")]))
        .await
        .unwrap();
    s.put_object(&object("b", "k", "new"), &[]).await.unwrap();
    assert!(!s.delete_object_if_blob("b", "k", "old").await.unwrap());
    assert_eq!(
        s.get_object("b", "k").await.unwrap().unwrap().blob_id,
        "new"
    );
    assert!(s.delete_object_if_blob("b", "k", "new").await.unwrap());
    assert_eq!(s.get_object("b", "k").await.unwrap(), None);
    assert!(!s.delete_object_if_blob("b", "k", "new").await.unwrap());
}

async fn objects_replace_and_list_in_byte_order(s: AnyStore) {
    s.create_bucket(&bucket("b")).await.unwrap();
    assert!(matches!(
        s.put_object(&object("nope", "k", "x"), &[]).await,
        Err(StoreError::Reference(_))
    ));
    let keys = [
        "a//b", "../x", "dir/", "dir/a", "dir/b", "Z", "é", "a", "a%",
    ];
    for (i, k) in keys.iter().enumerate() {
        s.put_object(&object("b", k, &format!("blob{i}")), &[])
            .await
            .unwrap();
    }
    let old = s
        .put_object(&object("b", "a", "new"), &tags(&[("t", "1")]))
        .await
        .unwrap();
    assert_eq!(old.as_deref(), Some("blob7"));
    let got = s.get_object("b", "a").await.unwrap().unwrap();
    assert_eq!(got.blob_id, "new");
    assert_eq!(
        s.get_object_tags("b", "a").await.unwrap(),
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

    assert!(s
        .set_object_tags("b", "dir/a", &tags(&[("x", "y")]))
        .await
        .unwrap());
    assert!(!s
        .set_object_tags("b", "missing", &tags(&[("x", "y")]))
        .await
        .unwrap());
    // Deleting an object drops its tags; putting again starts without.
    s.delete_object("b", "dir/a").await.unwrap();
    s.put_object(&object("b", "dir/a", "again"), &[])
        .await
        .unwrap();
    assert!(s.get_object_tags("b", "dir/a").await.unwrap().is_empty());

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

    let done = s
        .complete_upload("u1", &object("b", "big", "whole"), &tags(&[("a", "b")]))
        .await
        .unwrap()
        .unwrap();
    let mut done = done;
    done.sort();
    assert_eq!(done, ["p1b", "p2"]);
    assert_eq!(s.get_upload("u1").await.unwrap(), None);
    assert!(s
        .complete_upload("u1", &object("b", "big", "whole2"), &[])
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        s.get_object("b", "big").await.unwrap().unwrap().blob_id,
        "whole"
    );
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
    s.put_object(&object("b", "o", "ob"), &[]).await.unwrap();
    assert_eq!(s.delete_bucket("b").await.unwrap(), DeleteBucket::NotEmpty);
    assert!(s.get_upload("u1").await.unwrap().is_some());
    s.delete_object("b", "o").await.unwrap();
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

common::on_both!(
    threads = 2;
    delete_bucket_aborts_uploads,
    bucket_settings,
    buckets_and_policies,
    objects_replace_and_list_in_byte_order,
    multipart_uploads,
);
