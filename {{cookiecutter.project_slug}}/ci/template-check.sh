#!/bin/sh
# Warns, never fails, when this project is behind the template it was baked from
# (cruft check; README: Template updates). A project baked without cruft has no
# .cruft.json and nothing to check.
set -u
cd "$(dirname "$0")/.."
if [ ! -f .cruft.json ]; then
    echo "Not baked with cruft (no .cruft.json): no template check."
    exit 0
fi
if ! command -v cruft >/dev/null 2>&1; then
    echo "cruft is not installed (requirements-dev.txt): no template check."
    exit 0
fi
if cruft check; then
    exit 0
fi
message="cruft check did not pass: this project is behind its template (run 'cruft update', README: Template updates), or the template could not be reached."
if [ -n "${GITHUB_ACTIONS:-}" ]; then
    echo "::warning title=Template update::$message"
else
    echo "WARNING: $message"
fi
exit 0
