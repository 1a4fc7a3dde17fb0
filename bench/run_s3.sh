#!/usr/bin/env bash
# S3 side of the replay benchmark: GetObject of a 1 KiB object, signed by melvins
# (inline policy s3:* on houdini, so every request goes through the policy engine),
# against iamd and moto_server in the same run, with the shared tools in
# ../shared/bench (or $SHARED_BENCH).   usage: bench/run_s3.sh [--reps N] [--duration 10s]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_args "$@"
bench_setup
IAMD_PORT=19921; MOTO_PORT=19922
bench_start iamd-bench-s3

bench_enter_out
for target in iamd:$IAMD_PORT moto:$MOTO_PORT; do
  label=${target%%:*}; port=${target##*:}; ep=http://127.0.0.1:$port
  python3 tools/seed_endpoint.py "$ep" $AK $SK >/dev/null
  # melvins' own key, with the story's inline policy.
  read -r MAK MSK < <(python3 - "$ep" $AK $SK <<'PY'
import json, sys, boto3
ep, ak, sk = sys.argv[1:4]
iam = boto3.client("iam", endpoint_url=ep, region_name="us-east-1", aws_access_key_id=ak, aws_secret_access_key=sk)
iam.put_user_policy(UserName="melvins", PolicyName="allow_access_houdini", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",
                    "Resource": ["arn:aws:s3:::houdini", "arn:aws:s3:::houdini/*"]}]}))
k = iam.create_access_key(UserName="melvins")["AccessKey"]
print(k["AccessKeyId"], k["SecretAccessKey"])
PY
)
  python3 tools/sign_request.py --endpoint "$ep" --access-key "$MAK" --secret-key "$MSK" \
    --op s3-get-object --bucket houdini --key obj-1k.bin --out-prefix "replay/${label}_s3-get-object" >/dev/null
  IDLE_RSS=${IDLE_RSS:-$(rss $IAMD_PID)}
  bench_wrk "$ep" "$label" "replay/${label}_s3-get-object"
done
bench_report "S3 GetObject 1 KiB (melvins)=s3-get-object"
