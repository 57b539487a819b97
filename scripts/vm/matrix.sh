#!/bin/bash
# The host matrix (docs/vm.md, "The host matrix"): inside the VM, the kinds of host confine must
# run on, each a cell with its verdict asserted: "runs fully enforced", "refuses with the exact
# fix", or "runs in Landlock mode and says what is missing"; and in every cell the hostile
# inputs stay contained (the Containment tests, integration/containment_test.cpp, and a
# representative set of the workload tests' attacks, integration/workloads/).
#
#   matrix.sh BUILD_DIR SOURCE_DIR RESULTS BOOT
#
# BOOT is what the kernel was booted with: "default" (Debian's LSM list, Landlock ABI 2 on 6.1)
# runs the cgroup, user-namespace and container cells; "no-landlock" (an lsm= list without
# landlock) runs the Landlock-absent cells. Every check writes one line to
# RESULTS/matrix/verdicts.txt: "CELL<TAB>CHECK<TAB>PASS|FAIL<TAB>DETAIL"; test runs leave their
# gtest XML beside it. This script's own status is 0 when it could run every cell; the verdict
# is scripts/vm/matrix_summary.py's, on the host. It changes the guest only (a sysctl, cgroups,
# a mount namespace), never the host, and puts each thing back when its cell ends.
set -u
build=$1 source=$2 results=$3 boot=$4
confine=$build/src/confine
probe=$build/integration/confine-probe
itests=$build/integration/integration_tests
wtests=$build/integration/workloads/workload_tests
out=$results/matrix
mkdir -p "$out"
verdicts=$out/verdicts.txt
cgroot=/sys/fs/cgroup
# An unprivileged uid with no passwd entry of its own: nothing on the guest knows it.
user=4242
scratch=/tmp/confine-matrix
mkdir -p "$scratch"
chmod 1777 "$scratch"
export CONFINE_POLICY_PATH=$source/policies CONFINE_REQUIRE_ALL=1 LANG=C.UTF-8

# The attacks every cell runs: the containment tests, and from the workload tests a few hostile
# inputs per cell (rotated over the cells, so together they cover every tool's attacks). Landlock
# mode has no output area, so its cells take attacks that need none beside the two Python ones.
containment='Containment.*'
python_attacks='PythonWorkload.CannotReadTheCanary:PythonWorkload.CannotWriteOutsideTheOutputArea'

say() { echo "=== matrix[$boot] $*" >&2; }
verdict() {  # cell check PASS|FAIL detail
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$(printf '%s' "$4" | tr '\t\n' '  ' | cut -c1-600)" >>"$verdicts"
  say "$1 $2: $3 $4"
}

# as_user CMD...: runs CMD as the unprivileged uid, with no groups, HOME in the scratch dir.
as_user() { /usr/bin/setpriv --reuid=$user --regid=$user --clear-groups /usr/bin/env HOME=$scratch "$@"; }

# expect CELL CHECK WANT_EXIT NEEDLE REPORT -- CMD...: runs CMD (confine somewhere in it, writing
# its report to REPORT, or "-" for none), then checks its exit status and that NEEDLE appears in
# its stderr or stdout. The output is kept in matrix/CELL-CHECK.log.
expect() {
  local cell=$1 check=$2 want=$3 needle=$4 report=$5
  shift 6
  local log=$out/$cell-$check.log
  "$@" >"$log" 2>&1
  local got=$?
  if [ "$got" -ne "$want" ]; then
    verdict "$cell" "$check" FAIL "exit $got, expected $want: $(tail -c 400 "$log")"
    return 1
  fi
  if [ -n "$needle" ] && ! grep -qF -- "$needle" "$log"; then
    verdict "$cell" "$check" FAIL "exit $got, but no '$needle' in: $(tail -c 400 "$log")"
    return 1
  fi
  if [ "$report" != - ] && [ -f "$report" ]; then cp "$report" "$out/$cell-$check.json"; fi
  verdict "$cell" "$check" PASS "exit $got${needle:+, says '$needle'}"
}

