#!/usr/bin/env bash
# The Debian package, end to end: builds it from BUILD_DIR with CPack, installs it on this
# machine (dpkg -i), runs smoke tests against the installed /usr/bin/confine and its installed
# policies (found by name: no CONFINE_POLICY_PATH anywhere), then purges it again whatever
# happened, and checks that nothing of it is left.
#
#   scripts/package-test.sh [BUILD_DIR]        (default: ./build; as root; scripts/test.sh runs it)
#
# It refuses to run where confine is installed already (a package, or files in /usr/bin or
# /usr/share/confine it did not put there): it would replace and then remove them.
# Exit status is the verdict.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "${1:-build}")

if [ "$(id -u)" -ne 0 ]; then
  echo "package-test: run as root (dpkg -i and dpkg --purge)" >&2
  exit 2
fi
if dpkg-query -W -f='${Status}' confine 2>/dev/null | grep -q 'ok installed'; then
  echo "package-test: the package confine is installed already; refusing to replace and purge it" >&2
  exit 2
fi
for path in /usr/bin/confine /usr/share/confine /etc/apparmor.d/confine; do
  if [ -e "$path" ]; then
    echo "package-test: $path exists and no package owns it; refusing to overwrite it" >&2
    exit 2
  fi
done

nice cmake --build "$build"
rm -rf "$build/package"
(cd "$build" && cpack -G DEB >/dev/null)
deb=$(ls "$build"/package/confine_*.deb)

work=$(mktemp -d /tmp/confine-package-test.XXXXXX)
chmod 0755 "$work"
purge() {
  dpkg --purge confine >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap purge EXIT

dpkg -i "$deb" >/dev/null
status=0
check() {
  if ! "$@"; then
    echo "package-test: FAILED: $*" >&2
    status=1
  fi
}
confine=/usr/bin/confine
unset CONFINE_POLICY_PATH

# What the package installs, where a Debian system looks for it.
check test -x "$confine"
check "$confine" --version
for page in man1/confine.1.gz man1/confine-run.1.gz man1/confine-doctor.1.gz man1/confine-batch.1.gz man5/confine.toml.5.gz; do
  check test -s "/usr/share/man/$page"
done
check test -s /usr/share/bash-completion/completions/confine
check test -s /usr/share/zsh/vendor-completions/_confine
check test -s /usr/share/fish/vendor_completions.d/confine.fish
check grep -q '^profile confine /usr/bin/confine ' /etc/apparmor.d/confine
if command -v man >/dev/null; then
  check sh -c 'man -w confine-run >/dev/null'
fi

# The shipped policies, by name, from /usr/share/confine/policies.
check "$confine" check default workload-base python pandoc imagemagick ghostscript ffmpeg libreoffice
doctor_rc=0
"$confine" doctor >/dev/null || doctor_rc=$?
check test "$doctor_rc" -eq 0 -o "$doctor_rc" -eq 2

# The README's first command, with the installed policy by name: it works, and besides the
# job's own output confine prints at most a few short lines.
job="$work/job"
mkdir "$job"
cp /usr/share/common-licenses/GPL-3 "$job/input.txt"
chown -R 65534:65534 "$job"
rc=0
"$confine" run -p default --rw "$job" --cwd "$job" --report "$work/report.json" -- gzip -kf input.txt \
  2>"$work/stderr" || rc=$?
check test "$rc" -eq 0
check test -s "$job/input.txt.gz"
check python3 scripts/validate-report.py docs/report.schema.json "$work/report.json"
check test "$(wc -l <"$work/stderr")" -le 5
check sh -c '! grep -q "^.\{151,\}" "$1"' sh "$work/stderr"

# The integration smoke tests against the installed binary: no CONFINE_POLICY_PATH
# (CONFINE_INTEG_INSTALLED=1 makes the harness unset it), the shipped policies where the package put them.
check env CONFINE_INTEG_INSTALLED=1 CONFINE_INTEG_CONFINE="$confine" \
  CONFINE_INTEG_SHIPPED_POLICY_DIR=/usr/share/confine/policies \
  "$build/integration/integration_tests" \
  --gtest_filter='OutcomeTest.*:CliTest.*:HardeningTest.ShippedPoliciesAreFoundByName:FilesystemTest.*:SeccompTest.*' \
  --gtest_brief=1

# Purged, nothing of it is left.
dpkg --purge confine >/dev/null
for path in /usr/bin/confine /usr/share/confine /usr/share/man/man1/confine.1.gz \
  /usr/share/bash-completion/completions/confine /etc/apparmor.d/confine /usr/share/doc/confine; do
  check test ! -e "$path"
done

if [ "$status" -eq 0 ]; then
  echo "package-test: $(basename "$deb") installed, smoke-tested and purged"
fi
exit "$status"
