//! Request description: caller, resource, condition-key context.

/// Condition-key context of one request (docs/policy-semantics.md §3.2, §5).
/// Keys are case-insensitive (stored
/// lowercased); each key maps to one or more string values. An empty value list counts as
/// absent.
///
/// Build one per request; it is a flat `Vec` (≈20 entries typically), looked up linearly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    entries: Vec<(String, Vec<String>)>,
}

fn lower(key: &str) -> String {
    if key.bytes().all(|b| !b.is_ascii_uppercase() && b.is_ascii()) {
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
        self.insert_multi(key, [value.into()])
    }

    /// Set `key` to several values (a multivalued key such as `aws:TagKeys`).
    pub fn insert_multi<I, S>(&mut self, key: &str, values: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let k = lower(key);
        let vals: Vec<String> = values.into_iter().map(Into::into).collect();
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
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
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
