#!/bin/sh
# Runs the integration tests as an unprivileged user: confine's rootless path (a user namespace
# owned by an ordinary user, no host uid mapping beyond the caller, no cgroup unless delegated).
#
#   scripts/integration-rootless.sh [BUILD_DIR]        (default: ./build)
#
# Run it as root. It creates the system user confine-ci if needed (CONFINE_CI_USER picks another
# existing or new user), copies the three binaries and the policies into a fresh directory that
# user can read (a build tree under /root or a 0700 checkout would not be), and runs
# integration_tests there as that user with setpriv. Tests that only make sense as root are
# named *RootOnly* and are filtered out rather than skipped. CONFINE_INTEG_FILTER narrows the
# run (a positive gtest pattern, default *); CONFINE_REQUIRE_ALL=1 and CONFINE_INTEG_ISOLATION
# (an --isolation mode for every run, integration/fixture.h) are passed through.
# Run as an unprivileged user already, it runs the build tree's binary in place.
set -eu

build_dir=$(realpath "${1:-build}")
filter="${CONFINE_INTEG_FILTER:-*}-*RootOnly*"
source_dir=$(realpath "$(dirname "$0")/..")

for f in "$build_dir/src/confine" "$build_dir/integration/confine-probe" "$build_dir/integration/integration_tests"; do
  if [ ! -x "$f" ]; then
    echo "integration-rootless: $f is missing; build first: ninja -C $build_dir confine confine-probe integration_tests" >&2
    exit 2
  fi
done

if [ "$(id -u)" -ne 0 ]; then
  exec "$build_dir/integration/integration_tests" "--gtest_filter=$filter"
fi

user="${CONFINE_CI_USER:-confine-ci}"
if ! id -u "$user" >/dev/null 2>&1; then
  useradd --system --create-home --shell /usr/sbin/nologin "$user"
fi
uid=$(id -u "$user")
gid=$(id -g "$user")
if [ "$uid" -eq 0 ]; then
  echo "integration-rootless: $user is root; pick an unprivileged user with CONFINE_CI_USER" >&2
  exit 2
fi

# The rootless path needs unprivileged user namespaces; say so plainly rather than failing
# every test with the same setup error.
if ! setpriv --reuid="$uid" --regid="$gid" --clear-groups unshare --user true 2>/dev/null; then
  echo "integration-rootless: $user cannot create a user namespace (kernel.unprivileged_userns_clone," \
       "user.max_user_namespaces, or an AppArmor/SELinux restriction); the rootless path cannot run here" >&2
  exit 1
fi

# A staging copy with no symlink in its path (the probe's directory is bound into the sandbox,
# and confine refuses binds through symlinks), readable by the user and removed at exit.
stage=$(realpath "$(mktemp -d /var/tmp/confine-rootless.XXXXXX)")
trap 'rm -rf "$stage"' EXIT INT TERM
mkdir -p "$stage/bin" "$stage/probe" "$stage/policies" "$stage/integration/policies"
cp "$build_dir/src/confine" "$build_dir/integration/integration_tests" "$stage/bin/"
cp "$build_dir/integration/confine-probe" "$build_dir/integration/confine-learn-probe" "$stage/probe/"
cp "$source_dir"/policies/*.toml "$stage/policies/"
# The test policies extend ../../policies/default.toml: keep that layout.
cp "$source_dir"/integration/policies/*.toml "$stage/integration/policies/"
chmod -R a+rX "$stage"
chmod 0755 "$stage"

cd "$stage"
setpriv --reuid="$uid" --regid="$gid" --clear-groups --reset-env \
  env CONFINE_INTEG_CONFINE="$stage/bin/confine" \
      CONFINE_INTEG_PROBE="$stage/probe/confine-probe" \
      CONFINE_INTEG_PROBE_DIR="$stage/probe" \
      CONFINE_INTEG_LEARN_PROBE="$stage/probe/confine-learn-probe" \
      CONFINE_INTEG_POLICY_DIR="$stage/integration/policies" \
      CONFINE_INTEG_SHIPPED_POLICY_DIR="$stage/policies" \
      CONFINE_POLICY_PATH="$stage/policies" \
      CONFINE_REQUIRE_ALL="${CONFINE_REQUIRE_ALL:-}" \
      CONFINE_INTEG_ISOLATION="${CONFINE_INTEG_ISOLATION:-}" \
      LANG=C.UTF-8 \
  "$stage/bin/integration_tests" "--gtest_filter=$filter"
