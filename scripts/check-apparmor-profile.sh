#!/bin/sh
# Parses confine's AppArmor profile (packaging/apparmor/confine.in, as configured into the build
# tree) with apparmor_parser, without loading it: -Q skips the kernel, -K the cache, so it runs
# on any host, AppArmor active or not. Run by ctest as AppArmorProfile.Parses.
#
#   scripts/check-apparmor-profile.sh BUILD_DIR/apparmor/confine
#
# The profile is for Ubuntu 24.04, whose AppArmor 4 knows `abi <abi/4.0>` and the `userns` rule.
# Debian 12's parser (AppArmor 3.0) knows neither: there the rest of the profile is parsed as is,
# those two lines are checked to be there verbatim, and the output says so.
set -eu
profile=${1:?usage: check-apparmor-profile.sh PROFILE}
if ! command -v apparmor_parser >/dev/null 2>&1; then
  if [ "${CONFINE_REQUIRE_ALL:-}" = 1 ]; then
    echo "FAIL: apparmor_parser is missing (apt-get install apparmor; scripts/deps.sh lists it)" >&2
    exit 1
  fi
  echo "SKIP: apparmor_parser is missing (apt-get install apparmor)"
  exit 77
fi
version=$(apparmor_parser --version | sed -n '1s/.*version \([0-9][0-9.]*\).*/\1/p')
major=${version%%.*}
if [ "${major:-0}" -ge 4 ]; then
  apparmor_parser -Q -K "$profile"
  echo "ok: $profile parses with AppArmor $version"
  exit 0
fi
for line in 'abi <abi/4.0>,' '  userns,'; do
  if ! grep -qxF "$line" "$profile"; then
    echo "FAIL: $profile lacks the line '$line'" >&2
    exit 1
  fi
done
rest=$(mktemp)
trap 'rm -f "$rest"' EXIT
grep -vxF -e 'abi <abi/4.0>,' -e '  userns,' "$profile" >"$rest"
apparmor_parser -Q -K "$rest"
echo "ok: $profile parses with AppArmor $version except 'abi <abi/4.0>,' and 'userns,', which need AppArmor 4.0 (Ubuntu 24.04) and are present verbatim"
