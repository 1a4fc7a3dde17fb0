"""IAM groups and memberships through boto3."""

import datetime as dt

import e2e_util as u
from e2e_util import aws_error


def test_create_group_shape(iam):
    name = u.uniq("admins")
    g = iam.create_group(GroupName=name)["Group"]
    assert g["GroupName"] == name
    assert g["Path"] == "/"
    assert g["Arn"] == u.group_arn(name)
    assert u.GROUP_ID_RE.match(g["GroupId"]), g["GroupId"]
    assert abs(g["CreateDate"] - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=5)
    got = iam.get_group(GroupName=name)
    assert got["Group"]["GroupId"] == g["GroupId"]
    assert got["Group"]["Arn"] == g["Arn"]
    assert got["Users"] == []
    assert got["IsTruncated"] is False


def test_create_group_with_path(iam):
    name = u.uniq("pg")
    g = iam.create_group(GroupName=name, Path="/staff/")["Group"]
    assert g["Arn"] == u.group_arn(name, "/staff/")


def test_duplicate_group_case_insensitive(iam):
    name = u.uniq("Grp")
    iam.create_group(GroupName=name)
    with aws_error("EntityAlreadyExists", 409, f"Group with name {name} already exists."):
        iam.create_group(GroupName=name)
    with aws_error("EntityAlreadyExists", 409, f"Group with name {name.lower()} already exists."):
        iam.create_group(GroupName=name.lower())


def test_group_name_validation(iam_raw):
    with aws_error("ValidationError", 400, u.validation_message("bad group", "groupName", u.NAME_PATTERN)):
        iam_raw.create_group(GroupName="bad group")


def test_get_group_not_found(iam):
    with aws_error("NoSuchEntity", 404, "The group with name no-such-group cannot be found."):
        iam.get_group(GroupName="no-such-group")


def test_membership_and_paged_members(iam):
    group = u.uniq("crew")
    iam.create_group(GroupName=group)
    members = sorted(u.uniq("m") for _ in range(5))
    for m in members:
        iam.create_user(UserName=m)
        iam.add_user_to_group(GroupName=group, UserName=m)
    # Adding an existing member again is accepted and changes nothing.
    iam.add_user_to_group(GroupName=group, UserName=members[0])

    first = iam.get_group(GroupName=group, MaxItems=2)
    assert len(first["Users"]) == 2 and first["IsTruncated"] is True and first["Marker"]
    pages = list(iam.get_paginator("get_group").paginate(GroupName=group, PaginationConfig={"PageSize": 2}))
    assert [len(p["Users"]) for p in pages] == [2, 2, 1]
    assert all(p["Group"]["GroupName"] == group for p in pages)
    got = [x["UserName"] for p in pages for x in p["Users"]]
    assert sorted(got) == members
    one = pages[0]["Users"][0]
    assert one["Arn"] == u.user_arn(one["UserName"]) and u.USER_ID_RE.match(one["UserId"])

    for m in members:
        groups = iam.list_groups_for_user(UserName=m)["Groups"]
        assert [g["GroupName"] for g in groups] == [group]
        assert groups[0]["Arn"] == u.group_arn(group)

    iam.remove_user_from_group(GroupName=group, UserName=members[1])
    assert sorted(x["UserName"] for x in iam.get_group(GroupName=group)["Users"]) == [
        m for m in members if m != members[1]
    ]
    assert iam.list_groups_for_user(UserName=members[1])["Groups"] == []


def test_membership_errors(iam):
    user, group = u.uniq("lonely"), u.uniq("club")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    with aws_error("NoSuchEntity", 404, "The user with name ghost-member cannot be found."):
        iam.add_user_to_group(GroupName=group, UserName="ghost-member")
    with aws_error("NoSuchEntity", 404, "The group with name ghost-group cannot be found."):
        iam.add_user_to_group(GroupName="ghost-group", UserName=user)
    with aws_error("NoSuchEntity", 404, "The user with name ghost-member cannot be found."):
        iam.remove_user_from_group(GroupName=group, UserName="ghost-member")
    with aws_error("NoSuchEntity", 404, "The group with name ghost-group cannot be found."):
        iam.remove_user_from_group(GroupName="ghost-group", UserName=user)
    with aws_error("NoSuchEntity", 404, "The user with name ghost-member cannot be found."):
        iam.list_groups_for_user(UserName="ghost-member")


