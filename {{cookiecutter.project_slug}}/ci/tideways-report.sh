#!/bin/sh
# After the load test: Locust's figures beside Tideways' for the run, written to
# reports/tideways-report.md, .json and .html (and the GitHub job summary).
#
# Runs only when TIDEWAYS_API_TOKEN (a CI secret) is set; the token comes from the
# environment, never from this command line. It waits up to LOAD_TEST_REPORT_WAIT
# seconds (default 120) for Tideways to ingest the run's last minute.
# Exit code: 0 written, 1 an API call failed (the part fetched is written), 2 no run to report.
set -eu
cd "$(dirname "$0")/.."
if [ -z "${TIDEWAYS_API_TOKEN:-}" ]; then
    echo "No TIDEWAYS_API_TOKEN secret: no Tideways report (README: CI)."
    exit 0
fi
set -- --wait "${LOAD_TEST_REPORT_WAIT:-120}"
echo "python -m tideways_locust.report $*"
exec python -m tideways_locust.report "$@"
