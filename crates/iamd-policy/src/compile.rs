//! Compiled (decision-ready) form of a policy.

use crate::glob::{eq_bytes, match_pieces, Mode, Pattern, Piece};
use crate::model::{
    Effect, Operator, PolicyDocument, PrincipalKey, PrincipalSpec, Qualifier, Version,
};
use crate::values::{base64_decode, parse_bool, parse_cidr, parse_date, Cidr, Instant};
use crate::{PolicyType, Span};

/// Resource / ARN pattern (docs/policy-semantics.md §2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ArnPattern {
    /// `*`
    Any,
    /// Six parts: `arn`, partition, service, region, account (per-part glob), resource.
    /// The optional string is the literal head `arn:aws:s3:::` when parts 1–5 have no
    /// wildcard (fast path: one comparison).
    Arn(Box<[Pattern; 5]>, Pattern, Option<Box<str>>),
    /// Matches nothing (e.g. a short ARN without wildcard in a resource policy).
    Nothing,
}

impl ArnPattern {
    /// `vars`: expand variables in the resource part. `pad`: pad short ARNs with `*`
    /// (identity-side policies); otherwise short ARNs only pad when they contain a wildcard.
    pub(crate) fn new(text: &str, vars: bool, pad: bool) -> ArnPattern {
        if text == "*" {
            return ArnPattern::Any;
        }
        let mut it = text.splitn(6, ':');
        let mut parts: [Option<&str>; 6] = [None; 6];
        for p in parts.iter_mut() {
            *p = it.next();
        }
        let short = parts.iter().any(Option::is_none);
        if short && !(pad || text.contains(['*', '?'])) {
            return ArnPattern::Nothing;
        }
        let g = |s: Option<&str>| Pattern::new(s.unwrap_or("*"), Mode::Glob, false, false);
        let [p0, p1, p2, p3, p4, p5] = parts;
        let head = [g(p0), g(p1), g(p2), g(p3), g(p4)];
        let literal_head = if head.iter().all(|p| p.as_literal().is_some()) {
            let mut h = String::new();
            for p in &head {
                h.push_str(p.as_literal().unwrap_or(""));
                h.push(':');
            }
            Some(h.into_boxed_str())
        } else {
            None
        };
        ArnPattern::Arn(
            Box::new(head),
            Pattern::new(p5.unwrap_or("*"), Mode::Glob, vars, false),
            literal_head,
        )
    }

    /// Match a request ARN (see [`ReqArn`]).
    #[inline(always)]
    pub(crate) fn matches_req<'v>(
        &'v self,
        arn: &ReqArn<'_>,
        resolve: &mut dyn FnMut(&str) -> Option<&'v str>,
    ) -> bool {
        match self {
            ArnPattern::Any => true,
            ArnPattern::Nothing => false,
            ArnPattern::Arn(head, res, lit) => {
                let full = arn.full.as_bytes();
                let tail = match lit {
                    // `h` holds exactly five colons, one after each literal part, so a prefix
                    // match means parts 1–5 are equal and the resource part follows.
                    Some(h) => match full.get(..h.len()) {
                        Some(x) if eq_bytes(x, h.as_bytes()) => full.get(h.len()..),
                        _ => None,
                    },
                    None => arn.split().and_then(|(parts, tail_start)| {
                        head.iter()
                            .zip(parts.iter())
                            .all(|(p, part)| p.is_match(part, false, &mut |_| None))
                            .then(|| full.get(tail_start..))
                            .flatten()
                    }),
                };
                tail.is_some_and(|t| res.is_match_bytes(t, false, resolve))
            }
        }
    }

    /// Match an ARN; variables in the resource part resolved with `resolve`.
    #[inline]
    pub(crate) fn matches<'v>(
        &'v self,
        arn: &str,
        resolve: &mut dyn FnMut(&str) -> Option<&'v str>,
    ) -> bool {
        match self {
            ArnPattern::Any => true,
            ArnPattern::Nothing => false,
            ArnPattern::Arn(head, res, _) => {
                let mut it = arn.splitn(6, ':');
                for p in head.iter() {
                    match it.next() {
                        Some(part) => {
                            if !p.is_match(part, false, &mut |_| None) {
                                return false;
                            }
                        }
                        None => return false,
                    }
                }
                match it.next() {
                    Some(last) => res.is_match(last, false, resolve),
                    None => false,
                }
            }
        }
    }

    /// §6.0: does this entry grant a wildcard-only action of `service`?
    pub(crate) fn matches_wildcard(&self, service: &[u8]) -> bool {
        match self {
            ArnPattern::Any => true,
            ArnPattern::Nothing => false,
            ArnPattern::Arn(head, res, _) => {
                let [_arn, _partition, svc, region, account] = &**head;
                let empty_or_any = |p: &Pattern| p.is_any() || p.as_literal() == Some("");
                svc.is_match_bytes(service, true, &mut |_| None)
                    && empty_or_any(region)
                    && empty_or_any(account)
                    && res.is_any()
            }
        }
    }

    pub(crate) fn var_names(&self) -> Vec<&str> {
        match self {
            ArnPattern::Arn(_, r, _) => r.var_names().collect(),
            _ => Vec::new(),
        }
    }
}