def test_groups_per_user_quota(iam):
    user = u.uniq("joiner")
    iam.create_user(UserName=user)
    groups = [u.uniq("q") for _ in range(11)]
    for g in groups:
        iam.create_group(GroupName=g)
    for g in groups[:10]:
        iam.add_user_to_group(GroupName=g, UserName=user)
    with aws_error("LimitExceeded", 409, "Cannot exceed quota for GroupsPerUser: 10"):
        iam.add_user_to_group(GroupName=groups[10], UserName=user)
    assert len(iam.list_groups_for_user(UserName=user)["Groups"]) == 10
    assert iam.get_group(GroupName=groups[10])["Users"] == []


def test_list_groups_prefix_and_paging(iam):
    prefix = f"/{u.uniq('gp')}/"
    names = sorted(u.uniq("lg") for _ in range(5))
    for n in names:
        iam.create_group(GroupName=n, Path=prefix)
    pages = list(iam.get_paginator("list_groups").paginate(PathPrefix=prefix, PaginationConfig={"PageSize": 2}))
    assert [len(p["Groups"]) for p in pages] == [2, 2, 1]
    assert sorted(g["GroupName"] for p in pages for g in p["Groups"]) == names
    assert iam.list_groups(PathPrefix="/none-here/")["Groups"] == []


def test_update_group(iam):
    old, new = u.uniq("oldg"), u.uniq("newg")
    created = iam.create_group(GroupName=old)["Group"]
    member = u.uniq("mem")
    iam.create_user(UserName=member)
    iam.add_user_to_group(GroupName=old, UserName=member)
    iam.put_group_policy(GroupName=old, PolicyName="gp", PolicyDocument=u.ALLOW_ALL)
    iam.update_group(GroupName=old, NewGroupName=new, NewPath="/renamed/")
    with aws_error("NoSuchEntity", 404, f"The group with name {old} cannot be found."):
        iam.get_group(GroupName=old)
    got = iam.get_group(GroupName=new)
    assert got["Group"]["GroupId"] == created["GroupId"]
    assert got["Group"]["Arn"] == u.group_arn(new, "/renamed/")
    assert [x["UserName"] for x in got["Users"]] == [member]
    assert iam.list_group_policies(GroupName=new)["PolicyNames"] == ["gp"]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=member)["Groups"]] == [new]

    other = u.uniq("otherg")
    iam.create_group(GroupName=other)
    with aws_error("EntityAlreadyExists", 409, f"Group with name {other} already exists."):
        iam.update_group(GroupName=new, NewGroupName=other)
    with aws_error("NoSuchEntity", 404, "The group with name ghost-g cannot be found."):
        iam.update_group(GroupName="ghost-g", NewGroupName=u.uniq("z"))


def test_delete_group(iam):
    name = u.uniq("delg")
    iam.create_group(GroupName=name)
    user = u.uniq("du")
    iam.create_user(UserName=user)
    iam.add_user_to_group(GroupName=name, UserName=user)
    with aws_error("DeleteConflict", 409, "Cannot delete entity, must remove users from group first."):
        iam.delete_group(GroupName=name)
    iam.remove_user_from_group(GroupName=name, UserName=user)
    iam.put_group_policy(GroupName=name, PolicyName="gp", PolicyDocument=u.ALLOW_ALL)
    with aws_error("DeleteConflict", 409, "Cannot delete entity, must delete policies first."):
        iam.delete_group(GroupName=name)
    iam.delete_group_policy(GroupName=name, PolicyName="gp")
    iam.delete_group(GroupName=name)
    with aws_error("NoSuchEntity", 404, f"The group with name {name} cannot be found."):
        iam.get_group(GroupName=name)
    with aws_error("NoSuchEntity", 404, f"The group with name {name} cannot be found."):
        iam.delete_group(GroupName=name)
    assert iam.list_groups_for_user(UserName=user)["Groups"] == []