# report_says CELL CHECK REPORT PYTHON-EXPR: the report (as `r`, a dict) satisfies the expression;
# `p(name)` is the entry of one protection.
report_says() {
  local cell=$1 check=$2 report=$3 expr=$4
  local result
  result=$(python3 - "$report" "$expr" <<'PY' 2>&1
import json, sys
r = json.load(open(sys.argv[1]))
def p(name):
    return next((e for e in r["enforced"] if e["name"] == name), {})
ok = eval("(" + sys.argv[2] + ")")  # parenthesised: the expressions span lines
print("true" if ok else "false: " + json.dumps({"outcome": r.get("outcome"),
      "isolation": p("isolation"), "warnings": r.get("warnings", [])[:2]})[:500])
PY
)
  if [ "$result" = true ]; then verdict "$cell" "$check" PASS "$expr"; else verdict "$cell" "$check" FAIL "$expr: $result"; fi
}

# tests CELL NAME BINARY FILTER [WRAPPER...] -- [ENV=VALUE...]: runs a gtest binary with the
# filter, as WRAPPER says (setpriv, a cgroup, a seccomp profile), with the extra environment;
# PASS when it exits 0 and its XML shows exactly the tests the filter lists, none skipped.
tests() {
  local cell=$1 name=$2 binary=$3 filter=$4
  shift 4
  local wrapper=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do wrapper+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  local expected
  expected=$("$binary" --gtest_list_tests "--gtest_filter=$filter" | grep -c '^  [^ ]')
  local xml=$scratch/$cell-$name.xml
  rm -f "$xml"
  local start=$SECONDS
  "${wrapper[@]}" /usr/bin/env "$@" "$binary" "--gtest_filter=$filter" "--gtest_output=xml:$xml" \
    >"$out/$cell-$name.log" 2>&1
  local status=$?
  cp "$xml" "$out/$cell-$name.xml" 2>/dev/null
  local counts
  counts=$(python3 - "$xml" <<'PY' 2>&1
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception as e:
    print(f"no XML ({e})"); sys.exit()
ran = failed = skipped = 0
names = []
for case in root.iter("testcase"):
    if case.get("status") == "notrun":
        continue
    ran += 1
    if case.findall("failure") + case.findall("error"):
        failed += 1; names.append(case.get("classname") + "." + case.get("name"))
    elif case.get("result") == "skipped" or case.find("skipped") is not None:
        skipped += 1; names.append("skipped " + case.get("name"))
print(f"{ran} {failed} {skipped} {' '.join(names)}")
PY
)
  read -r ran failed skipped rest <<<"$counts"
  if [ "$status" -eq 0 ] && [ "${ran:-x}" = "$expected" ] && [ "$failed" = 0 ] && [ "$skipped" = 0 ]; then
    verdict "$cell" "$name" PASS "$ran of $expected tests passed ($((SECONDS - start)) s): $filter"
  else
    verdict "$cell" "$name" FAIL "exit $status; ran/failed/skipped: $counts; expected $expected ($filter)"
  fi
}

# The guest's cgroup2 root gives its children every controller, as systemd does for its units.
enable_root_controllers() { echo "+cpu +memory +pids" >"$cgroot/cgroup.subtree_control"; }

# Removes a cgroup and everything below it (leaves first).
remove_cgroups() {
  [ -d "$1" ] || return 0
  find "$1" -depth -type d -exec rmdir {} + 2>/dev/null
  [ ! -d "$1" ]
}

cell_root_pure_v2() {
  local cell=root-pure-v2 r=$scratch/r.json
  say "$cell: root, the cgroup2 root, outside any delegated subtree"
  enable_root_controllers
  expect $cell doctor 0 "can run fully enforced" - -- "$confine" doctor -p "$source/policies/python.toml"
  expect $cell python-true 0 "" "$r" -- "$confine" run -p "$source/policies/python.toml" --report "$r" -- /bin/true &&
    report_says $cell fully-enforced "$r" \
      'p("isolation")["mechanism"] == "namespaces" and all(p(n)["status"] == "enforced" for n in
       ("memory_limit", "pids_limit", "cgroup_tracking", "landlock", "seccomp"))'
  tests $cell containment "$itests" "$containment" --
  tests $cell workloads "$wtests" "$python_attacks:PythonWorkload.ForkBombStopsAtThePidsLimit" --
}