/// A statement's cheap necessary condition on the request ARN's resource part (the text
/// after the fifth colon): every `Resource` entry has a literal head and a resource part
/// starting with at least `len` literal bytes (1–8), and `mask` holds the
/// [`prefix_hash`] bit of each entry's first `len` bytes. A request whose resource part is
/// shorter than `len`, or whose hash bit is not in `mask`, cannot match the statement, so the
/// decision skips it before any string compare. Hash collisions only let a statement through
/// to the full match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ResFilter {
    pub len: u8,
    pub mask: u64,
}

/// Longest prefix [`ResFilter`] looks at.
pub(crate) const FILTER_MAX: usize = 8;

/// 6-bit hash of `b[..len]` (`len` in 1..=8, `b.len() >= len`); reads one word when `b` has
/// eight bytes.
#[inline(always)]
pub(crate) fn prefix_hash(b: &[u8], len: usize) -> u32 {
    let len = len.clamp(1, FILTER_MAX);
    let x = match b.get(..8).and_then(|w| <[u8; 8]>::try_from(w).ok()) {
        Some(w) => u64::from_le_bytes(w) & (u64::MAX >> (64 - 8 * len)),
        None => {
            let mut w = [0u8; 8];
            for (d, s) in w.iter_mut().zip(b.iter().take(len)) {
                *d = *s;
            }
            u64::from_le_bytes(w)
        }
    };
    ((x ^ len as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as u32
}

impl ResFilter {
    fn new(resources: &[ArnPattern], not_resource: bool) -> Option<ResFilter> {
        if not_resource || resources.is_empty() {
            return None;
        }
        let mut len = FILTER_MAX;
        for r in resources {
            match r {
                ArnPattern::Arn(_, res, Some(_)) => len = len.min(res.literal_prefix().len()),
                ArnPattern::Nothing => {}
                _ => return None,
            }
        }
        if len == 0 {
            return None;
        }
        let mut mask = 0u64;
        for r in resources {
            if let ArnPattern::Arn(_, res, Some(_)) = r {
                mask |= 1 << prefix_hash(res.literal_prefix().as_bytes(), len);
            }
        }
        Some(ResFilter {
            len: u8::try_from(len).ok()?,
            mask,
        })
    }
}

/// Offset just after the `n`-th colon (`n` ≥ 1), eight bytes at a time.
pub(crate) fn after_nth_colon(b: &[u8], n: u32) -> Option<usize> {
    const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let mut need = n;
    let mut i = 0;
    while let Some(w) = b.get(i..i + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()) {
        let v = u64::from_le_bytes(w) ^ 0x3a3a_3a3a_3a3a_3a3a; // ':' bytes become 0
        let zero = !(((v & LO7) + LO7) | v | LO7); // high bit of each zero byte
        let k = zero.count_ones();
        if k >= need {
            let mut z = zero;
            for _ in 1..need {
                z &= z - 1;
            }
            return Some(i + (z.trailing_zeros() / 8) as usize + 1);
        }
        need -= k;
        i += 8;
    }
    for (j, &c) in b.get(i..)?.iter().enumerate() {
        if c == b':' {
            need -= 1;
            if need == 0 {
                return Some(i + j + 1);
            }
        }
    }
    None
}

/// The request ARN of one decision. The resource part (after the fifth colon) is found once,
/// up front: literal-head patterns compare a prefix and [`ResFilter`]s hash its first bytes
/// (lazily, at most once per length). Parts 1–5 are split out only for patterns with a
/// wildcard in their head.
pub(crate) struct ReqArn<'a> {
    pub full: &'a str,
    /// The resource part; `None` for fewer than five colons.
    tail: Option<&'a [u8]>,
    /// `1 << prefix_hash(tail, l)` at `l - 1`; 0 = not computed yet.
    bits: [std::cell::Cell<u64>; FILTER_MAX],
}

impl<'a> ReqArn<'a> {
    #[inline]
    pub(crate) fn new(full: &'a str) -> ReqArn<'a> {
        const S3: &[u8] = b"arn:aws:s3:::";
        let b = full.as_bytes();
        let tail_start = match b.get(..S3.len()) {
            Some(head) if eq_bytes(head, S3) => Some(S3.len()), // no scan
            _ => after_nth_colon(b, 5),
        };
        ReqArn {
            full,
            tail: tail_start.and_then(|i| b.get(i..)),
            bits: Default::default(),
        }
    }

    /// The resource part (empty if the ARN has fewer than five colons: a pattern with a
    /// literal head then cannot match, and every filtered statement needs at least one byte).
    #[inline]
    fn tail(&self) -> &'a [u8] {
        self.tail.unwrap_or_default()
    }

    /// Parts 1–5 and the byte offset of part 6 (for patterns with a wildcard in their head;
    /// cheap enough not to cache).
    fn split(&self) -> Option<([&'a str; 5], usize)> {
        let start = self.full.len() - self.tail?.len();
        let mut it = self.full.get(..start.checked_sub(1)?)?.split(':');
        let mut parts = [""; 5];
        for p in parts.iter_mut() {
            *p = it.next()?;
        }
        Some((parts, start))
    }

    /// Whether a statement with filter `f` may match.
    #[inline]
    pub(crate) fn admits(&self, f: &ResFilter) -> bool {
        let l = usize::from(f.len);
        let tail = self.tail();
        if tail.len() < l {
            return false;
        }
        let Some(cell) = self.bits.get(l.wrapping_sub(1)) else {
            return true;
        };
        let mut bit = cell.get();
        if bit == 0 {
            bit = 1 << prefix_hash(tail, l);
            cell.set(bit);
        }
        bit & f.mask != 0
    }
}

/// Compiled condition value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CValue {
    /// String operators (IgnoreCase: lowercased at compile time).
    Str(Pattern),
    Num(Box<str>),
    Date(Option<Instant>),
    Bool(Option<bool>),
    /// Bool value containing policy variables.
    BoolVar(Pattern),
    Binary(Option<Vec<u8>>),
    Ip(Option<Cidr>),
    Arn(ArnPattern),
    /// Null operator: `true` = must be absent.
    Null(Option<bool>),
}

/// One compiled condition (qualifier, operator, IfExists, key, values).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CCondition {
    pub op: Operator,
    pub qualifier: Option<Qualifier>,
    pub if_exists: bool,
    pub key_lc: Box<str>,
    pub key: Box<str>,
    pub values: Box<[CValue]>,
}

