"""The seed article's script (Drew Engelson, "AWS IAM with Python", 2011), run with
boto 2.49 inside <repo>/.venv-boto2. Only the connection is changed: it points at
the server under test instead of iam.amazonaws.com.

Usage: python boto2_seed.py HOST PORT ACCESS_KEY_ID SECRET_ACCESS_KEY
Prints the article's output, then one line `RESULT <json>` for the test to check.
"""

import json
import sys

import boto
import boto.iam.connection
from boto.exception import BotoServerError

HOST, PORT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]


def connect(key, secret):
    return boto.iam.connection.IAMConnection(key, secret, host=HOST, port=PORT, is_secure=False)


result = {"boto_version": boto.__version__}

# ---- Part 1: a user for the third party, limited to bucket houdini ----------
# Connect to IAM with boto
iam = connect(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)

# Create user
user_response = iam.create_user('melvins')

# Limit access with IAM policy
policy_json = '''{
  "Statement":[{
      "Effect":"Allow",
      "Action":["s3:*"],
      "Resource":["arn:aws:s3:::houdini",
                  "arn:aws:s3:::houdini/*"]
    }
  ]
}'''
iam.put_user_policy('melvins', 'allow_access_houdini', policy_json)

# Generate new access key pair for 'melvins'
key_response = iam.create_access_key('melvins')

user = user_response.create_user_response.create_user_result.user
print(json.dumps(user, indent=4))
key = key_response.create_access_key_response.create_access_key_result.access_key
print(json.dumps(key, indent=4))
# Provide new keys to user
print('AWS_ACCESS_KEY_ID', key.access_key_id)
print('AWS_SECRET_ACCESS_KEY', key.secret_access_key)
result["user"] = user
result["key"] = key
result["request_id"] = user_response.create_user_response.response_metadata.request_id
result["policy"] = iam.get_user_policy('melvins', 'allow_access_houdini') \
    .get_user_policy_response.get_user_policy_result.policy_document

# ---- Part 2: a group for trusted staff -------------------------------------
iam = connect(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)

# Create group
iam.create_group('admins')

# Apply full access IAM policy
policy_json = '''{
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "*",
      "Resource": "*"
    }
  ]
}'''
iam.put_group_policy('admins', 'allow_all', policy_json)

# Create users
iam.create_user('buzzo')
iam.create_user('lorax')
iam.create_user('dale')

# Generate access keys
staff_keys = {}
for name in ('buzzo', 'lorax', 'dale'):
    k = iam.create_access_key(name).create_access_key_response.create_access_key_result.access_key
    staff_keys[name] = k

# Add users to group
iam.add_user_to_group('admins', 'buzzo')
iam.add_user_to_group('admins', 'lorax')
iam.add_user_to_group('admins', 'dale')

# So when Lorax takes off, it's just a simple matter.
iam.remove_user_from_group('admins', 'lorax')

result["staff_keys"] = staff_keys
group = iam.get_group('admins').get_group_response.get_group_result
result["group"] = group.group
result["members"] = sorted(u.user_name for u in group.users)
result["all_users"] = sorted(
    u.user_name for u in iam.get_all_users().list_users_response.list_users_result.users)

# ---- Beyond the article: what each key may do now, seen from boto 2 --------
def attempt(name, key, fn):
    try:
        fn(connect(key.access_key_id, key.secret_access_key))
        return {"ok": True}
    except BotoServerError as e:
        return {"ok": False, "status": e.status, "code": e.error_code, "message": e.message}

result["as"] = {
    "buzzo": attempt("buzzo", staff_keys["buzzo"], lambda c: c.create_user('from-buzzo')),
    "lorax": attempt("lorax", staff_keys["lorax"], lambda c: c.create_user('from-lorax')),
    "dale": attempt("dale", staff_keys["dale"], lambda c: c.get_all_users()),
    "melvins": attempt("melvins", key, lambda c: c.create_user('from-melvins')),
}
try:
    iam.create_user('melvins')
    result["duplicate"] = {"ok": True}
except BotoServerError as e:
    result["duplicate"] = {"status": e.status, "code": e.error_code, "message": e.message}

print("RESULT " + json.dumps(result))