cell_root_delegated() {
  local cell=root-delegated unit=$cgroot/matrix-service.service r=$scratch/r.json
  say "$cell: root inside a service's delegated subtree (Delegate=yes, DelegateSubgroup=main)"
  enable_root_controllers
  mkdir -p "$unit/main"
  python3 -c 'import os, sys; os.setxattr(sys.argv[1], "trusted.delegate", b"1")' "$unit"
  local in_unit=("$probe" in-cgroup "$unit/main")
  expect $cell doctor 0 "can run fully enforced" - -- "${in_unit[@]}" "$confine" doctor -p "$source/policies/python.toml"
  expect $cell python-true 0 "" "$r" -- "${in_unit[@]}" "$confine" run -p "$source/policies/python.toml" --report "$r" -- /bin/true &&
    report_says $cell nested-and-enforced "$r" \
      '"'"$unit"' (delegated subtree" in p("cgroup_tracking")["detail"] and
       p("memory_limit")["status"] == "enforced" and p("pids_limit")["status"] == "enforced"'
  tests $cell containment "$itests" "$containment" "${in_unit[@]}" --
  tests $cell workloads "$wtests" "$python_attacks:GhostscriptWorkload.HostileFileOperatorsAreStoppedWithAndWithoutSafer" "${in_unit[@]}" --
  local left
  left=$(find "$unit" -mindepth 1 -maxdepth 1 -type d -name 'job-*' | wc -l)
  if [ "$left" -eq 0 ]; then verdict $cell no-leaves-left PASS "no job-* leaf left in $unit"
  else verdict $cell no-leaves-left FAIL "$left job-* leaves left in $unit"; fi
  remove_cgroups "$unit" || verdict $cell cleanup FAIL "could not remove $unit"
}

cell_rootless_delegated() {
  local cell=rootless-delegated dir=$cgroot/matrix-user r=$scratch/r-user.json
  say "$cell: uid $user in a subtree delegated to it (user@.service's Delegate=yes)"
  enable_root_controllers
  mkdir -p "$dir"
  chown $user:$user "$dir" "$dir/cgroup.procs" "$dir/cgroup.subtree_control" "$dir/cgroup.threads"
  python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.delegate", b"1")' "$dir"
  # The user's processes live in a leaf of their own, as systemd's scopes do.
  as_user mkdir "$dir/main"
  # The probe's wrappers exec by path: no PATH search.
  local in_scope=("$probe" in-cgroup "$dir/main" /usr/bin/setpriv --reuid=$user --regid=$user --clear-groups
                  /usr/bin/env HOME=$scratch)
  expect $cell doctor 0 "can run fully enforced" - -- "${in_scope[@]}" "$confine" doctor -p "$source/policies/python.toml"
  expect $cell python-true 0 "" "$r" -- "${in_scope[@]}" "$confine" run -p "$source/policies/python.toml" --report "$r" -- /bin/true &&
    report_says $cell rootless-and-enforced "$r" \
      'p("isolation")["mechanism"] == "namespaces" and p("memory_limit")["status"] == "enforced" and
       p("pids_limit")["status"] == "enforced" and "'"$dir"'" in p("cgroup_tracking")["detail"]'
  tests $cell containment "$itests" "$containment" "${in_scope[@]}" --
  tests $cell workloads "$wtests" "$python_attacks:ImageMagickWorkload.SvgReferencesToHostFilesFindNothing" "${in_scope[@]}" --
  remove_cgroups "$dir" || verdict $cell cleanup FAIL "could not remove $dir"
}

