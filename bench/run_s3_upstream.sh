#!/usr/bin/env bash
# GetObject 1 KiB through the upstream object-storage backend vs the local backend,
# in the same run: iamd "local" (objects in its data directory) and iamd "upstream"
# (objects on a third iamd, "store", on its local backend, reached over loopback HTTP
# with its own key), each seeded like bench/run_s3.sh (melvins, houdini/obj-1k.bin)
# and replayed with wrk. All three processes share this machine's cores: the upstream
# figure pays for the second server's work too.
#   usage: bench/run_s3_upstream.sh [--reps N] [--duration 10s] [--conns 16]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_args "$@"
bench_setup
LOCAL_PORT=19931; UPSTREAM_PORT=19932; STORE_PORT=19933
OUT=$(mktemp -d -t iamd-bench-s3-upstream.XXXXXX)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT

# serve NAME PORT [env assignments...]: iamd on PORT with data in $OUT/NAME.
serve() {
  local name=$1 port=$2; shift 2
  env IAMD_ROOT_ACCESS_KEY_ID=$AK IAMD_ROOT_SECRET_ACCESS_KEY=$SK IAMD_LOG=warn "$@" \
    "$BIN" serve --listen 127.0.0.1:$port --data-dir "$OUT/$name" --account-id 123456789012 \
    >"$OUT/$name.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 200); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && return; sleep 0.1; done
  echo "iamd $name did not start:" >&2; cat "$OUT/$name.log" >&2; exit 1
}

serve store $STORE_PORT
# The store's bucket and a key allowed only that bucket.
read -r UAK USK < <(python3 - "http://127.0.0.1:$STORE_PORT" $AK $SK <<'PY'
import json, sys, boto3
ep, ak, sk = sys.argv[1:4]
kw = dict(endpoint_url=ep, region_name="us-east-1", aws_access_key_id=ak, aws_secret_access_key=sk)
iam = boto3.client("iam", **kw)
iam.create_user(UserName="blobstore")
iam.put_user_policy(UserName="blobstore", PolicyName="bytes", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",
     "Resource": ["arn:aws:s3:::iamd-bytes", "arn:aws:s3:::iamd-bytes/*"]}]}))
boto3.client("s3", **kw).create_bucket(Bucket="iamd-bytes")
k = iam.create_access_key(UserName="blobstore")["AccessKey"]
print(k["AccessKeyId"], k["SecretAccessKey"])
PY
)
serve local $LOCAL_PORT
serve upstream $UPSTREAM_PORT IAMD_S3_UPSTREAM_ENDPOINT=http://127.0.0.1:$STORE_PORT \
  IAMD_S3_UPSTREAM_BUCKET=iamd-bytes IAMD_S3_UPSTREAM_ACCESS_KEY_ID="$UAK" \
  IAMD_S3_UPSTREAM_SECRET_ACCESS_KEY="$USK"

bench_melvins local $LOCAL_PORT
bench_melvins upstream $UPSTREAM_PORT
# The upstream node's object is on the store (and only there).
python3 - "http://127.0.0.1:$STORE_PORT" "$UAK" "$USK" <<'PY'
import sys, boto3
ep, ak, sk = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=ep, region_name="us-east-1", aws_access_key_id=ak, aws_secret_access_key=sk)
sizes = [o["Size"] for o in s3.list_objects_v2(Bucket="iamd-bytes").get("Contents", [])]
assert 1024 in sizes, sizes
PY
python3 bench/tools/wrk_runs.py --requests "$OUT/requests" --out "$OUT/results" \
  --reps "$REPS" --duration "$DURATION" --conns "$CONNS" --rss "upstream=${PIDS[2]}" \
  --ops s3-get-object \
  --server "local=http://127.0.0.1:$LOCAL_PORT" \
  --server "upstream=http://127.0.0.1:$UPSTREAM_PORT" \
  --ratio upstream/local --names "s3-get-object=S3 GetObject 1 KiB (melvins)"
echo "raw wrk output: $OUT/results/wrk"
