//! Typed policy model and the structural parser (validation stage 1, `Syntax errors in policy.`).

use crate::json::{self, Json, JsonKind};
#[cfg(test)]
use crate::MSG_SYNTAX;
use crate::{Finding, Pos, Span};

/// Policy language version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// `2012-10-17`: policy variables are substituted.
    V2012_10_17,
    /// `2008-10-17`: `${...}` is literal text.
    V2008_10_17,
    /// No `Version` member: treated as 2008-10-17.
    Absent,
}

impl Version {
    /// Whether `${...}` policy variables are expanded.
    pub fn expands_variables(self) -> bool {
        self == Version::V2012_10_17
    }
}

/// Statement effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    Allow,
    Deny,
}

/// A string with the span of its JSON literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned {
    pub value: String,
    pub span: Span,
}

/// `Action`/`NotAction` or `Resource`/`NotResource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringList {
    /// `NotAction` / `NotResource`.
    pub not: bool,
    pub items: Vec<Spanned>,
    pub span: Span,
}

/// Kind of principal entry key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKey {
    Aws,
    Service,
    Federated,
    CanonicalUser,
}

/// `Principal` / `NotPrincipal` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalSpec {
    /// `"*"`
    Any,
    /// `{ "AWS": [...], "Service": [...], ... }`
    Map(Vec<(PrincipalKey, Vec<Spanned>)>),
}

/// Principal element with its polarity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalElement {
    /// `NotPrincipal`.
    pub not: bool,
    pub spec: PrincipalSpec,
    pub span: Span,
}

/// Condition operator (without qualifier / IfExists).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(
    missing_docs,
    reason = "the variants are the AWS condition operator names"
)]
pub enum Operator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

impl Operator {
    /// All operators.
    pub const ALL: [Operator; 27] = [
        Operator::StringEquals,
        Operator::StringNotEquals,
        Operator::StringEqualsIgnoreCase,
        Operator::StringNotEqualsIgnoreCase,
        Operator::StringLike,
        Operator::StringNotLike,
        Operator::NumericEquals,
        Operator::NumericNotEquals,
        Operator::NumericLessThan,
        Operator::NumericLessThanEquals,
        Operator::NumericGreaterThan,
        Operator::NumericGreaterThanEquals,
        Operator::DateEquals,
        Operator::DateNotEquals,
        Operator::DateLessThan,
        Operator::DateLessThanEquals,
        Operator::DateGreaterThan,
        Operator::DateGreaterThanEquals,
        Operator::Bool,
        Operator::BinaryEquals,
        Operator::IpAddress,
        Operator::NotIpAddress,
        Operator::ArnEquals,
        Operator::ArnLike,
        Operator::ArnNotEquals,
        Operator::ArnNotLike,
        Operator::Null,
    ];

