# What bench/run.sh and bench/run_s3.sh share (sourced from the repository root):
# arguments, tools and the release build, the servers started side by side, and the
# signing of the replayed requests. The tools are in bench/tools. Functions set
# globals, as the scripts did inline.

# [--reps N] [--duration 10s] [--conns 16] → REPS, DURATION, CONNS.
bench_args() {
  REPS=3; DURATION=10s; CONNS=16
  while [ $# -gt 0 ]; do
    case "$1" in
      --reps) REPS=$2; shift 2;;
      --duration) DURATION=$2; shift 2;;
      --conns) CONNS=$2; shift 2;;
      *) echo "unknown argument $1" >&2; exit 2;;
    esac
  done
}

# wrk, moto_server, the Python packages and release builds of iamd (BIN, or the binary
# named by IAMD_BENCH_BIN, e.g. an earlier build to compare with) and of the ceiling
# server (CEILING_BIN); AK/SK: the root key.
bench_setup() {
  command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
  python3 -m pip install -q -r requirements.txt 'moto[server]==5.2.1'
  cargo build --release -p iamd --bin iamd --example ceiling --quiet
  BIN=${IAMD_BENCH_BIN:-${CARGO_TARGET_DIR:-target}/release/iamd}
  CEILING_BIN=${CARGO_TARGET_DIR:-target}/release/examples/ceiling
  AK=AKIAIOSFODNN7EXAMPLE; SK=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
}

bench_cleanup() { kill ${IAMD_PID:-} ${MOTO_PID:-} ${CEILING_PID:-} ${FLOOR_PID:-} 2>/dev/null || true; }

# bench_start NAME: a new temporary folder NAME.XXXXXX (OUT) for data, logs and results; iamd on
# IAMD_PORT (IAMD_PID), moto_server on MOTO_PORT (MOTO_PID), if CEILING_PORT is
# set, the ceiling server (CEILING_PID; with CEILING_ARGS, e.g. --body-bytes 1024) and, if FLOOR_PORT is set, the floor server
# (the ceiling server verifying SigV4 with the root secret; FLOOR_PID), all stopped on
# exit; returns once all accept connections.
bench_start() {
  OUT=$(mktemp -d -t "$1.XXXXXX")
  trap bench_cleanup EXIT
  IAMD_ROOT_ACCESS_KEY_ID=$AK IAMD_ROOT_SECRET_ACCESS_KEY=$SK IAMD_LOG=warn \
    "$BIN" serve --listen 127.0.0.1:$IAMD_PORT --data-dir "$OUT/data" --account-id 123456789012 \
    >"$OUT/iamd.log" 2>&1 &
  IAMD_PID=$!
  # moto loads its AWS-managed policy catalogue only when asked (ListPolicies Scope=AWS,
  # attaching them).
  MOTO_IAM_LOAD_MANAGED_POLICIES=true moto_server -p $MOTO_PORT >"$OUT/moto.log" 2>&1 &
  MOTO_PID=$!
  local ports="$IAMD_PORT $MOTO_PORT" port
  if [ -n "${CEILING_PORT:-}" ]; then
    "$CEILING_BIN" 127.0.0.1:$CEILING_PORT ${CEILING_ARGS:-} >"$OUT/ceiling.log" 2>&1 &
    CEILING_PID=$!
    ports="$ports $CEILING_PORT"
  fi
  if [ -n "${FLOOR_PORT:-}" ]; then
    "$CEILING_BIN" 127.0.0.1:$FLOOR_PORT --verify "$SK" >"$OUT/floor.log" 2>&1 &
    FLOOR_PID=$!
    ports="$ports $FLOOR_PORT"
  fi
  for port in $ports; do
    for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  done
}

rss() { awk '/VmRSS/ {print $2}' /proc/$1/status; }

# bench_sign LABEL PORT ACCESS_KEY SECRET_KEY OP [sign.py options]: signs OP for the
# server on PORT into $OUT/requests/LABEL_OP.{lua,json}.
bench_sign() {
  local label=$1 port=$2 ak=$3 sk=$4 op=$5; shift 5
  python3 bench/tools/sign.py --endpoint "http://127.0.0.1:$port" --access-key "$ak" \
    --secret-key "$sk" --op "$op" --out "$OUT/requests/${label}_$op" "$@"
}

# bench_sign_op LABEL PORT OP: bench_sign with the key OP is signed by in bench/README.md's
# table: a caller's, from the file `seed.py --callers` wrote (sourced before), or the root's.
bench_sign_op() {
  local label=$1 port=$2 op=$3
  case $op in
    sts-get-caller-identity-session)
      bench_sign $label $port "$SESSION_AK" "$SESSION_SK" $op --session-token "$SESSION_TOKEN";;
    sts-assume-role) bench_sign $label $port "$ASSUMER_AK" "$ASSUMER_SK" $op --role-arn "$ROLE_ARN";;
    iam-get-user-attached) bench_sign $label $port "$ATTACHED_AK" "$ATTACHED_SK" $op;;
    iam-get-user-inline) bench_sign $label $port "$INLINE_AK" "$INLINE_SK" $op;;
    *) bench_sign $label $port $AK $SK $op;;
  esac
}

# bench_wrk [wrk_runs.py options]: the interleaved wrk runs and the table.
bench_wrk() {
  python3 bench/tools/wrk_runs.py --requests "$OUT/requests" --out "$OUT/results" \
    --reps "$REPS" --duration "$DURATION" --conns "$CONNS" --rss "iamd=$IAMD_PID" "$@"
  echo "raw wrk output: $OUT/results/wrk"
}

# bench_melvins LABEL PORT: the S3 story's seed on the server on PORT (seed.py --s3:
# melvins, houdini/obj-1k.bin), melvins' own key with his inline policy s3:* on houdini
# (every request goes through the policy engine), and GetObject of obj-1k.bin signed
# with it as LABEL's request.
bench_melvins() {
  local label=$1 port=$2 ep=http://127.0.0.1:$2 mak msk
  python3 bench/tools/seed.py "$ep" $AK $SK --s3
  read -r mak msk < <(python3 - "$ep" $AK $SK <<'PY'
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
  bench_sign $label $port "$mak" "$msk" s3-get-object --bucket houdini --key obj-1k.bin
}
