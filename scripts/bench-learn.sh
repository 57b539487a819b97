#!/usr/bin/env bash
# The cost of `confine learn` and `confine run --audit` against a normal `confine run`, on a
# syscall-heavy job: a shell that stats, opens and lists files in a loop (every one a path
# syscall, which learn and audit hand to confine through seccomp user notification). Prints the
# median and p90 wall time of each over RUNS runs, and how many path calls the job made. No
# assertions: figures only.
# Then the slowest workload, LibreOffice converting its honest inputs (the workload test's
# WriterDocx...: a two-page .docx and a .csv to PDF, one soffice), as a service runs it (the input
# dir read-only as the working directory, the output area delivered): under libreoffice.toml, the
# same with --audit, and `confine learn` (under learn-base, as it learns from nothing); the median
# and p90 over WORKLOAD_RUNS runs (default 5; 0 skips it, and it is skipped without soffice).
# Usage: scripts/bench-learn.sh [RUNS] [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-15}
iterations=${2:-300}
build=${BUILD_DIR:-build}
[ -x "$build/src/confine" ] || cmake --build "$build" --target confine >/dev/null
confine=$(realpath "$build/src/confine")
export CONFINE_POLICY_PATH="$PWD/policies"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The job: per iteration one exec-free stat, open+read, and directory listing, in dash (no forks
# for builtins: `[ -e ]` stats, `read <` opens, the `for f in dir/*` glob lists).
job="i=0; while [ \$i -lt $iterations ]; do [ -e /usr/share/common-licenses/GPL-3 ]; read -r l < /etc/hostname; for f in /usr/share/common-licenses/*; do :; done; i=\$((i+1)); done"
echo "machine: $(nproc) cores, kernel $(uname -r), user $(id -un); $runs runs of $iterations iterations"
measure() {  # label, then the command
  local label=$1; shift
  python3 - "$label" "$runs" "$@" <<'PY'
import statistics, subprocess, sys, time
label, runs, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
times = []
for _ in range(runs):
    t = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    if r.returncode != 0:  # a failed run's time is no figure of this job
        sys.exit(f"bench-learn: {label}: exit {r.returncode} from {' '.join(cmd[:4])} ...")
    times.append((time.perf_counter() - t) * 1000)
times.sort()
p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
print(f"  {label:28} median {statistics.median(times):8.1f} ms   p90 {p90:8.1f} ms")
PY
}
measure "bare (no confine)" /bin/sh -c "$job"
measure "confine run (learn-base)" "$confine" run -q -p learn-base -- /bin/sh -c "$job"
measure "confine run --audit" "$confine" run -q -p learn-base --audit -- /bin/sh -c "$job"
measure "confine learn" "$confine" learn -q --out "$work/learned.toml" -- /bin/sh -c "$job"
# How many calls the learn run saw (from what it wrote).
python3 - "$work/learned.toml" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
data = json.loads(text.split("# learn-data: ", 1)[1].splitlines()[0])
paths = sum(p["count"] for p in data["paths"])
calls = sum(data["syscalls"].values())
print(f"  learn saw {calls} notified syscalls and {paths} path uses in one run")
PY

# The slowest workload.
workload_runs=${WORKLOAD_RUNS:-5}
if [ "$workload_runs" -gt 0 ] && command -v soffice >/dev/null && command -v python3 >/dev/null; then
  job_dir="$work/job"
  mkdir -p "$job_dir"
  chmod 0755 "$work" "$job_dir"
  python3 - "$job_dir/in.docx" "Confine Writer page one" "Confine Writer page two" <<'PY'
import sys, zipfile
from xml.sax.saxutils import escape
out, pages = sys.argv[1], sys.argv[2:]
brk = '<w:p><w:r><w:br w:type="page"/></w:r></w:p>'
body = brk.join('<w:p><w:r><w:t>%s</w:t></w:r></w:p>' % escape(p) for p in pages)
files = {
  '[Content_Types].xml': '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    '</Types>',
  '_rels/.rels': '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
    '</Relationships>',
  'word/document.xml': '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
    + body + '</w:body></w:document>',
}
with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:
    for name, data in files.items():
        z.writestr(name, data)
PY
  printf 'fruit,count\napples,3\npears,5\nplums,8\n' > "$job_dir/sheet.csv"
  chmod 0644 "$job_dir"/*
  # The workload presets require cgroup controllers; where this host has none, --best-effort.
  best_effort=()
  "$confine" run --dry-run -p libreoffice.toml -- /bin/true >/dev/null 2>&1 || best_effort=(--best-effort)
  soffice_argv=(soffice --headless --convert-to pdf --outdir /out in.docx sheet.csv)
  echo "LibreOffice (in.docx + sheet.csv to PDF, one soffice), $workload_runs runs each, load $(cut -d' ' -f1-3 /proc/loadavg):"
  python3 - "$workload_runs" "$work" "$confine" "$job_dir" "${best_effort[*]:-}" "${soffice_argv[@]}" <<'PY'
import os, statistics, subprocess, sys, time
runs, work, confine, job, best_effort = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5].split()
argv = sys.argv[6:]
n = 0
def out_dir():
    global n
    n += 1
    return os.path.join(work, "out-%d" % n)
modes = [
    ("confine run (libreoffice)", lambda: [confine, "run", "-q", "-p", "libreoffice.toml", *best_effort,
                                           "--ro", job, "--cwd", job, "--output", out_dir(), "--", *argv]),
    ("confine run --audit", lambda: [confine, "run", "-q", "-p", "libreoffice.toml", *best_effort, "--audit",
                                     "--ro", job, "--cwd", job, "--output", out_dir(), "--", *argv]),
    ("confine learn", lambda: [confine, "learn", "-q", "--out", os.path.join(work, "lo-learned.toml"),
                               "--ro", job, "--cwd", job, "--output", out_dir(), "--", *argv]),
]
times = {label: [] for label, _ in modes}
failed = {label: 0 for label, _ in modes}
for _ in range(runs):  # interleaved, so a change in the machine's load touches every mode alike
    for label, cmd in modes:
        t = time.perf_counter()
        r = subprocess.run(cmd(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if r.returncode == 0:  # only conversions that worked are timed
            times[label].append((time.perf_counter() - t) * 1000)
        else:
            failed[label] += 1
for label, _ in modes:
    ts = sorted(times[label])
    if not ts:
        print(f"  {label:28} every run failed: no figure")
        continue
    p90 = ts[min(len(ts) - 1, int(len(ts) * 0.9))]
    note = "" if failed[label] == 0 else "   (%d failed runs left out)" % failed[label]
    print(f"  {label:28} median {statistics.median(ts):8.1f} ms   p90 {p90:8.1f} ms{note}")
PY
fi
