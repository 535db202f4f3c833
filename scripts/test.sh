#!/usr/bin/env bash
# README's test command: bootstrap the machine, then run the whole suite (unit, property, namespace
# and interop tests against real FRR/BIRD/GoBGP/ExaBGP, etcd and podman). Prints a closing line
# "N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
report=$(mktemp /tmp/uplink-vitest-XXXXXX.json)
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' "$report" || true
rm -f "$report"
exit $status