/// Compiled Principal / NotPrincipal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CPrincipal {
    pub not: bool,
    pub any: bool,
    pub aws: Box<[Box<str>]>,
    pub service: Box<[Box<str>]>,
    pub federated: Box<[Box<str>]>,
    pub canonical: Box<[Box<str>]>,
}

/// One compiled statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CStatement {
    pub index: usize,
    pub sid: Box<str>,
    pub effect: Effect,
    pub span: Span,
    pub not_action: bool,
    pub actions: Box<[Pattern]>,
    /// `None`: no Resource element (trust policies) → resource check skipped.
    pub resources: Option<Box<[ArnPattern]>>,
    pub not_resource: bool,
    /// Prefilter on the request's resource part (`None`: none applies).
    pub res_filter: Option<ResFilter>,
    pub principal: Option<Box<CPrincipal>>,
    pub conditions: Box<[CCondition]>,
}

/// Candidate statements for actions of one (lowercase) service: `rest` for any action name,
/// `by_first` per first character of the action name (lowercase). Each list is complete
/// (generic statements, the service's wildcard-named statements and the character's own) and
/// ascending, so a decision reads one slice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceBucket {
    pub service: Box<str>,
    pub rest: Box<[u32]>,
    pub by_first: Box<[(u8, Box<[u32]>)]>,
}

