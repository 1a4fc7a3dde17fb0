"""STS GetCallerIdentity and IAM GetAccountSummary through boto3."""


import e2e_util as u

NS = "{" + u.STS_NS + "}"


def test_caller_identity_root(sts):
    ident = sts.get_caller_identity()
    assert ident["Arn"] == "arn:aws:iam::123456789012:root"
    assert ident["UserId"] == "123456789012"
    assert ident["Account"] == "123456789012"


def test_caller_identity_user(server, iam, user_with_key):
    name, ak, sk = user_with_key("who")
    ident = server.client("sts", ak, sk).get_caller_identity()
    assert ident == {**ident, "Arn": u.user_arn(name), "Account": u.ACCOUNT_ID,
                     "UserId": iam.get_user(UserName=name)["User"]["UserId"]}


def test_caller_identity_user_with_path(server, iam):
    name = u.uniq("pathed")
    iam.create_user(UserName=name, Path="/team/ops/")
    k = iam.create_access_key(UserName=name)["AccessKey"]
    ident = server.client("sts", k["AccessKeyId"], k["SecretAccessKey"]).get_caller_identity()
    assert ident["Arn"] == f"arn:aws:iam::123456789012:user/team/ops/{name}"


def test_caller_identity_wire(server):
    r = u.raw_call(server.endpoint, u.form(Action="GetCallerIdentity", Version=u.STS_VERSION), service="sts")
    assert r.status == 200, r.body
    root = r.xml()
    assert root.tag == NS + "GetCallerIdentityResponse"
    res = root.find(NS + "GetCallerIdentityResult")
    assert res.findtext(NS + "Arn") == u.ROOT_ARN
    assert res.findtext(NS + "UserId") == u.ACCOUNT_ID
    assert res.findtext(NS + "Account") == u.ACCOUNT_ID
    assert root.findtext(f"{NS}ResponseMetadata/{NS}RequestId")


def test_account_summary(iam):
    before = iam.get_account_summary()["SummaryMap"]
    for key, value in {
        "AccessKeysPerUserQuota": 2,
        "GroupsPerUserQuota": 10,
        "UserPolicySizeQuota": 2048,
        "GroupPolicySizeQuota": 5120,
        "UsersQuota": 5000,
        "GroupsQuota": 300,
        "AccountAccessKeysPresent": 1,
    }.items():
        assert before.get(key) == value, (key, before.get(key))
    for key in ("Users", "Groups", "AccountMFAEnabled", "Policies", "Roles"):
        assert isinstance(before.get(key), int), (key, before)

    iam.create_user(UserName=u.uniq("counted"))
    iam.create_user(UserName=u.uniq("counted"))
    iam.create_group(GroupName=u.uniq("countedg"))
    after = iam.get_account_summary()["SummaryMap"]
    assert after["Users"] == before["Users"] + 2
    assert after["Groups"] == before["Groups"] + 1
    gone = u.uniq("uncounted")
    iam.create_user(UserName=gone)
    iam.delete_user(UserName=gone)
    assert iam.get_account_summary()["SummaryMap"]["Users"] == after["Users"]
