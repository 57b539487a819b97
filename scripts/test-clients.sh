#!/usr/bin/env bash
# The clients' tests: the Node client (clients/node) and its BullMQ example
# (examples/bullmq-worker). Each installs its npm packages from its committed package-lock.json
# (npm ci), builds, and runs its tests with node's own test runner against the confine binary
# scripts/build.sh made (build/src/confine) and the shipped policies. The example's test starts
# and stops its own redis-server (Debian's, from scripts/deps.sh).
# Exit status is the verdict.
set -euo pipefail
cd "$(dirname "$0")/.."
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ] || ! command -v npm >/dev/null; then
  echo "test-clients: needs Node.js >= 20 with npm (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi
if [ ! -x build/src/confine ]; then
  echo "test-clients: no build/src/confine; run scripts/build.sh first" >&2
  exit 1
fi
export CONFINE="$PWD/build/src/confine"
export CONFINE_POLICY_PATH="$PWD/policies"
status=0
for dir in clients/node examples/bullmq-worker; do
  echo "== $dir"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error && npm test) || status=1
done
exit $status
