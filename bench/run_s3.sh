#!/usr/bin/env bash
# S3 side of the replay benchmark: GetObject of a 1 KiB object, signed by melvins
# (inline policy s3:* on houdini, so every request goes through the policy engine),
# against iamd and moto_server in the same run, with the shared tools in
# ../shared/bench (or $SHARED_BENCH).   usage: bench/run_s3.sh [--reps N] [--duration 10s]
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=3; DURATION=10s
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS=$2; shift 2;;
    --duration) DURATION=$2; shift 2;;
    *) echo "unknown argument $1" >&2; exit 2;;
  esac
done
SHARED=${SHARED_BENCH:-$(cd .. && pwd)/shared/bench}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
python3 -m pip install -q -r requirements.txt 'moto[server]==5.2.1'
cargo build --release -p iamd --quiet
BIN=${CARGO_TARGET_DIR:-target}/release/iamd

AK=AKIAIOSFODNN7EXAMPLE; SK=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
OUT=$(mktemp -d /tmp/iamd-bench-s3.XXXXXX)
IAMD_PORT=19921; MOTO_PORT=19922
cleanup() { kill "${IAMD_PID:-}" "${MOTO_PID:-}" 2>/dev/null || true; }
trap cleanup EXIT

IAMD_ROOT_ACCESS_KEY_ID=$AK IAMD_ROOT_SECRET_ACCESS_KEY=$SK IAMD_LOG=warn \
  "$BIN" serve --listen 127.0.0.1:$IAMD_PORT --data-dir "$OUT/data" --account-id 123456789012 \
  >"$OUT/iamd.log" 2>&1 &
IAMD_PID=$!
moto_server -p $MOTO_PORT >"$OUT/moto.log" 2>&1 &
MOTO_PID=$!
for port in $IAMD_PORT $MOTO_PORT; do
  for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
done

rss() { awk '/VmRSS/ {print $2}' /proc/$1/status; }
mkdir -p "$OUT/tools" && cp "$SHARED"/*.py "$OUT/tools/"
cd "$OUT"
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
  python3 tools/run_wrk.py --endpoint "$ep" --label "$label" --reps "$REPS" --duration "$DURATION" \
    replay/${label}_s3-get-object &
  WRK=$!
  if [ "$label" = iamd ]; then
    sleep 5; LOAD_RSS=$(rss $IAMD_PID)
  fi
  wait $WRK
done
python3 - "$OUT" "$IDLE_RSS" "$LOAD_RSS" <<'PY'
import json, sys, glob, os
out, idle, load = sys.argv[1], sys.argv[2], sys.argv[3]
res = {}
for f in glob.glob(os.path.join(out, "tools", "results", "wrk_*.json")):
    res[os.path.basename(f)[4:-5]] = json.load(open(f))
def find(label, op):
    for k, v in res[label].items():
        if op in k:
            return v
print("\n| request | iamd req/s | iamd p50 ms | moto req/s | moto p50 ms | ratio |")
print("|---|---:|---:|---:|---:|---:|")
a, b = find("iamd", "s3-get-object"), find("moto", "s3-get-object")
print(f"| S3 GetObject 1 KiB (melvins) | {a['rps']:.0f} | {a['p50_ms']:.2f} | {b['rps']:.0f} | {b['p50_ms']:.1f} | {a['rps']/b['rps']:.0f}x |")
print(f"\niamd RSS idle {int(idle)/1024:.1f} MiB, under load {int(load)/1024:.1f} MiB")
PY