    /// AWS name.
    pub fn name(self) -> &'static str {
        use Operator::*;
        match self {
            StringEquals => "StringEquals",
            StringNotEquals => "StringNotEquals",
            StringEqualsIgnoreCase => "StringEqualsIgnoreCase",
            StringNotEqualsIgnoreCase => "StringNotEqualsIgnoreCase",
            StringLike => "StringLike",
            StringNotLike => "StringNotLike",
            NumericEquals => "NumericEquals",
            NumericNotEquals => "NumericNotEquals",
            NumericLessThan => "NumericLessThan",
            NumericLessThanEquals => "NumericLessThanEquals",
            NumericGreaterThan => "NumericGreaterThan",
            NumericGreaterThanEquals => "NumericGreaterThanEquals",
            DateEquals => "DateEquals",
            DateNotEquals => "DateNotEquals",
            DateLessThan => "DateLessThan",
            DateLessThanEquals => "DateLessThanEquals",
            DateGreaterThan => "DateGreaterThan",
            DateGreaterThanEquals => "DateGreaterThanEquals",
            Bool => "Bool",
            BinaryEquals => "BinaryEquals",
            IpAddress => "IpAddress",
            NotIpAddress => "NotIpAddress",
            ArnEquals => "ArnEquals",
            ArnLike => "ArnLike",
            ArnNotEquals => "ArnNotEquals",
            ArnNotLike => "ArnNotLike",
            Null => "Null",
        }
    }

    /// Parse a base operator name (case-sensitive).
    pub fn from_name(s: &str) -> Option<Operator> {
        Operator::ALL.iter().copied().find(|o| o.name() == s)
    }

    /// Negated operators: the value list behaves as AND ("matches none").
    pub fn negated(self) -> bool {
        use Operator::*;
        matches!(
            self,
            StringNotEquals
                | StringNotEqualsIgnoreCase
                | StringNotLike
                | NumericNotEquals
                | DateNotEquals
                | NotIpAddress
                | ArnNotEquals
                | ArnNotLike
        )
    }

    /// Whether `${...}` variables are expanded in this operator's values (String*, Arn*, and
    /// Bool — the docs conflict on Bool; we allow it).
    pub fn takes_variables(self) -> bool {
        use Operator::*;
        matches!(
            self,
            Bool | StringEquals
                | StringNotEquals
                | StringEqualsIgnoreCase
                | StringNotEqualsIgnoreCase
                | StringLike
                | StringNotLike
                | ArnEquals
                | ArnLike
                | ArnNotEquals
                | ArnNotLike
        )
    }

    /// Date family.
    pub fn is_date(self) -> bool {
        self.name().starts_with("Date")
    }
}

/// Set qualifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Qualifier {
    ForAnyValue,
    ForAllValues,
}

/// One condition key with its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionEntry {
    /// Key as written.
    pub key: String,
    /// Values normalised to strings.
    pub values: Vec<Spanned>,
    pub span: Span,
}

/// One operator block, e.g. `"ForAnyValue:StringLikeIfExists": {...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionBlock {
    /// Operator name as written.
    pub name: String,
    pub qualifier: Option<Qualifier>,
    pub operator: Operator,
    pub if_exists: bool,
    pub entries: Vec<ConditionEntry>,
    pub span: Span,
}

/// One statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Index in the document (0-based).
    pub index: usize,
    pub sid: Option<Spanned>,
    pub effect: Effect,
    /// The `Effect` text was a case variant (`allow`): fails AWS legacy parsing.
    pub effect_case_variant: bool,
    pub effect_span: Span,
    pub principal: Option<PrincipalElement>,
    pub action: Option<StringList>,
    pub resource: Option<StringList>,
    pub conditions: Vec<ConditionBlock>,
    /// Names of the `Condition` operator blocks that were unknown but empty (ignored).
    pub ignored_operators: Vec<String>,
    pub span: Span,
}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    pub version: Version,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
    pub span: Span,
    pub version_span: Option<Span>,
}

fn syntax(at: Pos, detail: impl Into<String>) -> Finding {
    Finding::syntax(at, detail.into())
}

fn span_of(j: &Json) -> Span {
    Span {
        start: j.start,
        end: j.end,
    }
}

/// Parse a policy document from bytes (must be UTF-8).
pub fn parse_bytes(src: &[u8]) -> Result<PolicyDocument, Finding> {
    match std::str::from_utf8(src) {
        Ok(s) => parse(s),
        Err(e) => {
            // locate the bad byte for a useful position
            let good = src.get(..e.valid_up_to()).unwrap_or(&[]);
            let line = 1 + good.iter().filter(|&&b| b == b'\n').count();
            let last_nl = good.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            let col = good
                .get(last_nl..)
                .map_or(0, |l| l.iter().filter(|&&b| (b & 0xC0) != 0x80).count())
                + 1;
            Err(syntax(
                Pos {
                    line: u32::try_from(line).unwrap_or(u32::MAX),
                    column: u32::try_from(col).unwrap_or(u32::MAX),
                },
                "document is not valid UTF-8",
            ))
        }
    }
}

