#!/bin/sh
# The headless load test that CI runs, on GitHub Actions and GitLab CI alike.
#
# Settings come from locust.conf; a non-empty LOAD_TEST_HOST, LOAD_TEST_USERS,
# LOAD_TEST_RUN_TIME, LOAD_TEST_PROFILE or LOAD_TEST_TRACE_RATE overrides one of them. The API
# key comes from LOCUST_TIDEWAYS_APIKEY in the environment, never from this
# command line. Reports: reports/report.html, reports/stats_*.csv, reports/stats.json,
# reports/tideways-run.json for ci/tideways-report.sh, and reports/tideways-traces.jsonl
# (the traced requests, the evidence ci/compare.sh links).
# Exit code: 0 passed, 2 Locust failed, 3 a pass/fail limit was exceeded (thresholds.py).
set -eu
cd "$(dirname "$0")/.."
mkdir -p reports
set -- --headless --only-summary --html reports/report.html --csv reports/stats --json-file reports/stats \
    --tideways-trace-log reports/tideways-traces.jsonl
[ -z "${LOAD_TEST_HOST:-}" ] || set -- "$@" --host "$LOAD_TEST_HOST"
[ -z "${LOAD_TEST_USERS:-}" ] || set -- "$@" --users "$LOAD_TEST_USERS"
[ -z "${LOAD_TEST_RUN_TIME:-}" ] || set -- "$@" --run-time "$LOAD_TEST_RUN_TIME"
[ -z "${LOAD_TEST_PROFILE:-}" ] || set -- "$@" --load-profile "$LOAD_TEST_PROFILE"
[ -z "${LOAD_TEST_TRACE_RATE:-}" ] || set -- "$@" --tideways-trace-rate "$LOAD_TEST_TRACE_RATE"
echo "locust $*"
exec locust "$@"