/// A policy compiled for decisions. Immutable, `Send + Sync`; keep it in an `Arc`.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledPolicy {
    pub(crate) id: Box<str>,
    pub(crate) policy_type: PolicyType,
    pub(crate) version: Version,
    pub(crate) statements: Box<[CStatement]>,
    /// candidate lists per lowercase service prefix
    pub(crate) by_service: Box<[ServiceBucket]>,
    /// statements that may match any service (wildcard vendor, NotAction), sorted: the
    /// candidates of a service no statement names
    pub(crate) generic: Box<[u32]>,
    /// One bit per service prefix in `by_service` ([`service_bit`]): a request whose service
    /// bit is not set reads `generic` without scanning the buckets, so a policy about other
    /// services costs one AND (a user's attached policies are mostly about other services).
    pub(crate) service_mask: u64,
    pub(crate) condition_keys: Box<[Box<str>]>,
}

/// The bit of a service prefix (by its [`service_hash`]) in
/// [`CompiledPolicy::service_mask`]. Two prefixes may share a bit; the mask only ever skips
/// a scan that would have found nothing.
#[inline]
pub(crate) fn service_bit(hash: u32) -> u64 {
    1u64 << (hash.wrapping_mul(0x9e37_79b1) >> 26)
}

/// A cheap key of a service prefix: its length and first and last bytes, ASCII-lowercased
/// (so case does not change it). Different prefixes may share a key; it only ever skips a
/// byte compare that would have failed.
#[inline]
pub(crate) fn service_hash(service: &[u8]) -> u32 {
    match (service.first(), service.last()) {
        (Some(f), Some(l)) => {
            let n = u32::try_from(service.len()).unwrap_or(u32::MAX);
            n << 16 | u32::from(f.to_ascii_lowercase()) << 8 | u32::from(l.to_ascii_lowercase())
        }
        _ => 0,
    }
}

fn compile_value(op: Operator, v: &str, vars: bool, pad: bool) -> CValue {
    use Operator::*;
    let vars = vars && op.takes_variables();
    match op {
        StringEquals | StringNotEquals => CValue::Str(Pattern::new(v, Mode::Literal, vars, false)),
        StringEqualsIgnoreCase | StringNotEqualsIgnoreCase => {
            CValue::Str(Pattern::new(&v.to_lowercase(), Mode::Literal, vars, false))
        }
        StringLike | StringNotLike => CValue::Str(Pattern::new(v, Mode::Glob, vars, false)),
        NumericEquals
        | NumericNotEquals
        | NumericLessThan
        | NumericLessThanEquals
        | NumericGreaterThan
        | NumericGreaterThanEquals => CValue::Num(v.into()),
        DateEquals
        | DateNotEquals
        | DateLessThan
        | DateLessThanEquals
        | DateGreaterThan
        | DateGreaterThanEquals => CValue::Date(parse_date(v)),
        Bool if vars && v.contains("${") => {
            let p = Pattern::new(v, Mode::Literal, true, false);
            if p.has_vars() {
                CValue::BoolVar(p)
            } else {
                CValue::Bool(parse_bool(p.as_literal().unwrap_or(v)))
            }
        }
        Bool => CValue::Bool(parse_bool(v)),
        BinaryEquals => CValue::Binary(base64_decode(v)),
        IpAddress | NotIpAddress => CValue::Ip(parse_cidr(v)),
        ArnEquals | ArnLike | ArnNotEquals | ArnNotLike => {
            // a condition ARN value that is not a full ARN matches nothing unless it has wildcards
            let _ = pad;
            CValue::Arn(ArnPattern::new(v, vars, false))
        }
        Null => CValue::Null(parse_bool(v)),
    }
}

fn action_vendor_literal(a: &str) -> Option<String> {
    let (vendor, _) = a.split_once(':')?;
    if vendor.contains(['*', '?']) {
        return None;
    }
    Some(vendor.to_ascii_lowercase())
}