/// Parse a policy document. Structural errors (JSON syntax, duplicate keys, unknown members,
/// wrong JSON types, unknown non-empty condition operators) yield `Syntax errors in policy.`.
pub fn parse(src: &str) -> Result<PolicyDocument, Finding> {
    let root = json::parse(src).map_err(|e| syntax(e.pos, e.message))?;
    let JsonKind::Object(members) = &root.kind else {
        return Err(syntax(root.start, "policy document must be a JSON object"));
    };
    let mut version = Version::Absent;
    let mut version_span = None;
    let mut id = None;
    let mut stmt_json: Option<&Json> = None;
    for (k, v) in members {
        match k.as_str() {
            "Version" => {
                version = match v.as_str() {
                    Some("2012-10-17") => Version::V2012_10_17,
                    Some("2008-10-17") => Version::V2008_10_17,
                    _ => {
                        return Err(syntax(
                            v.start,
                            "Version must be \"2012-10-17\" or \"2008-10-17\"",
                        ))
                    }
                };
                version_span = Some(span_of(v));
            }
            "Id" => match v.as_str() {
                Some(s) => id = Some(s.to_string()),
                None => return Err(syntax(v.start, "Id must be a string")),
            },
            "Statement" => stmt_json = Some(v),
            other => {
                return Err(syntax(
                    v.start,
                    format!("unknown top-level member \"{other}\""),
                ))
            }
        }
    }
    let Some(sj) = stmt_json else {
        return Err(syntax(root.start, "missing Statement"));
    };
    let stmt_values: Vec<&Json> = match &sj.kind {
        JsonKind::Object(_) => vec![sj],
        JsonKind::Array(a) if !a.is_empty() => a.iter().collect(),
        JsonKind::Array(_) => return Err(syntax(sj.start, "Statement must not be empty")),
        _ => return Err(syntax(sj.start, "Statement must be an object or an array")),
    };
    let mut statements = Vec::with_capacity(stmt_values.len());
    for (index, sv) in stmt_values.into_iter().enumerate() {
        statements.push(parse_statement(index, sv)?);
    }
    Ok(PolicyDocument {
        version,
        id,
        statements,
        span: span_of(&root),
        version_span,
    })
}

fn string_list(v: &Json, not: bool, what: &str) -> Result<StringList, Finding> {
    let items = match &v.kind {
        JsonKind::String(s) => vec![Spanned {
            value: s.clone(),
            span: span_of(v),
        }],
        JsonKind::Array(a) => {
            let mut out = Vec::with_capacity(a.len());
            for item in a {
                match &item.kind {
                    JsonKind::String(s) => out.push(Spanned {
                        value: s.clone(),
                        span: span_of(item),
                    }),
                    _ => {
                        return Err(syntax(
                            item.start,
                            format!("{what} entries must be strings"),
                        ))
                    }
                }
            }
            out
        }
        _ => {
            return Err(syntax(
                v.start,
                format!("{what} must be a string or an array of strings"),
            ))
        }
    };
    Ok(StringList {
        not,
        items,
        span: span_of(v),
    })
}

fn parse_principal(v: &Json, not: bool) -> Result<PrincipalElement, Finding> {
    let spec = match &v.kind {
        JsonKind::String(s) if s == "*" => PrincipalSpec::Any,
        JsonKind::Object(m) => {
            let mut out = Vec::new();
            for (k, val) in m {
                let key = match k.as_str() {
                    "AWS" => PrincipalKey::Aws,
                    "Service" => PrincipalKey::Service,
                    "Federated" => PrincipalKey::Federated,
                    "CanonicalUser" => PrincipalKey::CanonicalUser,
                    other => {
                        return Err(syntax(
                            val.start,
                            format!("unknown principal type \"{other}\""),
                        ))
                    }
                };
                let list = string_list(val, false, "Principal")?;
                out.push((key, list.items));
            }
            // {"AWS":"*"} is "*"
            let only_any = out.len() == 1
                && out.iter().all(|(k, vals)| {
                    *k == PrincipalKey::Aws
                        && vals.len() == 1
                        && vals.iter().all(|s| s.value == "*")
                });
            if only_any {
                PrincipalSpec::Any
            } else {
                PrincipalSpec::Map(out)
            }
        }
        _ => return Err(syntax(v.start, "Principal must be \"*\" or an object")),
    };
    Ok(PrincipalElement {
        not,
        spec,
        span: span_of(v),
    })
}

