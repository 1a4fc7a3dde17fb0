#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests (iamd-store's, the server's, the Python e2e
# tests'). Loopback only, trust authentication, fsync left on.
#
#   pg-test-cluster.sh start DIR        initdb + start in DIR (created; must be new or
#                                       empty); prints the URL of the `postgres` database:
#                                       postgres://postgres@127.0.0.1:PORT/postgres
#   pg-test-cluster.sh url DIR          prints that URL again
#   pg-test-cluster.sh stop DIR         stops it (immediate) and removes what start made
#                                       (KEEP=1: keep the files, e.g. to read postgres.log)
#   pg-test-cluster.sh pause DIR        stops the server (fast), keeping everything
#   pg-test-cluster.sh resume DIR       starts it again on the same port
#   pg-test-cluster.sh watch PID DIR    waits until process PID exits, then stops DIR
#                                       (a guard against leaking clusters from a test
#                                       process that dies or panics)
#   pg-test-cluster.sh ensure DIR PID   (for test harnesses sharing one cluster between
#                                       processes) under a lock on DIR.lock: prints the
#                                       URL of the cluster running in DIR, or starts one
#                                       there with a detached `watch PID DIR`
#
# initdb refuses to run as root: as root, the cluster runs as the `postgres` OS user
# (Debian's postgresql package creates it). PostgreSQL's binaries are taken from
# $PG_BIN, else from the `initdb` on PATH, else the newest /usr/lib/postgresql/*/bin.
set -euo pipefail

die() { echo "pg-test-cluster: $*" >&2; exit 2; }
usage() { die "usage: $0 start|url|stop|pause|resume DIR, $0 watch PID DIR, or $0 ensure DIR PID"; }

find_bin() {
    if [ -n "${PG_BIN:-}" ]; then
        [ -x "$PG_BIN/initdb" ] || die "PG_BIN=$PG_BIN has no initdb"
        echo "$PG_BIN"; return
    fi
    if command -v initdb >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v initdb)")"; return
    fi
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$d/initdb" ]; then echo "$d"; return; fi
    done
    die "initdb not found: install PostgreSQL (Debian: apt-get install -y postgresql) or set PG_BIN"
}

# Runs a command as the cluster's owner.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

port_in_use() { (: </dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

start() {
    local dir=$1 bin port attempt
    bin=$(find_bin)
    if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then die "$dir exists and is not empty"; fi
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" = 0 ]; then
        id -u postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' OS user (apt-get install -y postgresql)"
        chown postgres: "$dir"
        as_owner test -w "$dir" || die "the postgres user cannot write $dir (is a parent directory private?)"
    fi
    touch "$dir/.pg-test-cluster"
    cd "$dir"
    # --no-sync: only initdb's own final fsync of the fresh files is skipped; the
    # server itself runs with fsync on.
    if ! as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C \
        --no-sync >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        die "initdb failed"
    fi
    as_owner mkdir -p "$dir/sock"
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
        port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
        port_in_use "$port" && continue
        if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
            -o "-p $port -c listen_addresses=127.0.0.1 -k $dir/sock -c max_connections=300" \
            start >"$dir/pg_ctl.log" 2>&1; then
            echo "$port" >"$dir/port"
            echo "$bin" >"$dir/bin"
            url "$dir"
            return
        fi
    done
    cat "$dir/pg_ctl.log" "$dir/postgres.log" >&2 || true
    die "could not start postgres in $dir"
}

url() {
    local dir=$1
    [ -f "$dir/port" ] || die "no cluster in $dir"
    echo "postgres://postgres@127.0.0.1:$(cat "$dir/port")/postgres"
}

stop() {
    local dir=$1 bin
    [ -f "$dir/.pg-test-cluster" ] || die "$dir was not made by $0"
    if [ -f "$dir/data/postmaster.pid" ]; then
        bin=$(cat "$dir/bin" 2>/dev/null || find_bin)
        (cd "$dir" && as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1) || true
    fi
    if [ "${KEEP:-0}" != 1 ]; then
        rm -rf "$dir/data" "$dir/sock"
        rm -f "$dir/initdb.log" "$dir/postgres.log" "$dir/pg_ctl.log" "$dir/port" "$dir/bin" \
            "$dir/.pg-test-cluster"
        rmdir "$dir" 2>/dev/null || true
        rm -f "$dir.lock"
    fi
}

pause() {
    local dir=$1 bin
    bin=$(cat "$dir/bin")
    (cd "$dir" && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null)
}

resume() {
    local dir=$1 bin port
    bin=$(cat "$dir/bin")
    port=$(cat "$dir/port")
    (cd "$dir" && as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
        -o "-p $port -c listen_addresses=127.0.0.1 -k $dir/sock -c max_connections=300" \
        start >"$dir/pg_ctl.log" 2>&1) || { cat "$dir/pg_ctl.log" >&2; die "could not resume $dir"; }
}

running() {
    local dir=$1 bin
    [ -f "$dir/port" ] && [ -f "$dir/bin" ] || return 1
    bin=$(cat "$dir/bin")
    (cd "$dir" && as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1)
}

ensure() {
    local dir=$1 pid=$2
    exec 9>"$dir.lock"
    flock 9
    if running "$dir"; then
        url "$dir"
        return
    fi
    # The watchdog first, so that a caller killed while this runs leaks nothing: it
    # waits for PID to exit, then for this lock, then stops the cluster. It must not
    # inherit the lock (fd 9) nor the caller's pipes.
    if [ -n "${BASH_EXECUTION_STRING:-}" ]; then
        setsid bash -c "$BASH_EXECUTION_STRING" pg-test-cluster.sh watch "$pid" "$dir" \
            </dev/null >/dev/null 2>&1 9>&- &
    else
        setsid bash "$(readlink -f "$0")" watch "$pid" "$dir" </dev/null >/dev/null 2>&1 9>&- &
    fi
    # Nothing started here may inherit the lock either: the postmaster would hold it
    # for its whole life. A half-made directory from an earlier failed start is
    # cleared first.
    if [ -f "$dir/.pg-test-cluster" ]; then KEEP=0 stop "$dir" 9>&-; fi
    start "$dir" 9>&-
}

watch() {
    local pid=$1 dir=$2
    while kill -0 "$pid" 2>/dev/null; do sleep 1; done
    # Wait for a start still in progress (`ensure` holds the lock while starting).
    if [ -e "$dir.lock" ]; then
        exec 8>>"$dir.lock"
        flock 8
    fi
    if [ -f "$dir/.pg-test-cluster" ]; then stop "$dir"; fi
}

case "${1:-}" in
    start) [ $# -eq 2 ] || usage; start "$2" ;;
    url) [ $# -eq 2 ] || usage; url "$2" ;;
    pause) [ $# -eq 2 ] || usage; pause "$2" ;;
    resume) [ $# -eq 2 ] || usage; resume "$2" ;;
    stop) [ $# -eq 2 ] || usage; stop "$2" ;;
    watch) [ $# -eq 3 ] || usage; watch "$2" "$3" ;;
    ensure) [ $# -eq 3 ] || usage; ensure "$2" "$3" ;;
    *) usage ;;
esac
