#!/usr/bin/env bash
# Side-by-side wrk replay of iamd, moto_server, the ceiling server (a bare hyper
# server answering a fixed body: crates/iamd/examples/ceiling.rs) and the floor (the
# same server verifying the request's SigV4 signature first) in the same run,
# with the tools in bench/tools. Prints req/s medians per operation, the ratios
# iamd/ceiling, floor/ceiling, iamd/floor and iamd/moto, the ratios between iamd's own
# operations that issues 11 and 12 ask for (role session / long-term key; 10 attached
# managed policies / the same statements inline), and iamd's resident memory idle and
# under load.
#   usage: bench/run.sh [--reps N] [--duration 10s] [--conns 16] [--ops "OP..."]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_args "$@"
bench_setup
IAMD_PORT=19911; MOTO_PORT=19912; CEILING_PORT=19913; FLOOR_PORT=19914
bench_start iamd-bench

# Signed with the root key (the floor verifies these) ...
ROOT_OPS="sts-get-caller-identity iam-get-user iam-list-users iam-list-policies-aws"
# ... and with the callers seed.py --callers makes (the floor knows only the root's secret).
CALLER_OPS="sts-get-caller-identity-session sts-assume-role iam-get-user-attached iam-get-user-inline"
OPS=${BENCH_OPS:-$ROOT_OPS $CALLER_OPS}
for target in iamd:$IAMD_PORT moto:$MOTO_PORT; do
  label=${target%%:*}; port=${target##*:}
  python3 bench/tools/seed.py "http://127.0.0.1:$port" $AK $SK --callers "$OUT/${label}_callers.sh"
  # ASSUMER_AK/SK, ROLE_ARN, SESSION_AK/SK/TOKEN, ATTACHED_AK/SK, INLINE_AK/SK
  . "$OUT/${label}_callers.sh"
  for op in $OPS; do bench_sign_op $label $port $op; done
done
echo "iamd RSS idle: $(( $(rss $IAMD_PID) / 1024 )) MiB"

SKIPS=()
for op in $CALLER_OPS; do
  case " $OPS " in *" $op "*) SKIPS+=(--skip "floor:$op=root only");; esac
done
RATIOS=()
pair() { case " $OPS " in *" $1 "*) case " $OPS " in *" $2 "*) RATIOS+=(--ratio "iamd:$1/iamd:$2");; esac;; esac; }
pair sts-get-caller-identity-session sts-get-caller-identity   # issue 11: within 10 %
pair iam-get-user-attached iam-get-user-inline                 # issue 12: within 2x
# The ceiling and floor servers get iamd's request bytes (the ceiling ignores them, the
# floor verifies their signature).
bench_wrk --ops $OPS \
  --server "iamd=http://127.0.0.1:$IAMD_PORT" \
  --server "ceiling=http://127.0.0.1:$CEILING_PORT@iamd" \
  --server "floor=http://127.0.0.1:$FLOOR_PORT@iamd" \
  --server "moto=http://127.0.0.1:$MOTO_PORT" \
  --ratio iamd/ceiling --ratio floor/ceiling --ratio iamd/floor --ratio iamd/moto \
  ${RATIOS[@]+"${RATIOS[@]}"} ${SKIPS[@]+"${SKIPS[@]}"} \
  --names "sts-get-caller-identity=STS GetCallerIdentity (root)" \
          "iam-get-user=IAM GetUser melvins (root)" \
          "iam-list-users=IAM ListUsers, 100 users (root)" \
          "iam-list-policies-aws=IAM ListPolicies Scope=AWS, first page of 100 (root)" \
          "sts-get-caller-identity-session=STS GetCallerIdentity (role session)" \
          "sts-assume-role=STS AssumeRole (user, replayed)" \
          "iam-get-user-attached=IAM GetUser melvins (melvins: 10 managed policies attached)" \
          "iam-get-user-inline=IAM GetUser melvins (bench-inline: the same statements inline)"