/// Split an operator name into (qualifier, operator, if_exists).
pub fn parse_operator_name(name: &str) -> Option<(Option<Qualifier>, Operator, bool)> {
    let (q, rest) = if let Some(r) = name.strip_prefix("ForAnyValue:") {
        (Some(Qualifier::ForAnyValue), r)
    } else if let Some(r) = name.strip_prefix("ForAllValues:") {
        (Some(Qualifier::ForAllValues), r)
    } else {
        (None, name)
    };
    let (base, ifx) = match rest.strip_suffix("IfExists") {
        Some(b) => (b, true),
        None => (rest, false),
    };
    let op = Operator::from_name(base)?;
    if op == Operator::Null && ifx {
        return None;
    }
    Some((q, op, ifx))
}

fn scalar_text(v: &Json) -> Option<String> {
    match &v.kind {
        JsonKind::String(s) => Some(s.clone()),
        JsonKind::Bool(b) => Some(b.to_string()),
        JsonKind::Number(n) => Some(n.clone()),
        _ => None,
    }
}

fn parse_conditions(v: &Json) -> Result<(Vec<ConditionBlock>, Vec<String>), Finding> {
    let JsonKind::Object(ops) = &v.kind else {
        return Err(syntax(v.start, "Condition must be an object"));
    };
    let mut blocks = Vec::new();
    let mut ignored = Vec::new();
    for (name, block) in ops {
        let JsonKind::Object(keys) = &block.kind else {
            return Err(syntax(
                block.start,
                "condition operator block must be an object",
            ));
        };
        let Some((qualifier, operator, if_exists)) = parse_operator_name(name) else {
            if keys.is_empty() {
                ignored.push(name.clone());
                continue;
            }
            return Err(syntax(
                block.start,
                format!("unknown condition operator \"{name}\""),
            ));
        };
        let mut entries = Vec::with_capacity(keys.len());
        for (key, val) in keys {
            let values = match &val.kind {
                JsonKind::Array(items) => {
                    let mut out = Vec::with_capacity(items.len());
                    for it in items {
                        match scalar_text(it) {
                            Some(s) => out.push(Spanned {
                                value: s,
                                span: span_of(it),
                            }),
                            None => {
                                return Err(syntax(
                                    it.start,
                                    "condition values must be strings, booleans or numbers",
                                ))
                            }
                        }
                    }
                    out
                }
                _ => match scalar_text(val) {
                    Some(s) => vec![Spanned {
                        value: s,
                        span: span_of(val),
                    }],
                    None => {
                        return Err(syntax(
                            val.start,
                            "condition values must be strings, booleans or numbers",
                        ))
                    }
                },
            };
            entries.push(ConditionEntry {
                key: key.clone(),
                values,
                span: span_of(val),
            });
        }
        blocks.push(ConditionBlock {
            name: name.clone(),
            qualifier,
            operator,
            if_exists,
            entries,
            span: span_of(block),
        });
    }
    Ok((blocks, ignored))
}

