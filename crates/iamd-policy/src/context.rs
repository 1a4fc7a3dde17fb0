//! Request description: caller, resource, condition-key context.

use std::borrow::Cow;

/// Condition-key context of one request (docs/policy-semantics.md §3.2, §5).
/// Keys are case-insensitive (stored
/// lowercased); each key maps to one or more string values. An empty value list counts as
/// absent.
///
/// Build one per request; it is a flat `Vec` (≈20 entries typically), looked up linearly.
/// Building it is on every request's path, so a key given as a lowercase `&'static str`
/// ([`Context::insert_static`]) is stored without a copy and a single value without a
/// vector of its own.
#[derive(Debug, Clone, Default)]
pub struct Context {
    entries: Vec<(Cow<'static, str>, Values)>,
}

/// The values of one key: one (the usual case, no vector) or several.
#[derive(Debug, Clone)]
enum Values {
    One([String; 1]),
    Many(Vec<String>),
}

impl Values {
    fn as_slice(&self) -> &[String] {
        match self {
            Values::One(v) => v,
            Values::Many(v) => v,
        }
    }
}

/// Equal when the same keys hold the same values in the same order, however the values
/// are stored.
impl PartialEq for Context {
    fn eq(&self, other: &Context) -> bool {
        self.entries.len() == other.entries.len()
            && self
                .entries
                .iter()
                .zip(&other.entries)
                .all(|((ka, va), (kb, vb))| ka == kb && va.as_slice() == vb.as_slice())
    }
}

impl Eq for Context {}

fn is_lower(key: &str) -> bool {
    key.bytes().all(|b| !b.is_ascii_uppercase() && b.is_ascii())
}

fn lower(key: &str) -> String {
    if is_lower(key) {
        key.to_string()
    } else {
        key.to_lowercase()
    }
}

impl Context {
    /// Empty context.
    pub fn new() -> Context {
        Context::default()
    }

    /// Empty context with room for `n` keys.
    pub fn with_capacity(n: usize) -> Context {
        Context {
            entries: Vec::with_capacity(n),
        }
    }

    /// Set `key` to the single value `value` (replacing earlier values).
    pub fn insert(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.set(Cow::Owned(lower(key)), Values::One([value.into()]))
    }

    /// [`Context::insert`] for a key known at compile time: a key already in lowercase
    /// (`"aws:currenttime"`) is kept as it is, without a copy.
    pub fn insert_static(&mut self, key: &'static str, value: impl Into<String>) -> &mut Self {
        let k = if is_lower(key) {
            Cow::Borrowed(key)
        } else {
            Cow::Owned(key.to_lowercase())
        };
        self.set(k, Values::One([value.into()]))
    }

    /// Set `key` to several values (a multivalued key such as `aws:TagKeys`).
    pub fn insert_multi<I, S>(&mut self, key: &str, values: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let vals: Vec<String> = values.into_iter().map(Into::into).collect();
        self.set(Cow::Owned(lower(key)), Values::Many(vals))
    }

    fn set(&mut self, k: Cow<'static, str>, vals: Values) -> &mut Self {
        match self.entries.iter_mut().find(|(ek, _)| *ek == k) {
            Some((_, v)) => *v = vals,
            None => self.entries.push((k, vals)),
        }
        self
    }

    /// Builder-style [`Context::insert`].
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.insert(key, value);
        self
    }

    /// Remove a key.
    pub fn remove(&mut self, key: &str) {
        let k = lower(key);
        self.entries.retain(|(ek, _)| *ek != k);
    }

    /// Values of `key` (any case); `None` if absent or empty.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        let k = lower(key);
        self.get_lc(&k)
    }

    /// Lookup with an already-lowercased key (hot path, no allocation).
    #[inline]
    pub(crate) fn get_lc(&self, key_lc: &str) -> Option<&[String]> {
        self.entries
            .iter()
            .find(|(k, _)| crate::glob::eq_bytes(k.as_bytes(), key_lc.as_bytes()))
            .map(|(_, v)| v.as_slice())
            .filter(|v| !v.is_empty())
    }

    /// Single value for variable substitution: present and single-valued (§3.8).
    #[inline]
    pub(crate) fn single_lc(&self, key_lc: &str) -> Option<&str> {
        match self.get_lc(key_lc) {
            Some([v]) => Some(v.as_str()),
            _ => None,
        }
    }

    /// Iterate `(lowercased key, values)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.entries.iter().map(|(k, v)| (k.as_ref(), v.as_slice()))
    }
}

