#!/usr/bin/env python3
"""Generates the JSON case files in this directory (run from anywhere; writes beside itself).

The expectations are written by hand from docs/policy-semantics.md (§7 table, §3.3 truth table);
the operator matrix computes its expectations with an independent, tiny Python model of §3.3.
The generated JSON files are committed; tests/corpus.rs reads only the JSON.
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
A = "111111111111"
B = "222222222222"
ALICE = f"arn:aws:iam::{A}:user/alice"
BOB = f"arn:aws:iam::{A}:user/bob"
BOB_B = f"arn:aws:iam::{B}:user/bob"
ROLE = f"arn:aws:iam::{A}:role/R"
SESSION = f"arn:aws:sts::{A}:assumed-role/R/s"
ROOT_A = f"arn:aws:iam::{A}:root"


def doc(*stmts, version="2012-10-17"):
    d = {}
    if version:
        d["Version"] = version
    d["Statement"] = list(stmts)
    return d


def st(effect, action=None, resource=None, **kw):
    s = {"Effect": effect}
    if "sid" in kw:
        s["Sid"] = kw.pop("sid")
    if "principal" in kw:
        s["Principal"] = kw.pop("principal")
    if "not_principal" in kw:
        s["NotPrincipal"] = kw.pop("not_principal")
    if action is not None:
        s["Action"] = action
    if "not_action" in kw:
        s["NotAction"] = kw.pop("not_action")
    if resource is not None:
        s["Resource"] = resource
    if "not_resource" in kw:
        s["NotResource"] = kw.pop("not_resource")
    if "condition" in kw:
        s["Condition"] = kw.pop("condition")
    assert not kw, kw
    return s


def allow(action=None, resource=None, **kw):
    return st("Allow", action, resource, **kw)


def deny(action=None, resource=None, **kw):
    return st("Deny", action, resource, **kw)


def pol(kind, d, pid=None, ptype=None):
    p = {"kind": kind, "doc": d}
    if pid:
        p["id"] = pid
    if ptype:
        p["type"] = ptype
    return p


def ID(d, pid=None):
    return pol("identity", d, pid)


def RP(d, pid="bucket-policy"):
    return pol("resource", d, pid)


def req(caller, action, resource, expect, **kw):
    r = {"caller": caller, "action": action, "resource": resource, "expect": expect}
    r.update(kw)
    return r


def case(num, name, policies, requests, **kw):
    c = {"name": f"s7-{num:02d} {name}" if isinstance(num, int) else f"{num} {name}",
         "policies": policies, "requests": requests}
    c.update(kw)
    return c


OBJ = "arn:aws:s3:::b/k"
BKT = "arn:aws:s3:::b"


def cond_case(num, name, condition, requests, effect="Allow", action="s3:GetObject"):
    """Allow (or Deny + Allow *) with one condition; requests list of (caller, ctx, expect)."""
    if effect == "Allow":
        p = [ID(doc(allow(action, "*", condition=condition)), "p")]
    else:
        p = [ID(doc(allow("*", "*"), deny(action, "*", condition=condition)), "p")]
    return case(num, name, p, [req(c, action, OBJ, e, context=ctx) for (c, ctx, e) in requests])


def section7():
    cases = []
    add = cases.append
    add(case(1, "basic", [ID(doc(allow("s3:GetObject", "arn:aws:s3:::b/*")), "p1")],
             [req("alice", "s3:GetObject", OBJ, "ALLOW",
                  deciding={"kind": "identity", "policy": "p1", "statement": 0})]))
    add(case(2, "action case-insensitive", [ID(doc(allow("S3:getobject", "*")))],
             [req("alice", "s3:GetObject", OBJ, "ALLOW")]))
    add(case(3, "glob on name", [ID(doc(allow("s3:Get*", "*")))],
             [req("alice", "s3:PutObject", OBJ, "IMPLICIT", reason="NoIdentityAllow")]))
    add(case(4, "? is one char", [ID(doc(allow("s3:GetObjec?", "*")))],
             [req("alice", "s3:GetObject", OBJ, "ALLOW"),
              req("alice", "s3:GetObjectAcl", OBJ, "IMPLICIT")]))
    add(case(5, "no trimming", [ID(doc(allow("s3:GetObject ", "*")))],
             [req("alice", "s3:GetObject", OBJ, "IMPLICIT")]))
    add(case(6, "deny wins across policies",
             [ID(doc(allow("*", "*")), "ID"), ID(doc(deny("s3:DeleteObject", "*", sid="NoDelete")), "ID2")],
             [req("alice", "s3:DeleteObject", OBJ, "EXPLICIT",
                  deciding={"kind": "identity", "policy": "ID2", "statement": 0, "sid": "NoDelete"},
                  matched=[["identity", "ID", 0], ["identity", "ID2", 0]],
                  message=f"User: {ALICE} is not authorized to perform: s3:DeleteObject on resource: {OBJ} with an explicit deny in an identity-based policy")]))
    add(case(7, "NotAction spans services", [ID(doc(allow(None, "*", not_action="iam:*")))],
             [req("alice", "iam:CreateUser", f"arn:aws:iam::{A}:user/x", "IMPLICIT"),
              req("alice", "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{A}:q", "ALLOW")]))
    add(case(8, "NotResource", [ID(doc(allow("s3:*", "*"), deny("s3:*", None, not_resource=["arn:aws:s3:::hr/pay/*"])), "p")],
             [req("alice", "s3:GetObject", "arn:aws:s3:::hr/pay/x", "ALLOW",
                  deciding={"kind": "identity", "policy": "p", "statement": 0}),
              req("alice", "s3:GetObject", "arn:aws:s3:::hr/other", "EXPLICIT",
                  deciding={"kind": "identity", "policy": "p", "statement": 1})]))
    add(case(9, "* spans / in part 6", [ID(doc(allow("s3:GetObject", "arn:aws:s3:::b/*/test/*")))],
             [req("alice", "s3:GetObject", "arn:aws:s3:::b/1/2/test/x", "ALLOW"),
              req("alice", "s3:GetObject", "arn:aws:s3:::b//test/x", "ALLOW"),
              req("alice", "s3:GetObject", "arn:aws:s3:::b/1/test/", "ALLOW"),
              req("alice", "s3:GetObject", "arn:aws:s3:::b/test/x", "IMPLICIT")]))
    add(case(10, "part-6 glob gotcha", [ID(doc(allow("s3:*", "arn:aws:s3:::b*")))],
             [req("alice", "s3:GetObject", OBJ, "ALLOW"),
              req("alice", "s3:ListBucket", "arn:aws:s3:::b2", "ALLOW")]))
    add(case(11, "ListBucket needs bucket ARN", [ID(doc(allow("s3:ListBucket", "arn:aws:s3:::b/*")))],
             [req("alice", "s3:ListBucket", BKT, "IMPLICIT")]))
    add(case(12, "object ARN needed", [ID(doc(allow("s3:GetObject", BKT)))],
             [req("alice", "s3:GetObject", OBJ, "IMPLICIT")]))
    add(case("s7-13a", "wildcard-only action, specific ARN", [ID(doc(allow("s3:ListAllMyBuckets", BKT)))],
             [req("alice", "s3:ListAllMyBuckets", "WILDCARD", "IMPLICIT")]))
    add(case("s7-13b", "wildcard-only action, *", [ID(doc(allow("s3:ListAllMyBuckets", "*")))],
             [req("alice", "s3:ListAllMyBuckets", "WILDCARD", "ALLOW")]))
    add(case("s7-13c", "wildcard-only action, arn:aws:s3:::*", [ID(doc(allow("s3:ListAllMyBuckets", "arn:aws:s3:::*")))],
             [req("alice", "s3:ListAllMyBuckets", "WILDCARD", "ALLOW"),
              req("alice", "s3:ListAllMyBuckets", "WILDCARD", "ALLOW")]))
    add(case("s7-13d", "wildcard-only action, other service ARN", [ID(doc(allow("*", f"arn:aws:iam::{A}:*")))],
             [req("alice", "s3:ListAllMyBuckets", "WILDCARD", "IMPLICIT")]))
    add(case("s7-13e", "wildcard-only action, NotResource", [ID(doc(allow("s3:*", None, not_resource=BKT)))],
             [req("alice", "s3:ListAllMyBuckets", "WILDCARD", "ALLOW")]))
    add(case("s7-13f", "wildcard-only action, NotResource *", [ID(doc(allow("s3:*", None, not_resource="*")))],
             [req("alice", "s3:ListAllMyBuckets", "WILDCARD", "IMPLICIT")]))
    add(case(14, "copy needs both",
             [ID(doc(allow("s3:GetObject", "arn:aws:s3:::b/src/*"), allow("s3:PutObject", "arn:aws:s3:::b/dst/*")))],
             [req("alice", "s3:GetObject", "arn:aws:s3:::b/src/a", "ALLOW"),
              req("alice", "s3:PutObject", "arn:aws:s3:::b/dst/a", "ALLOW"),
              req("alice", "s3:GetObject", "arn:aws:s3:::b/x", "IMPLICIT")]))
    add(case(15, "path in ARN", [ID(doc(allow("iam:CreateUser", f"arn:aws:iam::{A}:user/eng/*")))],
             [req("alice", "iam:CreateUser", f"arn:aws:iam::{A}:user/eng/carol", "ALLOW"),
              req("alice", "iam:CreateUser", f"arn:aws:iam::{A}:user/carol", "IMPLICIT")]))
    add(case(16, "resource is the group", [ID(doc(allow("iam:AddUserToGroup", f"arn:aws:iam::{A}:user/*")))],
             [req("alice", "iam:AddUserToGroup", f"arn:aws:iam::{A}:group/devs", "IMPLICIT")]))
    p17 = allow("iam:*AccessKey*", f"arn:aws:iam::{A}:user/${{aws:username}}")
    add(case(17, "variable in Resource", [ID(doc(p17))],
             [req("alice", "iam:CreateAccessKey", f"arn:aws:iam::{A}:user/alice", "ALLOW"),
              req("alice", "iam:CreateAccessKey", f"arn:aws:iam::{A}:user/bob", "IMPLICIT")]))
    add(case(18, "${..} literal in 2008 (absent Version)", [ID(doc(p17, version=None))],
             [req("alice", "iam:CreateAccessKey", f"arn:aws:iam::{A}:user/alice", "IMPLICIT"),
              req("alice", "iam:CreateAccessKey", f"arn:aws:iam::{A}:user/${{aws:username}}", "ALLOW")]))
    add(case("s7-18b", "${..} literal in 2008-10-17", [ID(doc(p17, version="2008-10-17"))],
             [req("alice", "iam:CreateAccessKey", f"arn:aws:iam::{A}:user/alice", "IMPLICIT"),
              req("alice", "iam:CreateAccessKey", f"arn:aws:iam::{A}:user/${{aws:username}}", "ALLOW")]))
    add(case(19, "aws:username absent for roles", [ID(doc(p17))],
             [req("session", "iam:CreateAccessKey", f"arn:aws:iam::{A}:user/alice", "IMPLICIT",
                  missing=["aws:username"])]))
    p20 = allow("s3:ListBucket", BKT, condition={"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}})
    add(case(20, "variable in condition; absent key", [ID(doc(p20))],
             [req("alice", "s3:ListBucket", BKT, "ALLOW", context={"s3:prefix": "home/alice/x"}),
              req("alice", "s3:ListBucket", BKT, "IMPLICIT", context={"s3:prefix": "home/bob/"}),
              req("alice", "s3:ListBucket", BKT, "IMPLICIT", missing=["s3:prefix"])]))
    add(case("s7-20b", "variable in condition, 2008 literal", [ID(doc(p20, version="2008-10-17"))],
             [req("alice", "s3:ListBucket", BKT, "IMPLICIT", context={"s3:prefix": "home/alice/x"}),
              req("alice", "s3:ListBucket", BKT, "ALLOW", context={"s3:prefix": "home/${aws:username}/x"})]))
    add(case(21, "default value", [ID(doc(allow("s3:GetObject", "arn:aws:s3:::b/${aws:PrincipalTag/team, 'shared'}/*")))],
             [req("alice", "s3:GetObject", "arn:aws:s3:::b/shared/x", "ALLOW"),
              req("alice", "s3:GetObject", "arn:aws:s3:::b/red/x", "ALLOW", context={"aws:PrincipalTag/team": "red"}),
              req("alice", "s3:GetObject", "arn:aws:s3:::b/shared/x", "IMPLICIT", context={"aws:PrincipalTag/team": "red"})]))
    add(case(22, "${*} literal star",
             [ID(doc(allow("s3:ListBucket", BKT, condition={"StringLike": {"s3:prefix": "a${*}b"}})))],
             [req("alice", "s3:ListBucket", BKT, "ALLOW", context={"s3:prefix": "a*b"}),
              req("alice", "s3:ListBucket", BKT, "IMPLICIT", context={"s3:prefix": "axb"})]))
    add(case("s7-22b", "${?} and ${$} literals",
             [ID(doc(allow("s3:ListBucket", BKT, condition={"StringEquals": {"s3:prefix": "${$}{x}${?}"}})))],
             [req("alice", "s3:ListBucket", BKT, "ALLOW", context={"s3:prefix": "${x}?"}),
              req("alice", "s3:ListBucket", BKT, "IMPLICIT", context={"s3:prefix": "${x}y"})]))
    add(case(23, "unresolvable in NotResource → NotResource applies",
             [ID(doc(allow("*", "*"), deny("s3:*", None, not_resource="arn:aws:s3:::b/${aws:PrincipalTag/team}/*")))],
             [req("alice", "s3:GetObject", "arn:aws:s3:::b/t/x", "EXPLICIT"),
              req("alice", "s3:GetObject", "arn:aws:s3:::b/t/x", "ALLOW", context={"aws:PrincipalTag/team": "t"})]))
    add(cond_case(24, "StringEquals case-sensitive", {"StringEquals": {"aws:username": "johndoe"}},
                  [("alice", {"aws:username": "JohnDoe"}, "IMPLICIT"), ("alice", {"aws:username": "johndoe"}, "ALLOW")]))
    add(cond_case(25, "StringEqualsIgnoreCase", {"StringEqualsIgnoreCase": {"aws:username": "johndoe"}},
                  [("alice", {"aws:username": "JohnDoe"}, "ALLOW")]))
    add(cond_case(26, "key name and tag key case-insensitive", {"StringEquals": {"AWS:PrincipalTag/DEPT": "x"}},
                  [("alice", {"aws:PrincipalTag/dept": "x"}, "ALLOW")]))
    add(cond_case(27, "absent → positive false", {"StringEquals": {"aws:username": "x"}},
                  [("session", {}, "IMPLICIT")]))
    add(cond_case(28, "absent → negated true",
                  {"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}},
                  [("alice", {}, "EXPLICIT"), ("alice", {"s3:x-amz-server-side-encryption": "AES256"}, "ALLOW")],
                  effect="Deny", action="s3:PutObject"))
    add(cond_case(29, "negated list = AND", {"StringNotEquals": {"aws:PrincipalTag/team": ["a", "b"]}},
                  [("alice", {"aws:PrincipalTag/team": "a"}, "IMPLICIT"), ("alice", {"aws:PrincipalTag/team": "c"}, "ALLOW")]))
    add(cond_case(30, "keys in one block AND", {"StringEquals": {"k1": "x", "k2": "y"}},
                  [("alice", {"k1": "x", "k2": "z"}, "IMPLICIT"), ("alice", {"k1": "x", "k2": "y"}, "ALLOW")]))
    add(cond_case(31, "IfExists", {"StringLikeIfExists": {"ec2:InstanceType": "t2.*"}},
                  [("alice", {}, "ALLOW"), ("alice", {"ec2:InstanceType": "t3.micro"}, "IMPLICIT"),
                   ("alice", {"ec2:InstanceType": "t2.micro"}, "ALLOW")]))
    add(cond_case(32, "IfExists + negated (Deny)", {"StringNotEqualsIfExists": {"aws:ResourceTag/env": "dev"}},
                  [("alice", {}, "EXPLICIT"), ("alice", {"aws:ResourceTag/env": "dev"}, "ALLOW"),
                   ("alice", {"aws:ResourceTag/env": "prod"}, "EXPLICIT")], effect="Deny"))
    add(case(33, "BoolIfExists MFA",
             [ID(doc(allow("*", "*"), deny(None, "*", not_action="iam:*",
                                           condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}})))],
             [req("alice", "s3:GetObject", OBJ, "EXPLICIT"),
              req("session", "s3:GetObject", OBJ, "ALLOW", context={"aws:MultiFactorAuthPresent": "true"}),
              req("session", "s3:GetObject", OBJ, "EXPLICIT", context={"aws:MultiFactorAuthPresent": "false"}),
              req("alice", "iam:ListUsers", "WILDCARD", "ALLOW")]))
    add(cond_case(34, "bool value normalization (JSON false)", {"Bool": {"aws:SecureTransport": False}},
                  [("alice", {"aws:SecureTransport": "false"}, "EXPLICIT"), ("alice", {"aws:SecureTransport": "true"}, "ALLOW")],
                  effect="Deny"))
    add(cond_case(35, "numeric parse", {"NumericLessThanEquals": {"s3:max-keys": "10"}},
                  [("alice", {"s3:max-keys": "10"}, "ALLOW"), ("alice", {"s3:max-keys": "11"}, "IMPLICIT"),
                   ("alice", {"s3:max-keys": "abc"}, "IMPLICIT")], action="s3:ListBucket"))
    add(cond_case(36, "ISO + epoch",
                  {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"},
                   "DateLessThan": {"aws:EpochTime": "4102444800"}},
                  [("alice", {}, "ALLOW"), ("alice", {"aws:CurrentTime": "2019-12-31T23:59:59Z"}, "IMPLICIT"),
                   ("alice", {"aws:EpochTime": "4102444800"}, "IMPLICIT")]))
    add(cond_case(37, "CIDR, family", {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}},
                  [("alice", {"aws:SourceIp": "203.0.113.7"}, "ALLOW"), ("alice", {"aws:SourceIp": "198.51.100.1"}, "IMPLICIT"),
                   ("alice", {"aws:SourceIp": "2001:db8::1"}, "IMPLICIT")]))
    add(cond_case(38, "bare IP = /32; cross-family", {"NotIpAddress": {"aws:SourceIp": "203.0.113.5"}},
                  [("alice", {"aws:SourceIp": "203.0.113.5"}, "IMPLICIT"), ("alice", {"aws:SourceIp": "2001:db8::1"}, "ALLOW"),
                   ("alice", {"aws:SourceIp": "203.0.113.6"}, "ALLOW")]))
    add(cond_case(39, "Null true", {"Null": {"aws:TokenIssueTime": "true"}},
                  [("alice", {}, "ALLOW"), ("session", {}, "IMPLICIT")]))
    add(cond_case(40, "Null false = present", {"Null": {"aws:TokenIssueTime": "false"}},
                  [("session", {}, "ALLOW"), ("alice", {}, "IMPLICIT")]))
    add(cond_case(41, "ForAllValues vacuous truth", {"ForAllValues:StringEquals": {"aws:TagKeys": ["Dept", "Cost"]}},
                  [("alice", {"aws:TagKeys": ["Dept"]}, "ALLOW"), ("alice", {"aws:TagKeys": ["Dept", "Owner"]}, "IMPLICIT"),
                   ("alice", {}, "ALLOW")]))
    add(cond_case(42, "ForAnyValue", {"ForAnyValue:StringEquals": {"aws:TagKeys": "Dept"}},
                  [("alice", {"aws:TagKeys": ["Owner", "Dept"]}, "ALLOW"), ("alice", {}, "IMPLICIT")]))
    add(cond_case(43, "ForAllValues:StringNotEquals", {"ForAllValues:StringNotEquals": {"aws:TagKeys": ["A", "B"]}},
                  [("alice", {"aws:TagKeys": ["X", "Y"]}, "ALLOW"), ("alice", {"aws:TagKeys": ["A", "X"]}, "IMPLICIT"),
                   ("alice", {}, "ALLOW")]))
    add(cond_case(44, "ForAnyValue:StringNotEquals", {"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["A", "B"]}},
                  [("alice", {"aws:TagKeys": ["A", "X"]}, "ALLOW"), ("alice", {"aws:TagKeys": ["A", "B"]}, "IMPLICIT"),
                   ("alice", {}, "IMPLICIT")]))
    add(cond_case(45, "multivalued key needs qualifier [?]", {"StringEquals": {"aws:TagKeys": "Dept"}},
                  [("alice", {"aws:TagKeys": ["Dept", "Owner"]}, "IMPLICIT"), ("alice", {"aws:TagKeys": ["Dept"]}, "ALLOW")]))
    src46 = "arn:aws:svc:us-east-2:999999999999:store/abc:111122223333:finance/d"
    add(cond_case("s7-46a", "ArnLike per-part", {"ArnLike": {"aws:SourceArn": "arn:aws:svc:*:111122223333:finance/*"}},
                  [("alice", {"aws:SourceArn": src46}, "IMPLICIT"),
                   ("alice", {"aws:SourceArn": "arn:aws:svc:us-east-2:111122223333:finance/d"}, "ALLOW")]))
    add(cond_case("s7-46b", "StringLike whole string", {"StringLike": {"aws:SourceArn": "arn:aws:svc:*:111122223333:finance/*"}},
                  [("alice", {"aws:SourceArn": src46}, "ALLOW")]))
    add(case(47, "RP Deny ArnNotEquals PrincipalArn, absent → negated true",
             [RP(doc(deny("s3:*", "arn:aws:s3:::b/*", principal="*",
                          condition={"ArnNotEquals": {"aws:PrincipalArn": ALICE}}),
                     allow("s3:GetObject", "arn:aws:s3:::b/*", principal="*")))],
             [req("alice", "s3:GetObject", OBJ, "ALLOW"),
              req("bob", "s3:GetObject", OBJ, "EXPLICIT", reason="ExplicitDeny(Resource)",
                  message=f"User: {BOB} is not authorized to perform: s3:GetObject on resource: {OBJ} with an explicit deny in a resource-based policy"),
              req("anonymous", "s3:GetObject", OBJ, "EXPLICIT")]))
    add(case(48, "same-account RP alone",
             [RP(doc(allow("s3:GetObject", "arn:aws:s3:::b/*", principal={"AWS": ALICE})))],
             [req("alice", "s3:GetObject", OBJ, "ALLOW", reason="ResourcePolicyGrant(Direct)",
                  deciding={"kind": "resource", "policy": "bucket-policy", "statement": 0})]))
    add(case("s7-49a", "account principal delegates (root ARN)",
             [RP(doc(allow("s3:GetObject", "arn:aws:s3:::b/*", principal={"AWS": ROOT_A})))],
             [req("alice", "s3:GetObject", OBJ, "IMPLICIT")]))
    add(case("s7-49b", "account principal delegates (account id)",
             [RP(doc(allow("s3:GetObject", "arn:aws:s3:::b/*", principal={"AWS": A})))],
             [req("alice", "s3:GetObject", OBJ, "IMPLICIT"),
              req("alice", "s3:GetObject", OBJ, "IMPLICIT")]))
    add(case(50, "cross-account needs RP", [ID(doc(allow("s3:GetObject", "*")))],
             [req("alice", "s3:GetObject", OBJ, "IMPLICIT", resource_account=B, reason="NoResourceAllow")]))
    add(case(51, "cross-account needs ID too",
             [RP(doc(allow("s3:GetObject", "arn:aws:s3:::b/*", principal={"AWS": ALICE})))],
             [req("alice", "s3:GetObject", OBJ, "IMPLICIT", resource_account=B, reason="NoIdentityAllow")]))
    add(case(52, "both sides allow",
             [RP(doc(allow("s3:GetObject", "arn:aws:s3:::b/*", principal={"AWS": A}))), ID(doc(allow("s3:GetObject", "*")))],
             [req("alice", "s3:GetObject", OBJ, "ALLOW", resource_account=B)]))
    add(case(53, "boundary intersection",
             [ID(doc(allow("s3:*", "*"))), pol("boundary", doc(allow("ec2:*", "*")), "pb")],
             [req("alice", "s3:GetObject", OBJ, "IMPLICIT", reason="NoBoundaryAllow",
                  message=f"User: {ALICE} is not authorized to perform: s3:GetObject on resource: {OBJ} because no permissions boundary allows the s3:GetObject action")]))
    add(case(54, "direct RP grant ignores PB implicit deny",
             [pol("boundary", doc(allow("ec2:*", "*")), "pb"),
              RP(doc(allow("s3:GetObject", "arn:aws:s3:::b/*", principal={"AWS": ALICE})))],
             [req("alice", "s3:GetObject", OBJ, "ALLOW")]))
    add(case(55, "explicit deny anywhere wins",
             [pol("boundary", doc(deny("s3:*", "*")), "pb"),
              RP(doc(allow("s3:GetObject", "arn:aws:s3:::b/*", principal={"AWS": ALICE})))],
             [req("alice", "s3:GetObject", OBJ, "EXPLICIT", reason="ExplicitDeny(PermissionsBoundary)",
                  deciding={"kind": "boundary", "policy": "pb", "statement": 0},
                  message=f"User: {ALICE} is not authorized to perform: s3:GetObject on resource: {OBJ} with an explicit deny in a permissions boundary")]))
    add(case("s7-56a", "role-ARN grant limited by PB",
             [pol("boundary", doc(allow("ec2:*", "*")), "pb"),
              RP(doc(allow("s3:GetObject", "arn:aws:s3:::b/*", principal={"AWS": ROLE})))],
             [req("session", "s3:GetObject", OBJ, "IMPLICIT")]))
    add(case("s7-56b", "session-ARN grant with PB",
             [pol("boundary", doc(allow("ec2:*", "*")), "pb"),
              RP(doc(allow("s3:GetObject", "arn:aws:s3:::b/*", principal={"AWS": SESSION})))],
             [req("session", "s3:GetObject", OBJ, "ALLOW")]))
    add(case(57, "parent grant works alone",
             [RP(doc(allow("s3:GetObject", "arn:aws:s3:::b/*", principal={"AWS": ROLE})))],
             [req("session", "s3:GetObject", OBJ, "ALLOW", reason="ResourcePolicyGrant(Parent)")]))
    add(case(58, "session-policy intersection",
             [ID(doc(allow("s3:*", "*"))), pol("session", doc(allow("ec2:*", "*")), "sp")],
             [req("session", "s3:GetObject", OBJ, "IMPLICIT", reason="NoSessionAllow",
                  message=f"User: {SESSION} is not authorized to perform: s3:GetObject on resource: {OBJ} because no session policy allows the s3:GetObject action")]))
    add(case(59, "SP never grants", [pol("session", doc(allow("s3:*", "*")), "sp")],
             [req("session", "s3:GetObject", OBJ, "IMPLICIT", reason="NoIdentityAllow")]))
    add(case(60, "session-ARN grant escapes SP [?]",
             [pol("session", doc(allow("ec2:*", "*")), "sp"),
              RP(doc(allow("s3:GetObject", "arn:aws:s3:::b/*", principal={"AWS": SESSION})))],
             [req("session", "s3:GetObject", OBJ, "ALLOW")]))
    add(case(61, "public", [RP(doc(allow("s3:GetObject", "arn:aws:s3:::b/*", principal="*")))],
             [req("anonymous", "s3:GetObject", OBJ, "ALLOW")]))
    add(case(62, "only * matches anonymous", [RP(doc(allow("s3:GetObject", "arn:aws:s3:::b/*", principal={"AWS": A})))],
             [req("anonymous", "s3:GetObject", OBJ, "IMPLICIT")]))
    rp63 = RP(doc(deny("s3:*", "arn:aws:s3:::b/*", not_principal={"AWS": [ALICE, ROOT_A]}),
                  allow("s3:GetObject", "arn:aws:s3:::b/*", principal="*")))
    add(case(63, "NotPrincipal", [rp63],
             [req("alice", "s3:GetObject", OBJ, "ALLOW"),
              req("bob", "s3:GetObject", OBJ, "EXPLICIT"),
              req("anonymous", "s3:GetObject", OBJ, "EXPLICIT")]))
    add(case("s7-63b", "NotPrincipal listing only the user does not exclude it",
             [RP(doc(deny("s3:*", "arn:aws:s3:::b/*", not_principal={"AWS": ALICE}),
                     allow("s3:GetObject", "arn:aws:s3:::b/*", principal="*")))],
             [req("alice", "s3:GetObject", OBJ, "EXPLICIT")]))
    add(case(64, "NotPrincipal+Deny vs boundary", [rp63, pol("boundary", doc(allow("s3:*", "*")), "pb")],
             [req("alice", "s3:GetObject", OBJ, "EXPLICIT")]))
    add(case(65, "root", [], [req("root", "s3:GetObject", OBJ, "ALLOW", reason="AccountRoot")]))
    add(case(66, "S3 lockout exception [?]", [RP(doc(deny("s3:*", ["arn:aws:s3:::b", "arn:aws:s3:::b/*"], principal="*")))],
             [req("root", "s3:GetObject", OBJ, "EXPLICIT"),
              req("root", "s3:DeleteBucketPolicy", BKT, "ALLOW"),
              req("root", "s3:PutBucketPolicy", BKT, "ALLOW")]))
    add(case(67, "GetCallerIdentity always allowed", [ID(doc(deny("*", "*")))],
             [req("alice", "sts:GetCallerIdentity", "WILDCARD", "ALLOW", reason="GetCallerIdentity")]))
    trust = lambda principal, **kw: pol("trust", doc(allow("sts:AssumeRole", None, principal=principal, **kw)), "trust-R")
    add(case(68, "trust names caller", [trust({"AWS": ALICE})],
             [req("alice", "sts:AssumeRole", ROLE, "ALLOW",
                  deciding={"kind": "trust", "policy": "trust-R", "statement": 0})]))
    add(case("s7-69a", "account trust delegates, no ID", [trust({"AWS": ROOT_A})],
             [req("alice", "sts:AssumeRole", ROLE, "IMPLICIT")]))
    add(case("s7-69b", "account trust delegates, ID allows",
             [trust({"AWS": ROOT_A}), ID(doc(allow("sts:AssumeRole", ROLE)))],
             [req("alice", "sts:AssumeRole", ROLE, "ALLOW")]))
    add(case("s7-69c", "identity alone never suffices", [ID(doc(allow("sts:AssumeRole", ROLE))),
                                                          trust({"AWS": f"arn:aws:iam::{A}:user/carol"})],
             [req("alice", "sts:AssumeRole", ROLE, "IMPLICIT", reason="NoResourceAllow")]))
    add(case("s7-70a", "cross-account trust needs ID", [trust({"AWS": BOB_B})],
             [req("bob@B", "sts:AssumeRole", ROLE, "IMPLICIT", resource_account=A)]))
    add(case("s7-70b", "cross-account trust with ID", [trust({"AWS": BOB_B}), ID(doc(allow("sts:AssumeRole", "*")))],
             [req("bob@B", "sts:AssumeRole", ROLE, "ALLOW", resource_account=A)]))
    add(case(71, "trust ExternalId", [trust({"AWS": ALICE}, condition={"StringEquals": {"sts:ExternalId": "x"}})],
             [req("alice", "sts:AssumeRole", ROLE, "IMPLICIT", missing=["sts:ExternalId"]),
              req("alice", "sts:AssumeRole", ROLE, "ALLOW", context={"sts:ExternalId": "x"})]))
    add(cond_case(72, "empty value list", {"DateGreaterThan": {"k": []}},
                  [("alice", {}, "IMPLICIT"), ("alice", {"k": "2020-01-01T00:00:00Z"}, "IMPLICIT")]))
    # extra: other caller kinds
    FED = f"arn:aws:sts::{A}:federated-user/fed"
    add(case("x-fed-1", "federated user: RP naming the federating user (Parent) works alone",
             [RP(doc(allow("s3:GetObject", "arn:aws:s3:::b/*", principal={"AWS": ALICE})))],
             [req("fed", "s3:GetObject", OBJ, "ALLOW", reason="ResourcePolicyGrant(Parent)")]))
    add(case("x-fed-2", "federated user: Parent grant limited by session policy",
             [RP(doc(allow("s3:GetObject", "arn:aws:s3:::b/*", principal={"AWS": ALICE}))),
              pol("session", doc(allow("ec2:*", "*")), "sp")],
             [req("fed", "s3:GetObject", OBJ, "IMPLICIT")]))
    add(case("x-fed-3", "federated user: own ARN (Direct) escapes session policy",
             [RP(doc(allow("s3:GetObject", "arn:aws:s3:::b/*", principal={"AWS": FED}))),
              pol("session", doc(allow("ec2:*", "*")), "sp")],
             [req("fed", "s3:GetObject", OBJ, "ALLOW", reason="ResourcePolicyGrant(Direct)")]))
    add(case("x-fed-4", "federated user: identity (federating user's) ∩ session policy",
             [ID(doc(allow("s3:*", "*"))), pol("session", doc(allow("s3:GetObject", "*")), "sp")],
             [req("fed", "s3:GetObject", OBJ, "ALLOW"), req("fed", "s3:PutObject", OBJ, "IMPLICIT", reason="NoSessionAllow")]))
    web_trust = pol("trust", doc(allow("sts:AssumeRoleWithWebIdentity", None,
                                       principal={"Federated": "accounts.google.com"},
                                       condition={"StringEquals": {"accounts.google.com:aud": "app1"}})), "trust-web")
    add(case("x-web", "web identity trust", [web_trust],
             [req("web:accounts.google.com", "sts:AssumeRoleWithWebIdentity", ROLE, "ALLOW", context={"accounts.google.com:aud": "app1"}),
              req("web:accounts.google.com", "sts:AssumeRoleWithWebIdentity", ROLE, "IMPLICIT", context={"accounts.google.com:aud": "app2"}),
              req("web:evil.example.com", "sts:AssumeRoleWithWebIdentity", ROLE, "IMPLICIT", context={"accounts.google.com:aud": "app1"})]))
    add(case("x-service", "service principal in bucket policy",
             [RP(doc(allow("s3:PutObject", "arn:aws:s3:::b/*", principal={"Service": "logging.s3.amazonaws.com"})))],
             [req("service:logging.s3.amazonaws.com", "s3:PutObject", OBJ, "ALLOW"),
              req("service:other.amazonaws.com", "s3:PutObject", OBJ, "IMPLICIT"),
              req("alice", "s3:PutObject", OBJ, "IMPLICIT")]))
    add(case("x-root-cross", "root of B: needs RP naming account B",
             [RP(doc(allow("s3:GetObject", "arn:aws:s3:::b/*", principal={"AWS": B})))],
             [req({"type": "root", "account": B}, "s3:GetObject", OBJ, "ALLOW"),
              req("root", "s3:GetObject", OBJ, "ALLOW")]))
    add(case("x-id-ignored-anon", "identity policies are ignored for anonymous callers",
             [ID(doc(allow("*", "*")))],
             [req("anonymous", "s3:GetObject", OBJ, "IMPLICIT", reason="NoResourceAllow")]))
    add(case("x-condkeys", "condition keys reported missing",
             [ID(doc(allow("s3:GetObject", "*", condition={"StringEquals": {"aws:RequestTag/Env": "x", "aws:PrincipalTag/Team": "y"}})))],
             [req("alice", "s3:GetObject", OBJ, "IMPLICIT", missing=["aws:RequestTag/Env", "aws:PrincipalTag/Team"])]))
    # extra: seed story
    add(case("seed", "melvins",
             [ID(doc(allow("s3:*", ["arn:aws:s3:::houdini", "arn:aws:s3:::houdini/*"])), "melvins-s3")],
             [req({"type": "user", "arn": "arn:aws:iam::123456789012:user/melvins", "account": "123456789012"},
                  "s3:PutObject", "arn:aws:s3:::houdini/x", "ALLOW", resource_account="123456789012"),
              req({"type": "user", "arn": "arn:aws:iam::123456789012:user/melvins", "account": "123456789012"},
                  "s3:PutObject", "arn:aws:s3:::other/x", "IMPLICIT", resource_account="123456789012",
                  message="User: arn:aws:iam::123456789012:user/melvins is not authorized to perform: s3:PutObject on resource: arn:aws:s3:::other/x because no identity-based policy allows the s3:PutObject action")]))
    return cases


# ----------------------------------------------------------------------------------------------
# operator matrix: every operator × {plain, IfExists, ForAnyValue, ForAllValues} ×
# {present-match, present-nomatch, absent, multi-valued (match+nomatch), multi (match+match)}

OPS = {
    # name: (policy value, matching request value, non-matching request value)
    "StringEquals": ("abc", "abc", "abd"),
    "StringNotEquals": ("abc", "abc", "abd"),
    "StringEqualsIgnoreCase": ("AbC", "aBc", "abd"),
    "StringNotEqualsIgnoreCase": ("AbC", "aBc", "abd"),
    "StringLike": ("a*c", "abbc", "abd"),
    "StringNotLike": ("a*c", "abbc", "abd"),
    "NumericEquals": ("10", "10.0", "11"),
    "NumericNotEquals": ("10", "10", "11"),
    "NumericLessThan": ("10", "9", "10"),
    "NumericLessThanEquals": ("10", "10", "11"),
    "NumericGreaterThan": ("10", "11", "10"),
    "NumericGreaterThanEquals": ("10", "10", "9"),
    "DateEquals": ("2020-01-01T00:00:00Z", "1577836800", "2020-01-02T00:00:00Z"),
    "DateNotEquals": ("2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z"),
    "DateLessThan": ("2020-01-01T00:00:00Z", "2019-06-01T00:00:00Z", "2020-01-01T00:00:00Z"),
    "DateLessThanEquals": ("2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", "2020-01-01T00:00:01Z"),
    "DateGreaterThan": ("2020-01-01T00:00:00Z", "2020-01-01T00:00:01Z", "2020-01-01T00:00:00Z"),
    "DateGreaterThanEquals": ("2020-01-01T00:00:00Z", "2020-01-01T01:00:00+01:00", "2019-12-31T23:59:59Z"),
    "Bool": ("true", "TRUE", "false"),
    "BinaryEquals": ("aGVsbG8=", "aGVsbG8=", "d29ybGQ="),
    "IpAddress": ("10.0.0.0/8", "10.1.2.3", "11.0.0.1"),
    "NotIpAddress": ("10.0.0.0/8", "10.1.2.3", "2001:db8::1"),
    "ArnEquals": (f"arn:aws:iam::{A}:user/*", f"arn:aws:iam::{A}:user/x", f"arn:aws:iam::{B}:user/x"),
    "ArnLike": (f"arn:aws:iam::{A}:user/*", f"arn:aws:iam::{A}:user/x", f"arn:aws:iam::{B}:user/x"),
    "ArnNotEquals": (f"arn:aws:iam::{A}:user/*", f"arn:aws:iam::{A}:user/x", f"arn:aws:iam::{B}:user/x"),
    "ArnNotLike": (f"arn:aws:iam::{A}:user/*", f"arn:aws:iam::{A}:user/x", f"arn:aws:iam::{B}:user/x"),
}
NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "NumericNotEquals",
           "DateNotEquals", "NotIpAddress", "ArnNotEquals", "ArnNotLike"}


def model(op, qual, ifx, pos_of, rv):
    """Independent model of §3.3. pos_of(v) -> bool (positive comparison)."""
    neg = op in NEGATED
    if not rv:
        if ifx:
            return True
        if qual == "ForAllValues":
            return True
        if qual == "ForAnyValue":
            return False
        return neg

    def one(v):
        p = pos_of(v)
        return (not p) if neg else p
    if qual is None:
        return len(rv) == 1 and one(rv[0])
    if qual == "ForAnyValue":
        return any(one(v) for v in rv)
    return all(one(v) for v in rv)


def operators():
    cases = []
    key = "test:Key"
    for op, (pv, m, n) in OPS.items():
        for qual in (None, "ForAnyValue", "ForAllValues"):
            for ifx in (False, True):
                name = (qual + ":" if qual else "") + op + ("IfExists" if ifx else "")
                pos_of = lambda v, m=m: v == m
                reqs = []
                for label, rv in (("present-match", [m]), ("present-nomatch", [n]), ("absent", []),
                                  ("multi-mixed", [m, n]), ("multi-match", [m, m]),
                                  ("multi-nomatch", [n, n])):
                    expect = "ALLOW" if model(op, qual, ifx, pos_of, rv) else "IMPLICIT"
                    ctx = {} if not rv else {key: rv if len(rv) > 1 else rv[0]}
                    reqs.append(req("alice", "s3:GetObject", OBJ, expect, context=ctx, label=label))
                    # the Deny form of the same condition: Deny applies iff condition true
                    dexpect = "EXPLICIT" if expect == "ALLOW" else "ALLOW"
                    reqs.append(req("alice", "s3:GetObject", OBJ, dexpect, context=ctx, label=label + " (deny)",
                                    policies="deny"))
                cases.append({
                    "name": f"op {name}",
                    "policies": [ID(doc(allow("s3:GetObject", "*", condition={name: {key: pv}})), "allow")],
                    "deny_policies": [ID(doc(allow("*", "*"), deny("s3:GetObject", "*", condition={name: {key: pv}})), "deny")],
                    "requests": reqs,
                })
    # Null
    for pv in ("true", "false"):
        reqs = []
        for label, rv in (("present", ["x"]), ("absent", []), ("multi", ["x", "y"])):
            present = bool(rv)
            ok = (pv == "true" and not present) or (pv == "false" and present)
            ctx = {} if not rv else {key: rv if len(rv) > 1 else rv[0]}
            reqs.append(req("alice", "s3:GetObject", OBJ, "ALLOW" if ok else "IMPLICIT", context=ctx, label=label))
        cases.append({"name": f"op Null {pv}",
                      "policies": [ID(doc(allow("s3:GetObject", "*", condition={"Null": {key: pv}})))],
                      "requests": reqs})
    # multiple policy values OR (positive) / AND (negated)
    cases.append(case("op-list", "StringLike list OR",
                      [ID(doc(allow("s3:GetObject", "*", condition={"StringLike": {key: ["x*", "a*"]}})))],
                      [req("alice", "s3:GetObject", OBJ, "ALLOW", context={key: "abc"}),
                       req("alice", "s3:GetObject", OBJ, "IMPLICIT", context={key: "zzz"})]))
    cases.append(case("op-list", "IpAddress v6 range",
                      [ID(doc(allow("s3:GetObject", "*", condition={"IpAddress": {"aws:SourceIp": ["2001:db8::/32", "10.0.0.0/8"]}})))],
                      [req("alice", "s3:GetObject", OBJ, "ALLOW", context={"aws:SourceIp": "2001:db8:1::5"}),
                       req("alice", "s3:GetObject", OBJ, "ALLOW", context={"aws:SourceIp": "::ffff:10.0.0.1"}),
                       req("alice", "s3:GetObject", OBJ, "IMPLICIT", context={"aws:SourceIp": "2001:db9::1"})]))
    cases.append(case("op-var", "StringEquals with variable, 2012 vs 2008",
                      [ID(doc(allow("s3:GetObject", "*", condition={"StringEquals": {"s3:prefix": "${aws:username}"}})))],
                      [req("alice", "s3:GetObject", OBJ, "ALLOW", context={"s3:prefix": "alice"}),
                       req("alice", "s3:GetObject", OBJ, "IMPLICIT", context={"s3:prefix": "${aws:username}"})]))
    cases.append(case("op-var", "StringEquals with variable, 2008 literal",
                      [ID(doc(allow("s3:GetObject", "*", condition={"StringEquals": {"s3:prefix": "${aws:username}"}}), version="2008-10-17"))],
                      [req("alice", "s3:GetObject", OBJ, "IMPLICIT", context={"s3:prefix": "alice"}),
                       req("alice", "s3:GetObject", OBJ, "ALLOW", context={"s3:prefix": "${aws:username}"})]))
    cases.append(case("op-var", "unresolvable variable in StringNotEquals → true",
                      [ID(doc(allow("s3:GetObject", "*", condition={"StringNotEquals": {"s3:prefix": "${aws:PrincipalTag/none}"}})))],
                      [req("alice", "s3:GetObject", OBJ, "ALLOW", context={"s3:prefix": "x"})]))
    cases.append(case("op-var", "multivalued key cannot be a variable",
                      [ID(doc(allow("s3:GetObject", "*", condition={"StringEquals": {"s3:prefix": "${aws:TagKeys}"}})))],
                      [req("alice", "s3:GetObject", OBJ, "IMPLICIT", context={"s3:prefix": "a", "aws:TagKeys": ["a", "b"]}),
                       req("alice", "s3:GetObject", OBJ, "ALLOW", context={"s3:prefix": "a", "aws:TagKeys": ["a"]})]))
    cases.append(case("op-var", "variable value is literal (no wildcard)",
                      [ID(doc(allow("s3:GetObject", "arn:aws:s3:::b/${aws:username}/*")))],
                      [req("alice", "s3:GetObject", "arn:aws:s3:::b/x/y", "IMPLICIT", context={"aws:username": "*"}),
                       req("alice", "s3:GetObject", "arn:aws:s3:::b/*/y", "ALLOW", context={"aws:username": "*"})]))
    cases.append(case("op-var", "variables only in part 6 of Resource",
                      [ID(doc(allow("s3:GetObject", "arn:aws:svc:${aws:username}::b/*")))],
                      [req("alice", "s3:GetObject", "arn:aws:svc:alice::b/x", "IMPLICIT"),
                       req("alice", "s3:GetObject", "arn:aws:svc:${aws:username}::b/x", "ALLOW")]))
    cases.append(case("op-var", "IgnoreCase with variable",
                      [ID(doc(allow("s3:GetObject", "*", condition={"StringEqualsIgnoreCase": {"s3:prefix": "HOME/${aws:username}"}})))],
                      [req("alice", "s3:GetObject", OBJ, "ALLOW", context={"s3:prefix": "home/ALICE"}),
                       req("alice", "s3:GetObject", OBJ, "IMPLICIT", context={"s3:prefix": "home/bob"})]))
    cases.append(case("op-var", "Bool with variable (docs conflict; allowed)",
                      [ID(doc(allow("s3:GetObject", "*", condition={"Bool": {"aws:SecureTransport": "${test:Want}"}})))],
                      [req("alice", "s3:GetObject", OBJ, "ALLOW", context={"test:Want": "TRUE"}),
                       req("alice", "s3:GetObject", OBJ, "IMPLICIT", context={"test:Want": "false"}),
                       req("alice", "s3:GetObject", OBJ, "IMPLICIT")]))
    cases.append(case("op-var", "Numeric value: variable is literal",
                      [ID(doc(allow("s3:GetObject", "*", condition={"NumericEquals": {"s3:max-keys": "${test:N}"}})))],
                      [req("alice", "s3:GetObject", OBJ, "IMPLICIT", context={"test:N": "5", "s3:max-keys": "5"})]))
    return cases


# ----------------------------------------------------------------------------------------------
# validation cases (API CreatePolicy = managed unless stated)

def v(name, document, expect, ptype="managed", line=None, column=None):
    c = {"name": f"validate {name}", "validate": {"type": ptype, "doc": document, "expect": expect}}
    if line is not None:
        c["validate"]["line"] = line
        c["validate"]["column"] = column
    return c


def S(**kw):
    base = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    base.update(kw)
    return {k: val for k, val in base.items() if val is not None}


def validation():
    V = "2012-10-17"
    out = [
        v("no Version", {"Statement": S()}, "Policy document must be version 2012-10-17 or greater."),
        v("no Version inline ok", {"Statement": S()}, None, ptype="inline"),
        v("2008 Version managed", {"Version": "2008-10-17", "Statement": S()}, "Policy document must be version 2012-10-17 or greater."),
        v("Effect allow", {"Version": V, "Statement": S(Effect="allow")}, "The policy failed legacy parsing"),
        v("Action s3", {"Version": V, "Statement": S(Action="s3")}, "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."),
        v("Action empty string", {"Version": V, "Statement": S(Action="")}, "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."),
        v("Action two colons", {"Version": V, "Statement": S(Action="s3:List:Bucket")}, "Actions/Condition can contain only one colon."),
        v("Action bad vendor", {"Version": V, "Statement": S(Action="a a:X")}, "Vendor a a is not valid"),
        v("Action wildcard vendor", {"Version": V, "Statement": S(Action="s*:X")}, "Vendor s* is not valid"),
        v("Action name not validated", {"Version": V, "Statement": S(Action="iam: asdf safdsf af ")}, None),
        v("Resource empty", {"Version": V, "Statement": S(Resource="")}, 'Resource  must be in ARN format or "*".'),
        v("Resource arn:aws", {"Version": V, "Statement": S(Resource="arn:aws")}, "Resource vendor must be fully qualified and cannot contain regexes."),
        v("Resource iam region", {"Version": V, "Statement": S(Resource="arn:aws:iam:us-east-1::x")}, "IAM resource arn:aws:iam:us-east-1::x cannot contain region information."),
        v("Resource s3 region", {"Version": V, "Statement": S(Resource="arn:aws:s3:us-east-1::x")}, "Resource arn:aws:s3:us-east-1::x can not contain region information."),
        v("Resource s3 access point region", {"Version": V, "Statement": S(Resource="arn:aws:s3:us-east-1:123456789012:accesspoint/ap")}, None),
        v("Resource s3 access grants region", {"Version": V, "Statement": S(Resource="arn:aws:s3:*:*:access-grants/default/grant/*")}, None),
        v("Resource s3 batch job region", {"Version": V, "Statement": S(Resource="arn:aws:s3:us-east-1:123456789012:job/*")}, None),
        v("Resource iam role template", {"Version": V, "Statement": S(Resource="arn:aws:iam::aws:role-template/x")}, None),
        v("Resource bad partition", {"Version": V, "Statement": S(Resource="arn:foo:s3:::b")}, 'Partition "foo" is not valid for resource "arn:foo:s3:::b".'),
        v("Resource legacy", {"Version": V, "Statement": S(Resource="arn:aws:s3::b")}, "The policy failed legacy parsing"),
        v("Resource legacy empty service", {"Version": V, "Statement": S(Resource="arn:aws::::x")}, "The policy failed legacy parsing"),
        v("Resource odd ok", {"Version": V, "Statement": S(Resource=["arn:aws:fdsasf", "arn:aws:s33:::x"])}, None),
        v("duplicate Sid", {"Version": V, "Statement": [S(Sid="a"), S(Sid="a")]}, "Statement IDs (SID) in a single policy must be unique."),
        v("empty Sids may repeat", {"Version": V, "Statement": [S(Sid=""), S(Sid="")]}, None),
        v("Sid charset", {"Version": V, "Statement": S(Sid="my-sid")}, "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"),
        v("Sid charset ok in bucket policy", {"Version": V, "Statement": S(Sid="my sid", Principal="*", Resource="arn:aws:s3:::b/*")}, None, ptype="resource"),
        v("Principal in identity", {"Version": V, "Statement": S(Principal={"AWS": "*"})}, "Policy document should not specify a principal."),
        v("unknown operator", {"Version": V, "Statement": S(Condition={"x": {"a": "1"}})}, "Syntax errors in policy."),
        v("unknown operator empty ok", {"Version": V, "Statement": S(Condition={"x": {}})}, None),
        v("empty condition blocks ok", {"Version": V, "Statement": S(Condition={"DateGreaterThan": {"k": []}})}, None),
        v("bad date", {"Version": V, "Statement": S(Condition={"DateGreaterThan": {"a": "x"}})}, "The policy failed legacy parsing"),
        v("Statement []", {"Version": V, "Statement": []}, "Syntax errors in policy."),
        v("no Statement", {"Version": V}, "Syntax errors in policy."),
        v("Statement [x]", {"Version": V, "Statement": ["x"]}, "Syntax errors in policy."),
        v("extra top-level", {"Version": V, "Statement": S(), "Extra field": 1}, "Syntax errors in policy."),
        v("unknown statement member", {"Version": V, "Statement": S(effect="Allow")}, "Syntax errors in policy."),
        v("Action and NotAction", {"Version": V, "Statement": S(NotAction=[])}, "Syntax errors in policy."),
        v("Action object", {"Version": V, "Statement": S(Action={})}, "Syntax errors in policy."),
        v("Action [[]]", {"Version": V, "Statement": S(Action=[[]])}, "Syntax errors in policy."),
        v("Action []", {"Version": V, "Statement": S(Action=[])}, "Policy statement must contain actions."),
        v("no Action", {"Version": V, "Statement": S(Action=None)}, "Policy statement must contain actions."),
        v("Effect Permit", {"Version": V, "Statement": S(Effect="Permit")}, "Syntax errors in policy."),
        v("Sid object", {"Version": V, "Statement": S(Sid={})}, "Syntax errors in policy."),
        v("Id number", {"Version": V, "Id": 1, "Statement": S()}, "Syntax errors in policy."),
        v("Version other", {"Version": "2012-10-18", "Statement": S()}, "Syntax errors in policy."),
        v("identity without Resource", {"Version": V, "Statement": S(Resource=None)}, "Policy statement must contain resources."),
        v("identity Resource []", {"Version": V, "Statement": S(Resource=[])}, "Policy statement must contain resources."),
        v("trust with Resource", {"Version": V, "Statement": S(Action="sts:AssumeRole", Principal={"AWS": ROOT_A})}, "Has prohibited field Resource.", ptype="trust"),
        v("trust ok", {"Version": V, "Statement": S(Action="sts:AssumeRole", Resource=None, Principal={"AWS": ROOT_A})}, None, ptype="trust"),
        v("trust without Principal", {"Version": V, "Statement": S(Action="sts:AssumeRole", Resource=None)}, "Missing required field Principal", ptype="trust"),
        v("bucket policy without Principal", {"Version": V, "Statement": S(Resource="arn:aws:s3:::b/*")}, "Missing required field Principal", ptype="resource"),
        v("partial wildcard principal", {"Version": V, "Statement": S(Principal={"AWS": "arn:aws:iam::111111111111:user/a*"}, Resource="arn:aws:s3:::b/*")}, 'Invalid principal in policy: "AWS":"arn:aws:iam::111111111111:user/a*"', ptype="resource"),
        v("boundary needs 2012", {"Statement": S()}, "Policy document must be version 2012-10-17 or greater.", ptype="boundary"),
        v("session any version", {"Statement": S()}, None, ptype="session"),
        v("precedence: legacy before Sid", {"Version": V, "Statement": [S(Sid="a", Effect="deny"), S(Sid="a", Action="s3")]}, "The policy failed legacy parsing"),
        v("precedence: Sid before actions", {"Version": V, "Statement": [S(Sid="a", Action=[]), S(Sid="a")]}, "Statement IDs (SID) in a single policy must be unique."),
        v("precedence: actions before resource format", {"Version": V, "Statement": [S(Action=[], Resource="x")]}, "Policy statement must contain actions."),
        v("precedence: resource format before vendor", {"Version": V, "Statement": [S(Action="s3", Resource="x")]}, 'Resource x must be in ARN format or "*".'),
        v("precedence: resource format suppresses legacy", {"Version": V, "Statement": [S(Resource=["arn:aws", "arn:aws:s3::b"])]}, "Resource vendor must be fully qualified and cannot contain regexes."),
        # raw text cases (duplicate keys, positions, non-JSON)
        v("duplicate key", '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Effect":"Deny","Action":"*","Resource":"*"}}', "Syntax errors in policy.", line=1, column=55),
        v("not JSON", '{"Version":', "Syntax errors in policy.", line=1, column=12),
        v("position of finding", '{\n  "Version": "2012-10-17",\n  "Statement": {\n    "Effect": "Allow",\n    "Action": "s3:x",\n    "Resource": "arn:aws:s3::b"\n  }\n}', "The policy failed legacy parsing", line=6, column=17),
        v("deep nesting", "[" * 10000, "Syntax errors in policy."),
    ]
    return out


def main():
    files = {
        "section7.json": section7(),
        "operators.json": operators(),
        "validation.json": validation(),
    }
    for name, cases in files.items():
        with open(os.path.join(HERE, name), "w") as f:
            json.dump(cases, f, indent=1)
            f.write("\n")
        print(name, len(cases), "cases")


if __name__ == "__main__":
    main()