fn parse_statement(index: usize, sv: &Json) -> Result<Statement, Finding> {
    let JsonKind::Object(members) = &sv.kind else {
        return Err(syntax(sv.start, "each statement must be an object"));
    };
    let mut sid = None;
    let mut effect = None;
    let mut principal: Option<PrincipalElement> = None;
    let mut action: Option<StringList> = None;
    let mut resource: Option<StringList> = None;
    let mut conditions = Vec::new();
    let mut ignored = Vec::new();
    for (k, v) in members {
        match k.as_str() {
            "Sid" => match v.as_str() {
                Some(s) => {
                    sid = Some(Spanned {
                        value: s.to_string(),
                        span: span_of(v),
                    })
                }
                None => return Err(syntax(v.start, "Sid must be a string")),
            },
            "Effect" => {
                let Some(s) = v.as_str() else {
                    return Err(syntax(v.start, "Effect must be a string"));
                };
                let (e, variant) = match s {
                    "Allow" => (Effect::Allow, false),
                    "Deny" => (Effect::Deny, false),
                    _ if s.eq_ignore_ascii_case("allow") => (Effect::Allow, true),
                    _ if s.eq_ignore_ascii_case("deny") => (Effect::Deny, true),
                    _ => return Err(syntax(v.start, "Effect must be \"Allow\" or \"Deny\"")),
                };
                effect = Some((e, variant, span_of(v)));
            }
            "Principal" | "NotPrincipal" => {
                if principal.is_some() {
                    return Err(syntax(
                        v.start,
                        "Principal and NotPrincipal are mutually exclusive",
                    ));
                }
                principal = Some(parse_principal(v, k == "NotPrincipal")?);
            }
            "Action" | "NotAction" => {
                if action.is_some() {
                    return Err(syntax(
                        v.start,
                        "Action and NotAction are mutually exclusive",
                    ));
                }
                action = Some(string_list(v, k == "NotAction", k)?);
            }
            "Resource" | "NotResource" => {
                if resource.is_some() {
                    return Err(syntax(
                        v.start,
                        "Resource and NotResource are mutually exclusive",
                    ));
                }
                resource = Some(string_list(v, k == "NotResource", k)?);
            }
            "Condition" => {
                let (b, ig) = parse_conditions(v)?;
                conditions = b;
                ignored = ig;
            }
            other => {
                return Err(syntax(
                    v.start,
                    format!("unknown statement member \"{other}\""),
                ))
            }
        }
    }
    let Some((effect, effect_case_variant, effect_span)) = effect else {
        return Err(syntax(sv.start, "statement has no Effect"));
    };
    Ok(Statement {
        index,
        sid,
        effect,
        effect_case_variant,
        effect_span,
        principal,
        action,
        resource,
        conditions,
        ignored_operators: ignored,
        span: span_of(sv),
    })
}

/// Size of a policy document in characters, not counting whitespace outside string literals
/// (docs/policy-semantics.md §1.7: IAM counts "characters excluding whitespace";
/// whitespace inside strings counts).
pub fn size_without_whitespace(doc: &str) -> usize {
    let mut n = 0usize;
    let mut in_str = false;
    let mut escaped = false;
    for c in doc.chars() {
        if in_str {
            n += 1;
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
        } else if c == '"' {
            in_str = true;
            n += 1;
        } else if !c.is_whitespace() {
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_basic() {
        let d = parse(
            r#"{"Version":"2012-10-17","Statement":{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"ForAnyValue:StringLikeIfExists":{"s3:prefix":["a",1,true]}}}}"#,
        )
        .unwrap();
        assert_eq!(d.version, Version::V2012_10_17);
        let s = &d.statements[0];
        assert_eq!(s.conditions[0].qualifier, Some(Qualifier::ForAnyValue));
        assert!(s.conditions[0].if_exists);
        assert_eq!(s.conditions[0].entries[0].values[2].value, "true");
    }

    #[test]
    fn syntax_errors() {
        for bad in [
            "[]",
            r#"{"Statement":[]}"#,
            r#"{"Statement":["x"]}"#,
            r#"{"Version":"2012-10-17"}"#,
            r#"{"Statement":{"Effect":"Permit","Action":"*","Resource":"*"}}"#,
            r#"{"Statement":{"effect":"Allow","Action":"*","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"*","NotAction":[],"Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":{},"Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"x":{"a":"1"}}}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NullIfExists":{"a":"1"}}}}"#,
            r#"{"Extra field":1,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.message, MSG_SYNTAX, "{bad}");
        }
        assert!(parse_bytes(b"{\"a\":\"\xff\"}").is_err());
    }

    #[test]
    fn size() {
        assert_eq!(size_without_whitespace("{ \"a b\" : 1 }\n"), 9);
    }
}
