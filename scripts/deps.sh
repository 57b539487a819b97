#!/usr/bin/env bash
# Installs everything confine needs to build and test, from Debian's archive only.
# Run as root on Debian 12 (CI does; so does scripts/setup.sh).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(
  build-essential cmake ninja-build pkg-config binutils
  libseccomp-dev libcap-dev libtomlplusplus-dev libspdlog-dev libfmt-dev
  libcli11-dev nlohmann-json3-dev libexpected-dev libmd-dev
  pandoc                       # the man pages, made from docs/ at build time (also a workload)
  man-db                       # man -w in the package test (scripts/package-test.sh)
  googletest libgtest-dev libgmock-dev
  python3 python3-jsonschema   # report schema validation in the tests
  bubblewrap                   # the launch benchmark compares against it
  util-linux procps            # setpriv/runuser for the rootless test pass, pgrep
  # The workload tests (label `workloads`) run the real converters under the shipped policies.
  libreoffice-writer-nogui libreoffice-calc-nogui imagemagick ghostscript ffmpeg
  libmagickcore-6.q16-6-extra  # ImageMagick's SVG coder (without it SVG input does not convert)
  poppler-utils                # pdfinfo, pdftotext: checking the converters' PDFs
  python3-yaml                 # the Python policy's test: an installed add-on package stays out
  # The Node client's tests (scripts/test-clients.sh: clients/node, examples/bullmq-worker) and
  # node.toml's workload test need Node.js >= 20 with npm. The project's machines come with
  # NodeSource's Node.js 20, whose nodejs package includes npm and conflicts with Debian's `npm`
  # (so that package is not listed: installing it would replace Node 20 with Debian's 18). On a
  # plain Debian 12 this line gives Node 18 without npm, and test-clients.sh stops saying so.
  # The npm packages themselves come from the npm registry (npm ci, from the lockfiles).
  nodejs
  redis-server                 # the BullMQ example's end-to-end test starts its own (examples/bullmq-worker)
  clang libclang-rt-14-dev     # libFuzzer for the policy and command-line fuzz targets
  apparmor                     # apparmor_parser: the shipped AppArmor profile must parse
)
# --print: just list the packages (.ci/run installs them itself).
if [ "${1:-}" = "--print" ]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/deps.sh: run as root (apt-get install)" >&2
  exit 1
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "deps: installed ${#packages[@]} packages"
