#!/usr/bin/env bash
# README's test command: bootstrap the machine, then run the whole suite (unit, property, namespace
# and interop tests against real FRR/BIRD/GoBGP/ExaBGP, etcd and podman). Prints a closing line
# "N passed, N failed, N skipped".
#
# A test file that fails (a test, or a hook such as an e2e's beforeAll, which vitest's per-test retry
# does not cover) is run once more on its own, and both runs are reported: on a loaded 2-core CI box a
# lab that misses a timeout once should not hide 800 green tests, and a file that fails twice fails CI.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh

summary() {
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const skipped = r.numPendingTests + r.numTodoTests;
    const files = r.testResults.filter((f) => f.status === "failed").map((f) => require("path").relative(process.cwd(), f.name));
    const outside = r.numFailedTestSuites && !r.numFailedTests ? `, ${files.length} file(s) failed outside a test` : "";
    console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped${outside}`);
    if (process.argv[2]) require("fs").writeFileSync(process.argv[2], files.join("\n"));
  ' "$@"
}

report=$(mktemp /tmp/uplink-vitest-XXXXXX.json)
failed=$(mktemp /tmp/uplink-failed-XXXXXX.txt)
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
summary "$report" "$failed" || true
if [ "$status" -ne 0 ] && [ -s "$failed" ] && [ "$(wc -l < "$failed")" -lt 5 ]; then
  mapfile -t files < "$failed"
  echo "== running the ${#files[@]} failed file(s) once more: ${files[*]}"
  status=0
  npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "${files[@]}" || status=$?
  echo -n "re-run: "
  summary "$report" || true
fi
rm -f "$report" "$failed"
exit $status
