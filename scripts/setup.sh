#!/usr/bin/env bash
# First-time setup on Debian 12 (as root): dependencies, a build in ./build, and the demo job
# directory used by the README's first command.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
job=/tmp/confine-job
mkdir -p "$job"
cp /usr/share/common-licenses/GPL-3 "$job/input.txt"
# Run by root, the target is mapped to an unprivileged host uid (process.host_uid, 65534 by
# default), so the job directory must belong to it to be writable from inside.
if [ "$(id -u)" -eq 0 ]; then chown -R 65534:65534 "$job"; fi
echo "setup: built build/src/confine; demo job directory $job"