cell_rootless_plain() {
  local cell=rootless-plain r=$scratch/r-user.json
  say "$cell: uid $user without a delegated cgroup"
  expect $cell python-refuses 125 "systemd-run --user --scope -p Delegate=yes" - -- \
    as_user "$confine" run -p "$source/policies/python.toml" -- /bin/true
  expect $cell doctor 1 "delegate a cgroup to uid $user by hand" - -- \
    as_user "$confine" doctor -p "$source/policies/python.toml"
  expect $cell default-runs 0 "" "$r" -- as_user "$confine" run -p "$source/policies/default.toml" --report "$r" -- /bin/true &&
    report_says $cell says-what-is-missing "$r" \
      'p("isolation")["mechanism"] == "namespaces" and p("cgroup_tracking")["status"] == "best_effort_skipped" and
       p("pids_limit")["status"] == "enforced_fallback" and "systemd-run" in p("cgroup_tracking")["detail"]'
  tests $cell containment "$itests" "$containment" as_user --
  tests $cell workloads "$wtests" "$python_attacks:PythonWorkload.ForkBombStopsAtThePidsLimit" as_user --
}

cell_userns_zero() {
  local cell=userns-0 r=$scratch/r.json saved
  saved=$(cat /proc/sys/user/max_user_namespaces)
  say "$cell: user.max_user_namespaces = 0 (was $saved)"
  echo 0 >/proc/sys/user/max_user_namespaces
  expect $cell namespaces-refuse 125 "user.max_user_namespaces (must be > 0)" - -- \
    "$confine" run -p "$source/policies/default.toml" -- /bin/true
  expect $cell doctor 1 "sysctl -w user.max_user_namespaces=15000" - -- "$confine" doctor -p "$source/policies/default.toml"
  expect $cell auto-runs 0 "fell back to Landlock mode" "$r" -- \
    "$confine" run -p "$source/policies/default.toml" --isolation auto --report "$r" -- /bin/true &&
    report_says $cell landlock-mode-says-what-is-missing "$r" \
      'p("isolation")["mechanism"] == "landlock mode (no namespaces)" and "no pid namespace" in p("isolation")["detail"]
       and p("landlock")["status"] == "enforced" and p("pid_namespace")["status"] == "not_in_mode"
       and p("cgroup_tracking")["status"] == "enforced"'
  tests $cell containment "$itests" "$containment" -- CONFINE_INTEG_ISOLATION=auto
  tests $cell workloads "$wtests" "$python_attacks:PythonWorkload.ForkBombStopsAtThePidsLimit" -- CONFINE_INTEG_ISOLATION=auto
  # Rootless too: Landlock ABI 2, no cgroup; the init's subreaper is the kill unit, and the report
  # says signals are not scoped (the containment test checks exactly that).
  tests $cell-rootless containment "$itests" "$containment" as_user -- CONFINE_INTEG_ISOLATION=auto
  echo "$saved" >/proc/sys/user/max_user_namespaces
}

cell_docker_like() {
  local cell=docker-like-cgroup r=$scratch/r.json
  local docker=("$probe" docker-like)
  say "$cell: root under a Docker-like seccomp profile, the cgroup2 root writable"
  expect $cell namespaces-refuse 125 "--isolation auto" - -- "${docker[@]}" "$confine" run -p "$source/policies/default.toml" -- /bin/true
  expect $cell doctor 1 "no namespaces here; --isolation landlock (or auto) runs" - -- "${docker[@]}" "$confine" doctor -p "$source/policies/default.toml"
  expect $cell auto-runs 0 "fell back to Landlock mode" "$r" -- \
    "${docker[@]}" "$confine" run -p "$source/policies/python.toml" --isolation auto --report "$r" -- /bin/true &&
    report_says $cell landlock-mode-in-its-cgroup "$r" \
      'p("isolation")["mechanism"] == "landlock mode (no namespaces)" and "Function not implemented" in p("isolation")["detail"]
       and p("cgroup_tracking")["status"] == "enforced" and p("memory_limit")["status"] == "enforced"
       and p("pids_limit")["status"] == "enforced"'
  tests $cell containment "$itests" "$containment" "${docker[@]}" -- CONFINE_INTEG_ISOLATION=auto
  tests $cell workloads "$wtests" "$python_attacks:FfmpegWorkload.EndlessInputEndsAtTheWallTimeLimit" "${docker[@]}" -- CONFINE_INTEG_ISOLATION=auto
}

