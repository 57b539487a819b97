#!/usr/bin/env bash
# How much of confine's gap to the kernel floor is the kernel doing what the default policy asks
# (issue 16). bench/floor_plus.c is the floor (../shared/bench/floor.c: namespaces, id maps, new
# root, 80-rule filter, execve, wait) with, one flag at a time, the kernel work of the protections
# confine adds: a cgroup leaf per launch, an init that forks the target, loopback up, the /etc
# binds and /proc masks of default.toml, a Landlock ruleset, confine's own compiled default
# filter, and that filter's notifications answered by a supervisor. Each variant, `confine run`
# and one job of `confine batch --jobs 1` are launched in turn, round after round, so all see the
# same machine (scripts/bench-ab.py's method), and the script prints each one's median launch and
# its overhead over bare /bin/true, also as a ratio to the floor's. The floor and all of the
# protections are also measured as a batch makes its launches: ten from one process
# (floor_plus --repeat, its median per round), with no launcher started per launch. A benchmark: it prints
# figures, asserts nothing. Run as root (the cgroup leaf, the filter cache).
#   scripts/bench-floor-plus.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-200}
build=${BUILD_DIR:-build}
[ "$(id -u)" -eq 0 ] || { echo "bench-floor-plus: run as root" >&2; exit 1; }
[ -x "$build/src/confine" ] || cmake --build "$build" --target confine >/dev/null
confine=$(realpath "$build/src/confine")
work=$(mktemp -d /tmp/confine-floor-plus-XXXXXX)
cgroup_parent=""
cleanup() {
  rm -rf "$work"
  if [ -n "$cgroup_parent" ] && [ -d "$cgroup_parent" ]; then
    for leaf in "$cgroup_parent"/fp-*; do [ -d "$leaf" ] && rmdir "$leaf" 2>/dev/null; done
    rmdir "$cgroup_parent" 2>/dev/null || true
  fi
}
trap cleanup EXIT
floor_c=${FLOOR_C:-../shared/bench/floor.c}
gcc -O2 -static -o "$work/floor" "$floor_c"
gcc -O2 -static -o "$work/floor_plus" bench/floor_plus.c

# confine's compiled default filter, both programs: the one the target loads (it notifies confine
# of kills, exit_group and execve) and the same rules deciding alone. Compiled into a private
# filter cache (root's, 0700), whose files hold the instructions after an "instructions N" line.
mkdir -m 0700 "$work/cache"
CONFINE_SECCOMP_CACHE=$work/cache "$confine" run --log-level error -p policies/default.toml -- /bin/true
python3 - "$work" <<'PY'
import glob, os, sys
work = sys.argv[1]
for path in glob.glob(os.path.join(work, "cache", "*.bpf")):
    data = open(path, "rb").read()
    start = data.index(b"\ninstructions ") + 1
    end = data.index(b"\n", start)
    count = int(data[start + len(b"instructions "):end])
    name = "notify.bpf" if b"\nnotify 1\n" in data else "verdict.bpf"
    open(os.path.join(work, name), "wb").write(data[end + 1:end + 1 + 8 * count])
    print("confine's default filter (%s): %d instructions" % (name, count))
PY

cgroup2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$cgroup2" ] || { echo "bench-floor-plus: no cgroup2 mount" >&2; exit 1; }
cgroup_parent=$cgroup2/confine-floor-plus-$$
fp=$work/floor_plus
all="--cgroup $cgroup_parent --init --lo --etc --landlock --bpf $work/notify.bpf --notify"
python3 - "$rounds" "$confine" \
  "bare=/bin/true" \
  "floor=$work/floor /bin/true" \
  "+cgroup leaf=$fp --cgroup $cgroup_parent /bin/true" \
  "+init forks target=$fp --init /bin/true" \
  "+loopback=$fp --lo /bin/true" \
  "+etc binds, proc masks=$fp --etc /bin/true" \
  "+landlock=$fp --landlock /bin/true" \
  "+confine's filter=$fp --bpf $work/verdict.bpf /bin/true" \
  "+filter, notifying=$fp --bpf $work/notify.bpf --notify /bin/true" \
  "all of them=$fp $all /bin/true" \
  "floor, in one process=$fp --repeat 10 /bin/true" \
  "all, in one process=$fp --repeat 10 $all /bin/true" \
  "confine run=$confine run --log-level error -p policies/default.toml -- /bin/true" <<'PY'
import json, os, statistics, subprocess, sys, time
rounds, confine = int(sys.argv[1]), sys.argv[2]
commands = [spec.split("=", 1) for spec in sys.argv[3:]]
devnull = os.open("/dev/null", os.O_RDWR)
walls = {name: [] for name, _ in commands}
walls["confine batch --jobs 1"] = []
batch = subprocess.Popen([confine, "batch", "--jobs", "1", "--log-level", "error"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
request = (json.dumps({"argv": ["/bin/true"], "policy": os.path.abspath("policies/default.toml")}) + "\n").encode()
for round_ in range(rounds + 5):  # the first five warm caches and are not counted
    for name, command in commands:
        argv = command.split()
        if "--repeat" in argv:  # ten launches from one process: its own median, in microseconds
            out = subprocess.run(argv, capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit("bench-floor-plus: %s failed: %s" % (name, out.stderr))
            if round_ >= 5:
                walls[name].append(float(out.stdout) / 1000)
            continue
        start = time.monotonic()
        pid = os.posix_spawn(argv[0], argv, dict(os.environ),
                             file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1),
                                           (os.POSIX_SPAWN_DUP2, devnull, 2)])
        _, status = os.waitpid(pid, 0)
        if status != 0:
            sys.exit("bench-floor-plus: %s failed (status %d): %s" % (name, status, command))
        if round_ >= 5:
            walls[name].append((time.monotonic() - start) * 1000)
    start = time.monotonic()
    batch.stdin.write(request)
    batch.stdin.flush()
    report = json.loads(batch.stdout.readline())["report"]
    if report["outcome"] != "ok":
        sys.exit("bench-floor-plus: a batch job did not end ok: %s" % report.get("setup_error"))
    if round_ >= 5:
        walls["confine batch --jobs 1"].append((time.monotonic() - start) * 1000)
batch.stdin.close()
batch.wait()
bare = statistics.median(walls["bare"])
floor = statistics.median(walls["floor"]) - bare
print("%d rounds, each launcher once per round; median launch, overhead over bare, overhead / the floor's" % rounds)
print("%-26s %9s %9s %8s" % ("launcher", "median", "overhead", "x floor"))
for name, values in walls.items():
    median = statistics.median(values)
    ratio = "%8.2f" % ((median - bare) / floor) if name != "bare" else "%8s" % "-"
    print("%-26s %7.2fms %7.2fms %s" % (name, median, median - bare, ratio))
PY