impl CompiledPolicy {
    /// Compile a parsed document. `id` is the caller-chosen policy identifier (name or ARN)
    /// reported in decisions. Compile only documents that passed [`crate::validate`]; invalid
    /// parts compile to never-matching values (fail closed for Allow).
    pub fn compile(doc: &PolicyDocument, ty: PolicyType, id: impl Into<Box<str>>) -> Self {
        let vars = doc.version.expands_variables();
        let pad = !matches!(ty, PolicyType::Resource);
        let mut statements = Vec::with_capacity(doc.statements.len());
        let mut keys: Vec<Box<str>> = Vec::new();
        let mut add_key = |k: &str| {
            if !keys.iter().any(|e| e.eq_ignore_ascii_case(k)) {
                keys.push(k.into());
            }
        };
        for s in &doc.statements {
            let (not_action, actions) = match &s.action {
                Some(a) => (
                    a.not,
                    a.items
                        .iter()
                        .map(|i| Pattern::new(&i.value, Mode::Glob, false, true))
                        .collect::<Box<[_]>>(),
                ),
                None => (false, Box::from([])),
            };
            let (not_resource, resources) = match &s.resource {
                Some(r) => (
                    r.not,
                    Some(
                        r.items
                            .iter()
                            .map(|i| ArnPattern::new(&i.value, vars, pad))
                            .collect::<Box<[_]>>(),
                    ),
                ),
                None => (false, None),
            };
            if let Some(rs) = &resources {
                for r in rs.iter() {
                    for v in r.var_names() {
                        add_key(v);
                    }
                }
            }
            let principal = s.principal.as_ref().map(|p| {
                let mut cp = CPrincipal {
                    not: p.not,
                    any: false,
                    aws: Box::from([]),
                    service: Box::from([]),
                    federated: Box::from([]),
                    canonical: Box::from([]),
                };
                match &p.spec {
                    PrincipalSpec::Any => cp.any = true,
                    PrincipalSpec::Map(m) => {
                        let (mut aws, mut svc, mut fed, mut can) =
                            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                        for (k, vals) in m {
                            let dst = match k {
                                PrincipalKey::Aws => &mut aws,
                                PrincipalKey::Service => &mut svc,
                                PrincipalKey::Federated => &mut fed,
                                PrincipalKey::CanonicalUser => &mut can,
                            };
                            dst.extend(vals.iter().map(|v| Box::<str>::from(v.value.as_str())));
                        }
                        cp.aws = aws.into();
                        cp.service = svc.into();
                        cp.federated = fed.into();
                        cp.canonical = can.into();
                    }
                }
                Box::new(cp)
            });
            let mut conditions = Vec::new();
            for b in &s.conditions {
                for e in &b.entries {
                    add_key(&e.key);
                    let values: Box<[CValue]> = e
                        .values
                        .iter()
                        .map(|v| compile_value(b.operator, &v.value, vars, pad))
                        .collect();
                    for v in values.iter() {
                        match v {
                            CValue::Str(p) | CValue::BoolVar(p) => {
                                p.var_names().for_each(&mut add_key)
                            }
                            CValue::Arn(a) => a.var_names().into_iter().for_each(&mut add_key),
                            _ => {}
                        }
                    }
                    conditions.push(CCondition {
                        op: b.operator,
                        qualifier: b.qualifier,
                        if_exists: b.if_exists,
                        key_lc: e.key.to_lowercase().into(),
                        key: e.key.as_str().into(),
                        values,
                    });
                }
            }
            statements.push(CStatement {
                index: s.index,
                sid: s.sid.as_ref().map_or("", |x| x.value.as_str()).into(),
                effect: s.effect,
                span: s.span,
                not_action,
                actions,
                res_filter: resources
                    .as_deref()
                    .and_then(|r| ResFilter::new(r, not_resource)),
                resources,
                not_resource,
                principal,
                conditions: conditions.into(),
            });
        }
        // service index: (service, first literal char of the action name) -> statements
        type Building = (String, Vec<u32>, Vec<(u8, Vec<u32>)>);
        let mut by_service: Vec<Building> = Vec::new();
        let mut generic: Vec<u32> = Vec::new();
        fn push(list: &mut Vec<u32>, idx: u32) {
            if list.last() != Some(&idx) {
                list.push(idx);
            }
        }
        for (i, s) in doc.statements.iter().enumerate() {
            let idx = u32::try_from(i).unwrap_or(u32::MAX);
            let keys: Option<Vec<(String, Option<u8>)>> = match &s.action {
                Some(a) if !a.not => a
                    .items
                    .iter()
                    .map(|x| {
                        let vendor = action_vendor_literal(&x.value)?;
                        let name = x.value.split_once(':').map_or("", |(_, n)| n);
                        let first = name
                            .as_bytes()
                            .first()
                            .copied()
                            .filter(|b| *b != b'*' && *b != b'?')
                            .map(|b| b.to_ascii_lowercase());
                        Some((vendor, first))
                    })
                    .collect(),
                _ => None,
            };
            match keys {
                Some(ks) => {
                    for (v, first) in ks {
                        let pos = match by_service.iter().position(|(k, _, _)| *k == v) {
                            Some(p) => p,
                            None => {
                                by_service.push((v, Vec::new(), Vec::new()));
                                by_service.len() - 1
                            }
                        };
                        let Some(entry) = by_service.get_mut(pos) else {
                            continue;
                        };
                        match first {
                            None => push(&mut entry.1, idx),
                            Some(c) => match entry.2.iter_mut().find(|(k, _)| *k == c) {
                                Some((_, l)) => push(l, idx),
                                None => entry.2.push((c, vec![idx])),
                            },
                        }
                    }
                }
                None => generic.push(idx),
            }
        }
        fn merged(lists: &[&[u32]]) -> Box<[u32]> {
            let mut v: Vec<u32> = lists.iter().flat_map(|l| l.iter().copied()).collect();
            v.sort_unstable();
            v.dedup();
            v.into()
        }
        let by_service: Box<[ServiceBucket]> = by_service
            .into_iter()
            .map(|(k, any, firsts)| ServiceBucket {
                service: k.into(),
                rest: merged(&[&generic, &any]),
                by_first: firsts
                    .iter()
                    .map(|(c, l)| (*c, merged(&[&generic, &any, l])))
                    .collect(),
            })
            .collect();
        let service_mask = by_service.iter().fold(0, |m, b| {
            m | service_bit(service_hash(b.service.as_bytes()))
        });
        CompiledPolicy {
            id: id.into(),
            policy_type: ty,
            version: doc.version,
            statements: statements.into(),
            by_service,
            generic: generic.into(),
            service_mask,
            condition_keys: keys.into(),
        }
    }

