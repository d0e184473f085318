#!/bin/sh
# After the load test and the report: this run beside a baseline, written to
# reports/tideways-compare.md, .json and .html (and the GitHub job summary).
#
# The baseline is the committed baseline/ folder when it holds a run file
# (python -m tideways_locust.compare --save-baseline baseline writes it), else the
# folder LOAD_TEST_BASELINE, where the pipeline put the reports of the default
# branch's latest successful run; without either, the run passes with one line.
# LOAD_TEST_REGRESSION says what a run slower than its baseline does: fail (exit 4),
# warn (a warning, exit 0) or off (no comparison); the default is the answer baked in.
# The API token comes from TIDEWAYS_API_TOKEN in the environment, never from this command line.
# Exit code: 0 no regression, or none that fails; 1 an API call failed (the rest is
# written); 2 a bad LOAD_TEST_REGRESSION, a bad run file, or runs that cannot be compared; 4 a regression.
set -eu
cd "$(dirname "$0")/.."
gate="${LOAD_TEST_REGRESSION:-}"
[ -n "$gate" ] || gate="{{ cookiecutter.regression_gate }}"
case "$gate" in
    fail | warn) ;;
    off)
        echo "LOAD_TEST_REGRESSION is off: this run is not compared with a baseline."
        exit 0
        ;;
    *)
        echo "LOAD_TEST_REGRESSION: '$gate' is not allowed: fail, warn or off (README: CI)." >&2
        exit 2
        ;;
esac
if [ -f baseline/tideways-run.json ]; then
    baseline=baseline
elif [ -n "${LOAD_TEST_BASELINE:-}" ]; then
    baseline="$LOAD_TEST_BASELINE"
else
    echo "No baseline/ folder and no LOAD_TEST_BASELINE: nothing to compare with, this run passes."
    exit 0
fi
echo "python -m tideways_locust.compare --baseline $baseline --missing-ok"
status=0
python -m tideways_locust.compare --baseline "$baseline" --missing-ok || status=$?
if [ "$status" -eq 4 ] && [ "$gate" = warn ]; then
    message="This run is slower than its baseline ($baseline; reports/tideways-compare.md). LOAD_TEST_REGRESSION is warn: the pipeline passes."
    if [ -n "${GITHUB_ACTIONS:-}" ]; then
        echo "::warning title=Slower than the baseline::$message"
    else
        echo "WARNING: $message"
    fi
    exit 0
fi
exit "$status"
