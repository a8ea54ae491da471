#!/bin/sh
# Measures the answer autosave end to end in one command:
#
#   cmd/loadsave/run.sh sqlite            # a fresh SQLite file (WAL, synchronous=FULL)
#   cmd/loadsave/run.sh postgres          # a fresh schema in $TEST_DATABASE_URL's database
#   cmd/loadsave/run.sh sqlite 60s        # each load for 60 s instead of 30 s
#
# It builds examgate and loadsave, starts examgate in demo mode on 127.0.0.1
# (port $LOADSAVE_PORT, 18080 by default) with the LOAD-1 catalog, and runs
# three loads of 200 candidates, each report with the load average and the
# server's CPU time per save:
#   1. every 2 s: the cohort of the issue (100 saves/s offered);
#   2. every 100 ms: 2,000 saves/s offered, the throughput of the target, at
#      which p99 must stay under 50 ms;
#   3. back to back: the ceiling.
# Every load creates new candidates; the database is removed at the end.
set -eu

db=${1:-}
dur=${2:-30s}
port=${LOADSAVE_PORT:-18080}
case $db in
sqlite | postgres) ;;
*)
	echo "usage: $0 sqlite|postgres [duration]" >&2
	exit 2
	;;
esac

cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
pid=
schema=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	if [ -n "$schema" ]; then
		# Without the notice listing every table the drop cascades to.
		PGOPTIONS=--client-min-messages=warning psql "$TEST_DATABASE_URL" -qc "DROP SCHEMA $schema CASCADE" || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

go build -o "$tmp/examgate" ./cmd/examgate
go build -o "$tmp/loadsave" ./cmd/loadsave
"$tmp/loadsave" -write-catalog "$tmp/exams.yaml" >/dev/null

if [ "$db" = sqlite ]; then
	url=$tmp/load.db
else
	: "${TEST_DATABASE_URL:?set TEST_DATABASE_URL to a PostgreSQL URL, such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
	schema=loadsave_$(date +%s)_$$
	psql "$TEST_DATABASE_URL" -qc "CREATE SCHEMA $schema"
	case $TEST_DATABASE_URL in
	*\?*) url="$TEST_DATABASE_URL&search_path=$schema" ;;
	*) url="$TEST_DATABASE_URL?search_path=$schema" ;;
	esac
fi

# The learner rate limit (20 requests/s per session by default) would answer
# a back-to-back candidate with 429; the load measures the save path.
EXAMGATE_LEARNER_RATE_LIMIT=0 EXAMGATE_DEMO=1 EXAMGATE_EXAMS="$tmp/exams.yaml" EXAMGATE_DATABASE_URL="$url" EXAMGATE_ADDR="127.0.0.1:$port" \
	"$tmp/examgate" >"$tmp/server.log" 2>&1 &
pid=$!
tries=0
until curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
	tries=$((tries + 1))
	if [ $tries -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "examgate did not start; its log:" >&2
		cat "$tmp/server.log" >&2
		exit 1
	fi
	sleep 0.2
done

echo "examgate $(git rev-parse --short HEAD 2>/dev/null || echo '?') on $db, $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
for interval in 2s 100ms 0; do
	echo
	echo "== 200 candidates, -interval $interval, -duration $dur"
	"$tmp/loadsave" -base "http://127.0.0.1:$port" -candidates 200 -interval "$interval" -duration "$dur" -server-pid "$pid"
done
