#!/bin/sh
# Before ci/compare.sh on GitLab CI: the baseline, the run file, report and trace log
# of the load-test job of the default branch's latest successful pipeline, from
# GitLab's job-artifacts API, into the folder LOAD_TEST_BASELINE.
#
# The job's own CI_JOB_TOKEN authenticates (the JOB-TOKEN header, never sent on to
# where a download is redirected); no other token is needed. A committed baseline/
# with a run file, LOAD_TEST_REGRESSION off, no such pipeline yet (404) or any
# failure leaves no baseline, says so in one line, and the run passes.
# Exit code: always 0.
set -eu
cd "$(dirname "$0")/.."
: "${LOAD_TEST_BASELINE:?the folder for the baseline (.gitlab-ci.yml sets it)}"
if [ -f baseline/tideways-run.json ]; then
    echo "The committed baseline/ is the baseline: nothing to download."
    exit 0
fi
if [ "${LOAD_TEST_REGRESSION:-}" = off ]; then
    echo "LOAD_TEST_REGRESSION is off: no baseline to download."
    exit 0
fi
exec python - "$LOAD_TEST_BASELINE" "${LOAD_TEST_BASELINE_JOB:-load-test}" <<'PYTHON'
import json
import os
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile

folder, job = sys.argv[1], sys.argv[2]
FILES = ("tideways-run.json", "tideways-report.json")  # in the artifacts as reports/<name>
api, project, branch, token = (
    os.environ.get(name, "") for name in ("CI_API_V4_URL", "CI_PROJECT_ID", "CI_DEFAULT_BRANCH", "CI_JOB_TOKEN")
)
if not (api and project and branch and token):
    print("No baseline: CI_API_V4_URL, CI_PROJECT_ID, CI_DEFAULT_BRANCH or CI_JOB_TOKEN is not set (not a GitLab job).")
    sys.exit(0)
os.makedirs(folder, exist_ok=True)
for name in FILES:  # never an older baseline's files
    path = os.path.join(folder, name)
    if os.path.isfile(path):
        os.remove(path)
quote = urllib.parse.quote
url = (
    f"{api.rstrip('/')}/projects/{quote(project, safe='')}/jobs/artifacts/{quote(branch, safe='')}/download"
    f"?job={quote(job, safe='')}"
)
request = urllib.request.Request(url)
request.add_unredirected_header("JOB-TOKEN", token)
where = f"job {job} of the latest successful pipeline of {branch}"
try:
    with urllib.request.urlopen(request, timeout=60) as answer, tempfile.TemporaryFile() as archive:
        while chunk := answer.read(1 << 16):
            archive.write(chunk)
        archive.seek(0)
        with zipfile.ZipFile(archive) as artifacts:
            names = set(artifacts.namelist())
            if f"reports/{FILES[0]}" not in names:
                print(f"No baseline: the artifacts of {where} hold no reports/{FILES[0]}: this run passes.")
                sys.exit(0)
            wanted = list(FILES)
            try:  # the trace log the run wrote beside its run file, for the evidence of a regression
                logged = os.path.basename(json.loads(artifacts.read(f"reports/{FILES[0]}"))["tideways"]["trace_log"])
            except (ValueError, KeyError, TypeError):
                logged = ""
            if logged not in ("", ".", ".."):
                wanted.append(logged)
            for name in wanted:
                if f"reports/{name}" in names:
                    with open(os.path.join(folder, name), "wb") as out:
                        out.write(artifacts.read(f"reports/{name}"))
except urllib.error.HTTPError as error:
    if error.code == 404:
        print(f"No baseline: no artifacts of {where} yet (404): this run passes.")
    else:
        print(f"No baseline: GitLab's job-artifacts API answered {error.code} for {where}: this run passes.")
    sys.exit(0)
except (OSError, zipfile.BadZipFile) as error:  # URLError and timeouts are OSErrors
    print(f"No baseline: the artifacts of {where} could not be read ({error}): this run passes.")
    sys.exit(0)
print(f"Baseline: the run of {where}, in {folder}.")
PYTHON