/// The resource a request acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    /// A resource ARN (`arn:aws:s3:::bucket/key`).
    Arn(&'a str),
    /// Wildcard-only action (no resource type, §6.0), authorized against `*`.
    Wildcard,
}

/// Who is calling (§2.5). Accounts are 12-digit ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller<'a> {
    /// The account root user.
    Root { account: &'a str },
    /// An IAM user (`arn:aws:iam::A:user/PATH/NAME`, unique id `AIDA…`).
    User {
        arn: &'a str,
        id: &'a str,
        account: &'a str,
    },
    /// A role session: session ARN `arn:aws:sts::A:assumed-role/R/S`, role ARN
    /// `arn:aws:iam::A:role/PATH/R`, role unique id (`AROA…`, may be empty).
    RoleSession {
        session_arn: &'a str,
        role_arn: &'a str,
        role_id: &'a str,
        account: &'a str,
    },
    /// A federated user (GetFederationToken): its ARN and the federating IAM user's ARN.
    FederatedUser {
        arn: &'a str,
        user_arn: &'a str,
        account: &'a str,
    },
    /// An unsigned request.
    Anonymous,
    /// An AWS service principal (`name.amazonaws.com`); matches `Service` entries.
    Service { name: &'a str },
    /// A web-identity / SAML caller (AssumeRoleWith*); matches `Federated` entries equal to
    /// `provider` (OIDC host or provider ARN).
    WebIdentity { provider: &'a str },
}

impl<'a> Caller<'a> {
    /// The caller's account, if it has one.
    pub fn account(&self) -> Option<&'a str> {
        match *self {
            Caller::Root { account }
            | Caller::User { account, .. }
            | Caller::RoleSession { account, .. }
            | Caller::FederatedUser { account, .. } => Some(account),
            _ => None,
        }
    }
}

/// One authorization request.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `service:Action`, e.g. `s3:PutObject` (any case).
    pub action: &'a str,
    pub resource: Resource<'a>,
    /// Account owning the resource; `None` = the caller's account.
    pub resource_account: Option<&'a str>,
    pub caller: Caller<'a>,
    pub context: &'a Context,
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests unwrap what they assert on")]
mod tests {
    use super::*;

    #[test]
    fn keys_are_case_insensitive_however_inserted() {
        let mut c = Context::new();
        c.insert_static("aws:username", "bob");
        c.insert_static("aws:PrincipalType", "User");
        c.insert("aws:SourceIp", "10.0.0.1");
        c.insert_multi("aws:TagKeys", ["a", "b"]);
        assert_eq!(c.get("AWS:UserName").unwrap(), ["bob"]);
        assert_eq!(c.get("aws:principaltype").unwrap(), ["User"]);
        assert_eq!(c.get_lc("aws:sourceip").unwrap(), ["10.0.0.1"]);
        assert_eq!(c.get("aws:tagkeys").unwrap(), ["a", "b"]);
        assert_eq!(c.single_lc("aws:tagkeys"), None);
        let keys: Vec<&str> = c.iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "aws:username",
                "aws:principaltype",
                "aws:sourceip",
                "aws:tagkeys"
            ]
        );
    }

    #[test]
    fn a_later_insert_replaces_and_empty_is_absent() {
        let mut c = Context::new();
        c.insert_static("aws:userid", "A");
        c.insert("AWS:USERID", "B");
        assert_eq!(c.get("aws:userid").unwrap(), ["B"]);
        assert_eq!(c.iter().count(), 1);
        c.insert_multi("aws:userid", Vec::<String>::new());
        assert_eq!(c.get("aws:userid"), None);
        c.remove("aws:UserId");
        assert_eq!(c.iter().count(), 0);
    }

    #[test]
    fn equality_ignores_how_values_are_stored() {
        let mut a = Context::new();
        a.insert_static("k", "v");
        let mut b = Context::new();
        b.insert_multi("K", ["v"]);
        assert_eq!(a, b);
        b.insert("k", "w");
        assert_ne!(a, b);
    }
}
