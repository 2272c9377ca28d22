#!/usr/bin/env bash
# Runs every test after `make test` built them: OpenAPI lint, unit + storage, HTTP on both backends.
# Not -e: a failing part is counted and the next one still runs. Ends with "N passed, N failed".
set -u
set -o pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
BUILD=${BUILD:-build}

started=$SECONDS
work=$(mktemp -d) || exit 2
pgdir=$(mktemp -d) || exit 2 # its own folder: it is handed to the postgres user when root
pgport=""
part_pid=""

cleanup() {
    if [[ -n $part_pid ]]; then
        kill -TERM "$part_pid" 2>/dev/null
        wait "$part_pid" 2>/dev/null
    fi
    if [[ -n $pgport ]]; then
        scripts/pg-cluster.sh stop "$pgdir" || true
    fi
    rm -rf "$work" "$pgdir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Redocly must not try to reach its servers (CI has no network to them).
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_NOTIFICATIONS=true DO_NOT_TRACK=1

total_passed=0
total_failed=0
summaries=()

heading() {
    printf '\n==== %s ====\n' "$1"
}

# Records one part's counts: NAME LABEL PASSED FAILED.
record() {
    summaries+=("$1 [$2]: $3 passed, $4 failed")
    total_passed=$((total_passed + $3))
    total_failed=$((total_failed + $4))
}

# Runs a command with a time limit, showing its output and keeping it in $work/LOG; sets
# `status` to its exit status. It runs in the background so that INT and TERM reach the trap
# at once; `timeout` then ends its whole process group (servers the tests started included).
run_logged() {
    local log=$work/$1 limit=$2 tail_pid
    shift 2
    : >"$log"
    timeout -k 10 "$limit" "$@" >"$log" 2>&1 </dev/null &
    part_pid=$!
    tail -s 0.2 -n +1 -f --pid="$part_pid" "$log" &
    tail_pid=$!
    wait "$part_pid"
    status=$?
    part_pid=""
    wait "$tail_pid"
    if [[ $status -eq 124 || $status -eq 137 ]]; then
        echo "tests/run.sh: timed out after ${limit}s: $*"
    fi
}

# The last number after `prefix` on a line of LOG, or "" when none.
last_count() {
    sed -n "s/^$2\([0-9][0-9]*\).*/\1/p" "$work/$1" | tail -n 1
}

# Counts a `node --test` run from its summary ("# pass N", "# fail N", "# cancelled N").
record_node() {
    local name=$1 label=$2 log=$3 tests pass fail cancelled skipped
    tests=$(last_count "$log" '# tests ')
    pass=$(last_count "$log" '# pass ')
    fail=$(last_count "$log" '# fail ')
    cancelled=$(last_count "$log" '# cancelled ')
    skipped=$(last_count "$log" '# skipped ')
    if [[ -z $pass || -z $fail ]]; then
        echo "tests/run.sh: $name [$label] printed no counts (exit status $status)"
        record "$name" "$label" 0 1
        return
    fi
    if [[ ${tests:-0} -eq 0 ]]; then
        echo "tests/run.sh: $name [$label] ran no test"
        record "$name" "$label" 0 1
        return
    fi
    fail=$((fail + ${cancelled:-0}))
    if [[ $status -ne 0 && $fail -eq 0 ]]; then
        echo "tests/run.sh: $name [$label] exited with status $status"
        fail=1
    fi
    record "$name" "$label" "$pass" "$fail"
    if [[ ${skipped:-0} -gt 0 ]]; then
        summaries[-1]+=" (${skipped} skipped)"
    fi
}

free_port() {
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---- PostgreSQL -------------------------------------------------------------------------------
heading "PostgreSQL: throwaway cluster"
pgport=$(free_port) || pgport=54329
if ! scripts/pg-cluster.sh start "$pgdir" "$pgport"; then
    echo "tests/run.sh: cannot start PostgreSQL; the postgres parts will fail"
fi
pg_url=$(scripts/pg-cluster.sh url "$pgdir" "$pgport")
pg_template=${pg_url/\/postgres\?/\/coi_unit_%d?}
echo "cluster in $pgdir, port $pgport"

# ---- (a) OpenAPI lint ---------------------------------------------------------------------------
heading "OpenAPI lint: redocly lint openapi/openapi.yaml"
run_logged lint.log 60 npx --no-install redocly lint openapi/openapi.yaml
if [[ $status -eq 0 ]]; then
    record lint openapi 1 0
else
    record lint openapi 0 1
fi

# ---- (b) unit and storage conformance -------------------------------------------------------
heading "Unit and storage conformance tests: $BUILD/unit-tests (sqlite, postgres)"
mkdir -p "$work/sqlite"
COI_TEST_STORAGE_URLS="sqlite:$work/sqlite/unit-%d.db $pg_template" \
    run_logged unit.log 120 $BUILD/unit-tests
# Per backend from the "ok NAME [backend]" / "FAIL NAME [backend]" lines; the closing
# "unit: N passed, N failed" must be there and agree, or the run counts as one more failure.
declare -A unit_ok=() unit_fail=()
while read -r result backend; do
    if [[ $result == ok ]]; then
        unit_ok[$backend]=$((${unit_ok[$backend]:-0} + 1))
    else
        unit_fail[$backend]=$((${unit_fail[$backend]:-0} + 1))
    fi
done < <(sed -n -E 's/^(ok|FAIL) [^ ]+( \[([a-z]+)\])?$/\1 \3/p' "$work/unit.log" |
    sed -E 's/ $/ plain/')
unit_passed=0 unit_failed=0
for backend in plain sqlite postgres; do
    unit_passed=$((unit_passed + ${unit_ok[$backend]:-0}))
    unit_failed=$((unit_failed + ${unit_fail[$backend]:-0}))
done
unit_line=$(grep -E '^unit: [0-9]+ passed, [0-9]+ failed$' "$work/unit.log" | tail -n 1)
complete=1
[[ $unit_line == "unit: $unit_passed passed, $unit_failed failed" ]] || complete=0
for backend in plain sqlite postgres; do
    ok=${unit_ok[$backend]:-0} fail=${unit_fail[$backend]:-0}
    if [[ $complete -eq 1 && $((ok + fail)) -eq 0 ]]; then
        echo "tests/run.sh: $BUILD/unit-tests ran no $backend test"
        fail=1
    fi
    record unit "${backend/plain/no storage}" "$ok" "$fail"
done
if [[ $complete -eq 0 ]]; then
    echo "tests/run.sh: $BUILD/unit-tests ended without its closing count (exit status $status)"
    record unit "exit status $status" 0 1
elif [[ $status -ne 0 && $unit_failed -eq 0 ]]; then
    echo "tests/run.sh: $BUILD/unit-tests exited with status $status (a sanitizer report?)"
    record unit "exit status $status" 0 1
fi

# ---- (c) HTTP, once per backend ---------------------------------------------------------------
heading "HTTP tests [sqlite]: node --test tests/http/"
COI_BIN=$BUILD/coi-test COI_TEST_BACKEND=sqlite \
    run_logged http-sqlite.log 180 node --test --test-concurrency=1 tests/http/
record_node http sqlite http-sqlite.log

heading "HTTP tests [postgres]: node --test tests/http/"
COI_BIN=$BUILD/coi-test COI_TEST_BACKEND=postgres COI_TEST_PG_HOST="$pgdir" \
    COI_TEST_PG_PORT="$pgport" \
    run_logged http-postgres.log 180 node --test --test-concurrency=1 tests/http/
record_node http postgres http-postgres.log

# ---- summary --------------------------------------------------------------------------------
heading "Summary"
for line in "${summaries[@]}"; do
    echo "$line"
done
echo "duration: $((SECONDS - started))s"
echo "$total_passed passed, $total_failed failed"
[[ $total_failed -eq 0 ]]
