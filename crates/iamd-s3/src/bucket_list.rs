//! ListBuckets paging as AWS's API reference defines it: `max-buckets` (1..=10000),
//! an opaque `continuation-token`, `prefix` and `bucket-region`. A request with any of
//! them is paged (10,000 buckets a page unless `max-buckets` says otherwise) and lists
//! each bucket's region; a request with none lists every bucket, as before paging
//! existed. Pure: the handler passes the caller's buckets in name order.

use s3s::dto::ListBucketsInput;
use s3s::{s3_error, S3Result};

/// The region every bucket of this server is in (GetBucketLocation answers it as the
/// empty location constraint, as S3 does for us-east-1).
pub(crate) const BUCKET_REGION: &str = "us-east-1";

/// AWS's largest page, and the page of a paged request without `max-buckets`.
const MAX_BUCKETS: i32 = 10_000;

/// Marks iamd's tokens, so a token from elsewhere is refused rather than misread.
const TOKEN_TAG: &[u8] = b"iamd-lb1:";

/// One ListBuckets request's page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListBucketsPage {
    /// Any paging parameter was sent: the answer is paged and names regions.
    pub paged: bool,
    limit: Option<usize>,
    prefix: String,
    region: Option<String>,
    /// Names after this one (from the continuation token).
    after: Option<String>,
}

impl ListBucketsPage {
    pub(crate) fn of(i: &ListBucketsInput) -> S3Result<Self> {
        let paged = i.max_buckets.is_some()
            || i.continuation_token.is_some()
            || i.prefix.is_some()
            || i.bucket_region.is_some();
        let limit = match i.max_buckets {
            Some(n) if !(1..=MAX_BUCKETS).contains(&n) => {
                return Err(s3_error!(
                    InvalidArgument,
                    "Argument max-buckets must be an integer between 1 and 10000."
                ))
            }
            Some(n) => Some(n),
            None => paged.then_some(MAX_BUCKETS),
        };
        let after = match i.continuation_token.as_deref() {
            // The model allows an empty token: the first page.
            None | Some("") => None,
            Some(t) => Some(decode_token(t).ok_or_else(|| {
                s3_error!(
                    InvalidArgument,
                    "The continuation token provided is incorrect"
                )
            })?),
        };
        Ok(ListBucketsPage {
            paged,
            limit: limit.and_then(|n| usize::try_from(n).ok()),
            prefix: i.prefix.clone().unwrap_or_default(),
            region: i.bucket_region.clone(),
            after,
        })
    }

    /// This page of `buckets` (name, creation time; in name order) and the token of
    /// the next page, if there is one.
    pub(crate) fn select(
        &self,
        buckets: impl Iterator<Item = (String, i64)>,
    ) -> (Vec<(String, i64)>, Option<String>) {
        if self.region.as_deref().is_some_and(|r| r != BUCKET_REGION) {
            return (Vec::new(), None);
        }
        let mut matching = buckets.filter(|(name, _)| {
            name.starts_with(&self.prefix) && self.after.as_ref().is_none_or(|a| name > a)
        });
        let page: Vec<_> = match self.limit {
            Some(n) => matching.by_ref().take(n).collect(),
            None => matching.by_ref().collect(),
        };
        let next = match (matching.next(), page.last()) {
            (Some(_), Some((last, _))) => Some(encode_token(last)),
            _ => None,
        };
        (page, next)
    }
}

fn encode_token(after: &str) -> String {
    let mut raw = TOKEN_TAG.to_vec();
    raw.extend_from_slice(after.as_bytes());
    iamd_api::base64::encode(&raw)
}

fn decode_token(token: &str) -> Option<String> {
    let raw = iamd_api::base64::decode(token)?;
    let name = raw.strip_prefix(TOKEN_TAG)?;
    String::from_utf8(name.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn input(max: Option<i32>, token: Option<&str>, prefix: Option<&str>) -> ListBucketsInput {
        ListBucketsInput {
            max_buckets: max,
            continuation_token: token.map(str::to_owned),
            prefix: prefix.map(str::to_owned),
            ..Default::default()
        }
    }

    fn names(n: usize) -> Vec<(String, i64)> {
        (0..n).map(|i| (format!("b{i:03}"), 0)).collect()
    }

    #[test]
    fn unpaged_lists_everything_without_regions() {
        let p = ListBucketsPage::of(&ListBucketsInput::default()).unwrap();
        assert!(!p.paged);
        let (page, next) = p.select(names(12_000).into_iter());
        assert_eq!((page.len(), next), (12_000, None));
    }

    #[test]
    fn pages_follow_each_other_to_the_end() {
        let all = names(25);
        let mut token: Option<String> = None;
        let mut seen = Vec::new();
        loop {
            let p = ListBucketsPage::of(&input(Some(10), token.as_deref(), None)).unwrap();
            let (page, next) = p.select(all.clone().into_iter());
            assert!(page.len() <= 10);
            seen.extend(page);
            match next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        assert_eq!(seen, all);
        // An exact multiple ends without a token.
        let p = ListBucketsPage::of(&input(Some(5), None, None)).unwrap();
        assert_eq!(p.select(names(5).into_iter()).1, None);
    }

    #[test]
    fn prefix_and_region_filter() {
        let p = ListBucketsPage::of(&input(None, None, Some("b01"))).unwrap();
        assert!(p.paged);
        let (page, _) = p.select(names(30).into_iter());
        assert_eq!(page.len(), 10);
        let mut i = input(None, None, None);
        i.bucket_region = Some("eu-west-1".into());
        let p = ListBucketsPage::of(&i).unwrap();
        assert!(p.select(names(3).into_iter()).0.is_empty());
        i.bucket_region = Some(BUCKET_REGION.into());
        let p = ListBucketsPage::of(&i).unwrap();
        assert_eq!(p.select(names(3).into_iter()).0.len(), 3);
    }

    #[test]
    fn bad_parameters_are_refused() {
        for n in [0, -3, 10_001] {
            let e = ListBucketsPage::of(&input(Some(n), None, None)).unwrap_err();
            assert_eq!(e.code().as_str(), "InvalidArgument");
        }
        assert!(ListBucketsPage::of(&input(Some(10_000), None, None)).is_ok());
        for t in ["garbage!", "YWJj"] {
            let e = ListBucketsPage::of(&input(None, Some(t), None)).unwrap_err();
            assert_eq!(e.code().as_str(), "InvalidArgument", "{t}");
        }
        assert_eq!(
            ListBucketsPage::of(&input(None, Some(""), None))
                .unwrap()
                .after,
            None
        );
    }
}