cell_docker_like_no_cgroup() {
  local cell=docker-like-no-cgroup r=$scratch/r.json
  say "$cell: root under a Docker-like seccomp profile, the cgroupfs read-only (a container's)"
  # A mount namespace of the guest's own, where /sys/fs/cgroup is read-only as in a container.
  local container=(/usr/bin/unshare --mount --propagation private
                   /bin/sh -c 'mount -o remount,bind,ro /sys/fs/cgroup && exec "$@"' container "$probe" docker-like)
  expect $cell python-refuses 125 "this host cannot enforce the resource limits asked for" - -- \
    "${container[@]}" "$confine" run -p "$source/policies/python.toml" --isolation auto -- /bin/true
  expect $cell auto-runs 0 "fell back to Landlock mode" "$r" -- \
    "${container[@]}" "$confine" run -p "$source/policies/default.toml" --isolation auto --report "$r" -- /bin/true &&
    report_says $cell landlock-mode-without-a-cgroup "$r" \
      'p("isolation")["mechanism"] == "landlock mode (no namespaces)" and p("cgroup_tracking")["status"] == "best_effort_skipped"
       and "child subreaper" in p("pid_namespace")["detail"] and p("pids_limit")["status"] == "best_effort_skipped"'
  tests $cell containment "$itests" "$containment" "${container[@]}" -- CONFINE_INTEG_ISOLATION=auto
  tests $cell workloads "$wtests" "$python_attacks:PandocWorkload.NestedBracketsEndAtTheWallTimeLimit" "${container[@]}" -- \
    CONFINE_INTEG_ISOLATION=auto CONFINE_INTEG_BEST_EFFORT=1
}

cell_no_landlock() {
  local cell=no-landlock-best-effort r=$scratch/r.json
  say "$cell: a kernel booted without Landlock in its LSM list, enforcement.landlock best-effort"
  expect $cell default-runs 0 "Landlock is not available on this host" "$r" -- \
    "$confine" run -p "$source/policies/default.toml" --report "$r" -- /bin/true &&
    report_says $cell says-the-layer-is-skipped "$r" \
      'p("isolation")["mechanism"] == "namespaces" and p("landlock")["status"] == "best_effort_skipped"'
  expect $cell doctor 2 "lsm=" - -- "$confine" doctor -p "$source/policies/default.toml"
  tests $cell containment "$itests" "$containment" --
  tests $cell workloads "$wtests" "$python_attacks:GhostscriptWorkload.NetworkIsUnreachableEvenThroughPipe" --

  cell=no-landlock-required
  say "$cell: the same kernel, enforcement.landlock required, and Landlock mode"
  expect $cell required-refuses 125 "lsm=landlock" - -- \
    "$confine" run -p "$source/integration/policies/landlock-required.toml" -- /bin/true
  expect $cell doctor 1 "lsm=landlock" - -- "$confine" doctor -p "$source/integration/policies/landlock-required.toml"
  expect $cell landlock-mode-refuses 125 "Landlock mode needs Landlock" - -- \
    "$confine" run -p "$source/policies/default.toml" --isolation landlock -- /bin/true
  expect $cell docker-like-auto-refuses 125 "Landlock mode needs Landlock" - -- \
    "$probe" docker-like "$confine" run -p "$source/policies/default.toml" --isolation auto -- /bin/true
}

cd "$source" || exit 1
: >"$verdicts"
case "$boot" in
  default)
    cell_root_pure_v2
    cell_root_delegated
    cell_rootless_delegated
    cell_rootless_plain
    cell_userns_zero
    cell_docker_like
    cell_docker_like_no_cgroup
    ;;
  no-landlock)
    cell_no_landlock
    ;;
  *) echo "matrix.sh: unknown boot '$boot'" >&2; exit 2 ;;
esac
exit 0