    /// Parse, validate for `ty` and compile. Returns the findings on any validation error.
    pub fn from_json(
        src: &str,
        ty: PolicyType,
        id: impl Into<Box<str>>,
    ) -> Result<Self, Vec<crate::Finding>> {
        let doc = crate::model::parse(src).map_err(|f| vec![f.with_code(ty.error_code())])?;
        let findings = crate::validate::validate_document(&doc, ty);
        if !findings.is_empty() {
            return Err(findings);
        }
        Ok(Self::compile(&doc, ty, id))
    }

    /// The identifier given at compile time.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The policy type it was compiled as.
    pub fn policy_type(&self) -> PolicyType {
        self.policy_type
    }

    /// Language version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Number of statements.
    pub fn statement_count(&self) -> usize {
        self.statements.len()
    }

    /// Condition keys referenced by the policy (condition keys and policy-variable names), as
    /// written (variables lowercased), deduplicated case-insensitively, in document order.
    /// This is what GetContextKeysForPolicy reports.
    pub fn condition_keys(&self) -> impl Iterator<Item = &str> {
        self.condition_keys.iter().map(|k| &**k)
    }

    /// Whether a decision against this policy may read the request's context: it has
    /// a condition or a policy variable (in a resource or a condition value). Nothing
    /// else in a policy consults the context.
    pub fn reads_context(&self) -> bool {
        !self.condition_keys.is_empty()
    }

    /// True when no statement can match an action of the service whose
    /// [`service_hash`] is given (no bucket may hold it and no statement is generic).
    #[inline]
    pub(crate) fn cannot_name(&self, hash: u32) -> bool {
        self.service_mask & service_bit(hash) == 0 && self.generic.is_empty()
    }

    /// Statement indices that may match an action of `service` (lowercase unless `ci`) whose
    /// name starts with `first` (lowercase), ascending.
    #[inline]
    pub(crate) fn candidates(&self, service: &[u8], first: Option<u8>, ci: bool) -> &[u32] {
        let bucket = self.by_service.iter().find(|b| {
            if ci {
                b.service.as_bytes().eq_ignore_ascii_case(service)
            } else {
                eq_bytes(b.service.as_bytes(), service)
            }
        });
        match bucket {
            None => &self.generic,
            Some(b) => first
                .and_then(|c| b.by_first.iter().find(|(k, _)| *k == c))
                .map_or(&b.rest, |(_, l)| l),
        }
    }
}

/// Equality of resolved literal pieces (all `Text`) with `text`, Unicode-lowercasing `text`.
pub(crate) fn eq_pieces_lower(pieces: &[Piece<'_>], text: &str) -> bool {
    let mut lhs = pieces
        .iter()
        .flat_map(|p| match p {
            Piece::Text(t) => t.chars(),
            _ => "".chars(),
        })
        .flat_map(char::to_lowercase);
    let mut rhs = text.chars().flat_map(char::to_lowercase);
    loop {
        match (lhs.next(), rhs.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// Exact equality of resolved pieces with `text` (literal pieces only).
pub(crate) fn eq_pieces(pieces: &[Piece<'_>], text: &str) -> bool {
    match_pieces(pieces, text, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_depends_only_on_the_prefix() {
        let t = b"abcdefghijkl";
        for len in 1..=8 {
            let h = prefix_hash(t, len);
            assert_eq!(prefix_hash(&t[..len], len), h, "len {len}");
            assert_eq!(prefix_hash(&t[..len.max(8).min(t.len())], len), h);
        }
        assert_ne!(prefix_hash(b"data-0/", 7), prefix_hash(b"data-9/", 7));
    }

    #[test]
    fn request_arn_parts() {
        let a = ReqArn::new("arn:aws:iam::123456789012:user/a:b");
        assert_eq!(a.tail(), b"user/a:b");
        assert_eq!(
            a.split(),
            Some((["arn", "aws", "iam", "", "123456789012"], 26))
        );
        let s3 = ReqArn::new("arn:aws:s3:::b/k");
        assert_eq!(s3.tail(), b"b/k");
        assert_eq!(s3.split(), Some((["arn", "aws", "s3", "", ""], 13)));
        let short = ReqArn::new("arn:aws:s3");
        assert_eq!(short.tail(), b"");
        assert_eq!(short.split(), None);
    }

    #[test]
    fn nth_colon_agrees_with_a_byte_scan() {
        let texts = [
            "arn:aws:s3:::houdini/x",
            "arn:aws:iam::123456789012:user/alice",
            "a:b:c:d",
            ":::::",
            "::::::::::::::::::::",
            "arn:aws-cn:s3:::b:c:d/é:x",
            "",
            "no colons at all in this long text",
        ];
        for t in texts {
            for n in 1..8 {
                let slow = t
                    .bytes()
                    .enumerate()
                    .filter(|(_, c)| *c == b':')
                    .nth(n as usize - 1)
                    .map(|(i, _)| i + 1);
                assert_eq!(after_nth_colon(t.as_bytes(), n), slow, "{t:?} n={n}");
            }
        }
    }

    #[test]
    fn service_mask_only_skips_scans_that_find_nothing() {
        let src = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":["iam:Get*","s3:List*"],"Resource":"*"},
            {"Effect":"Allow","Action":"S3-Object-Lambda:Get*","Resource":"*"},
            {"Effect":"Deny","Action":"sqs:*","Resource":"*"}]}"#;
        let with_generic = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"iam:GetUser","Resource":"*"},
            {"Effect":"Allow","NotAction":"s3:*","Resource":"*"}]}"#;
        for src in [src, with_generic] {
            let p = CompiledPolicy::from_json(src, PolicyType::Inline, "p").unwrap();
            for service in [
                "iam",
                "IAM",
                "s3",
                "S3",
                "s3-object-lambda",
                "sqs",
                "sts",
                "ec2",
                "",
                "x",
            ] {
                for first in [None, Some(b'g'), Some(b'l'), Some(b'z')] {
                    for ci in [false, true] {
                        // the scan the mask stands in front of
                        let h = service_hash(service.as_bytes());
                        let found = p.candidates(service.as_bytes(), first, ci);
                        // the plain scan the mask and hashes stand in front of
                        let lower = service.to_ascii_lowercase();
                        let scan = p
                            .by_service
                            .iter()
                            .find(|b| {
                                if ci {
                                    *b.service == *lower
                                } else {
                                    *b.service == *service
                                }
                            })
                            .map_or(&p.generic, |b| {
                                first
                                    .and_then(|c| b.by_first.iter().find(|(k, _)| *k == c))
                                    .map_or(&b.rest, |(_, l)| l)
                            });
                        assert_eq!(found, &scan[..], "{service} {first:?} {ci}");
                        if p.cannot_name(h) {
                            assert!(found.is_empty(), "{service}");
                        }
                    }
                }
            }
        }
        assert_eq!(service_hash(b"IAM"), service_hash(b"iam"));
    }
}
