#!/usr/bin/env bash
# What the sandbox costs a real conversion: each workload's job run bare and under
# `confine run -p policies/<tool>.toml --rw JOB --cwd JOB`, side by side, N times each.
# A benchmark, not a test: it prints numbers and judges nothing. The goal it informs is
# "overhead lost in the noise for any job over a second", so the inputs (generated here) are
# sized for jobs of one to a few seconds.
#
# Usage: scripts/bench-workloads.sh [N]      N runs of each side (default 5); median reported.
# Environment: BUILD_DIR (default build) for build/src/confine, or CONFINE=/path/to/confine.
#
# Peak memory: the sandboxed side reads memory_peak_bytes from confine's report (cgroup v2
# memory.peak); where the host has no memory controller that is null and the peak is confine's
# largest descendant's max RSS, from /usr/bin/time -f %M (or, without GNU time, from
# getrusage(RUSAGE_CHILDREN) in a small Python helper). The bare side uses the same RSS measure,
# so compare like with like: RSS on both sides unless the sandboxed column says "(cg)".
# Workloads whose tool or policy is missing are listed as such, not measured.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
runs=${1:-5}
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [N]  (N >= 1)" >&2; exit 2; }
confine=${CONFINE:-$repo/${BUILD_DIR:-build}/src/confine}
[ -x "$confine" ] || { echo "bench-workloads: no confine binary at $confine (build it, or set CONFINE/BUILD_DIR)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "bench-workloads: needs python3 (reports, medians)" >&2; exit 1; }

work=$(mktemp -d /tmp/confine-bench-workloads.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"  # the sandbox's host uid (65534 when run as root) must reach the job dirs

# The workload policies require cgroup v2 memory and pids controllers; where they are missing,
# run best-effort (the report then lists what was not enforced) rather than not at all.
best_effort=()
controllers=$(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null || true)
if [[ " $controllers " != *" memory "* || " $controllers " != *" pids "* ]]; then
  best_effort=(--best-effort)
fi

# ---- peak memory and wall time of one command (no shell: argv arrays only) ------------------
have_gnu_time=0
[ -x /usr/bin/time ] && /usr/bin/time -f %M true >/dev/null 2>&1 && have_gnu_time=1
rusage_helper=$work/rusage.py
cat >"$rusage_helper" <<'PY'
# Runs argv[2:] (no shell), writes the largest max RSS of its descendants in KiB to argv[1].
import resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
PY

# measure OUT_PREFIX DIR ARGV...: runs ARGV in DIR, its output to DIR/.log; writes
# OUT_PREFIX.ms (wall milliseconds), OUT_PREFIX.kib (peak RSS KiB) and OUT_PREFIX.rc.
measure() {
  local prefix=$1 dir=$2
  shift 2
  local start end rc=0
  start=$(date +%s%N)
  if [ "$have_gnu_time" = 1 ]; then
    (cd "$dir" && /usr/bin/time -o "$prefix.kib" -f %M "$@" >"$dir/.log" 2>&1) || rc=$?
  else
    (cd "$dir" && python3 "$rusage_helper" "$prefix.kib" "$@" >"$dir/.log" 2>&1) || rc=$?
  fi
  end=$(date +%s%N)
  echo $(((end - start) / 1000000)) >"$prefix.ms"
  echo "$rc" >"$prefix.rc"
  # GNU time adds "Command exited with non-zero status N" before the number.
  tail -n 1 "$prefix.kib" >"$prefix.kib.tmp" && mv "$prefix.kib.tmp" "$prefix.kib"
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# ---- inputs, generated once ------------------------------------------------------------------
inputs=$work/inputs
mkdir -p "$inputs"

# Markdown: long enough that pandoc and LibreOffice take a second or more.
python3 - "$inputs/doc.md" <<'PY'
import sys
with open(sys.argv[1], "w") as out:
    out.write("# Benchmark document\n\n")
    for section in range(1, 121):
        out.write(f"## Section {section}\n\n")
        for para in range(6):
            out.write(f"Paragraph {para} of section {section}: *emphasis*, **strong**, `code`, and a "
                      "[link](https://example.invalid/). " * 3 + "\n\n")
        out.write("| a | b | c |\n|---|---|---|\n" + "".join(f"| {i} | {i*i} | {i*i*i} |\n" for i in range(8)) + "\n")
        out.write("- one\n- two\n  - nested\n\n```\ncode block\n```\n\n")
PY
# A DOCX for LibreOffice, made by pandoc when it is installed.
if command -v pandoc >/dev/null; then
  pandoc "$inputs/doc.md" -o "$inputs/doc.docx"
fi

# SVG: a large canvas with many shapes and some text (ImageMagick's built-in renderer).
python3 - "$inputs/drawing.svg" <<'PY'
import random, sys
random.seed(7)
w = h = 2400
parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}">',
         f'<rect width="{w}" height="{h}" fill="white"/>']
for i in range(400):
    x, y, r = random.randrange(w), random.randrange(h), random.randrange(10, 200)
    parts.append(f'<circle cx="{x}" cy="{y}" r="{r}" fill="#{random.randrange(0xFFFFFF):06x}" fill-opacity="0.5" stroke="black"/>')
for i in range(40):
    parts.append(f'<text x="{random.randrange(w)}" y="{random.randrange(h)}" font-size="48">confine {i}</text>')
parts.append("</svg>")
open(sys.argv[1], "w").write("\n".join(parts) + "\n")
PY

# PostScript: 24 pages of text and curves, rendered at 150 dpi.
python3 - "$inputs/doc.ps" <<'PY'
import sys
with open(sys.argv[1], "w") as out:
    out.write("%!PS\n/Helvetica findfont 11 scalefont setfont\n")
    out.write("1 1 24 { /p exch def\n")
    out.write("  0 1 60 { /l exch def 50 760 l 12 mul sub moveto (Page ) show p 4 string cvs show\n")
    out.write("    ( line ) show l 4 string cvs show ( the quick brown fox jumps over the lazy dog) show } for\n")
    out.write("  0 5 355 { /a exch def gsave 300 400 translate a rotate 0 0 moveto 200 0 lineto stroke grestore } for\n")
    out.write("  showpage } for\n")
PY

# A test clip for ffmpeg (20 s of testsrc with a tone), made by ffmpeg when it is installed.
if command -v ffmpeg >/dev/null; then
  ffmpeg -nostdin -loglevel error -f lavfi -i testsrc=duration=20:size=640x360:rate=25 \
    -f lavfi -i sine=frequency=440:duration=20 -c:v mpeg4 -q:v 5 -c:a aac -shortest "$inputs/clip.mp4"
fi
video_codec=mpeg4
if command -v ffmpeg >/dev/null && ffmpeg -hide_banner -encoders 2>/dev/null | grep -q libx264; then video_codec=libx264; fi

# Python: a CPU-bound script that writes its result into the job dir.
cat >"$inputs/work.py" <<'PY'
# Counts primes below 2,000,000 with a sieve, then sorts and hashes some data.
import hashlib
n = 2_000_000
sieve = bytearray([1]) * n
sieve[0:2] = b"\0\0"
for i in range(2, int(n ** 0.5) + 1):
    if sieve[i]:
        sieve[i * i::i] = bytearray(len(sieve[i * i::i]))
data = sorted((i * 7919) % 1_000_003 for i in range(1_500_000))
digest = hashlib.sha256(repr(data).encode()).hexdigest()
with open("out.txt", "w") as out:
    out.write(f"{sum(sieve)} {digest}\n")
PY

# ---- the workloads: name, policy, input files, tool, argv (run inside the job dir) ----------
# Absolute paths, so both sides run the same program (a caller's PATH may find a wrapper first,
# e.g. a pyenv shim for python3, which would be measured on the bare side only).
# Each is a function that sets: policy, files (inputs to copy), tool (must be installed), argv.
workloads=(libreoffice imagemagick ghostscript ffmpeg pandoc python)
define() {
  case $1 in
    libreoffice) policy=libreoffice.toml files=(doc.docx) tool=/usr/bin/soffice
      argv=(/usr/bin/soffice --headless --convert-to pdf doc.docx) ;;
    imagemagick) policy=imagemagick.toml files=(drawing.svg) tool=/usr/bin/convert
      argv=(/usr/bin/convert drawing.svg drawing.png) ;;
    ghostscript) policy=ghostscript.toml files=(doc.ps) tool=/usr/bin/gs
      argv=(/usr/bin/gs -q -dSAFER -dBATCH -dNOPAUSE -sDEVICE=png16m -r150 -sOutputFile=page-%02d.png doc.ps) ;;
    ffmpeg) policy=ffmpeg.toml files=(clip.mp4) tool=/usr/bin/ffmpeg
      argv=(/usr/bin/ffmpeg -nostdin -loglevel error -y -i clip.mp4 -vf scale=480:270 -c:v "$video_codec" -c:a aac out.mp4) ;;
    pandoc) policy=pandoc.toml files=(doc.md) tool=/usr/bin/pandoc
      argv=(/usr/bin/pandoc doc.md --standalone -o doc.docx) ;;
    python) policy=python.toml files=(work.py) tool=/usr/bin/python3
      argv=(/usr/bin/python3 work.py) ;;
  esac
}

# fresh_job DIR: an empty job dir with this workload's inputs, writable by the sandbox.
fresh_job() {
  rm -rf "$1"
  mkdir -p "$1"
  chmod 777 "$1"
  local f
  for f in "${files[@]}"; do cp "$inputs/$f" "$1/"; done
}

# HOME and TMPDIR for the bare runs, so LibreOffice and fontconfig do not touch the caller's.
bare_home=$work/home
mkdir -p "$bare_home"

echo "machine: $(nproc) cores, kernel $(uname -r), user $(id -un); $runs runs per side; peak memory from" \
  "$([ "$have_gnu_time" = 1 ] && echo '/usr/bin/time -f %M' || echo 'getrusage(RUSAGE_CHILDREN)')" \
  "${best_effort[*]:+(confine ${best_effort[*]}: no cgroup v2 memory/pids controllers here)}"
rows=()
for name in "${workloads[@]}"; do
  define "$name"
  if [ ! -f "policies/$policy" ]; then rows+=("$name|missing policy (policies/$policy)"); continue; fi
  if ! command -v "$tool" >/dev/null; then rows+=("$name|missing tool ($tool)"); continue; fi
  missing_input=""
  for f in "${files[@]}"; do [ -f "$inputs/$f" ] || missing_input=$f; done
  if [ -n "$missing_input" ]; then rows+=("$name|missing input ($missing_input: its generator is not installed)"); continue; fi

  job=$work/job-$name
  report=$work/report-$name.json
  sandboxed=("$confine" run --log-level error -p "$repo/policies/$policy" --rw "$job" --cwd "$job" "${best_effort[@]}"
    --report "$report" -- "${argv[@]}")
  bare=(env HOME="$bare_home" TMPDIR="$work" "${argv[@]}")
  : >"$work/$name.plain.ms"; : >"$work/$name.plain.kib"; : >"$work/$name.box.ms"; : >"$work/$name.box.kib"
  failed=""
  # One warm-up run per side (page cache, font caches), then N measured runs, interleaved.
  for i in $(seq 0 "$runs"); do
    fresh_job "$job"
    # A fresh HOME each time: the sandbox gives every job an empty one (LibreOffice builds its
    # profile there on each start), so the bare side pays the same.
    rm -rf "$bare_home" && mkdir -p "$bare_home"
    measure "$work/m" "$job" "${bare[@]}"
    if [ "$(cat "$work/m.rc")" != 0 ]; then failed="bare run failed (exit $(cat "$work/m.rc")): $(tail -n 3 "$job/.log" | tr '\n' ' ')"; break; fi
    [ "$i" = 0 ] || { cat "$work/m.ms" >>"$work/$name.plain.ms"; cat "$work/m.kib" >>"$work/$name.plain.kib"; }

    fresh_job "$job"
    measure "$work/m" "$job" "${sandboxed[@]}"
    if [ "$(cat "$work/m.rc")" != 0 ]; then
      outcome=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["outcome"])' "$report" 2>/dev/null || echo "no report")
      failed="sandboxed run failed (exit $(cat "$work/m.rc"), outcome $outcome): $(tail -n 3 "$job/.log" | tr '\n' ' ')"
      break
    fi
    peak=$(python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))["resources"]["memory_peak_bytes"]; print("" if v is None else v // 1024)' "$report")
    if [ -n "$peak" ]; then echo cg >"$work/$name.box.src"; else peak=$(cat "$work/m.kib"); echo rss >"$work/$name.box.src"; fi
    [ "$i" = 0 ] || { cat "$work/m.ms" >>"$work/$name.box.ms"; echo "$peak" >>"$work/$name.box.kib"; }
  done
  if [ -n "$failed" ]; then rows+=("$name|$failed"); continue; fi
  plain_ms=$(median <"$work/$name.plain.ms")
  box_ms=$(median <"$work/$name.box.ms")
  plain_mib=$(median <"$work/$name.plain.kib" | awk '{ printf "%.1f", $1 / 1024 }')
  box_mib=$(median <"$work/$name.box.kib" | awk '{ printf "%.1f", $1 / 1024 }')
  [ "$(cat "$work/$name.box.src")" = cg ] && box_mib="$box_mib (cg)"
  overhead=$((box_ms - plain_ms))
  percent=$(awk -v o="$overhead" -v p="$plain_ms" 'BEGIN { printf "%+.1f%%", p ? 100 * o / p : 0 }')
  rows+=("$name|$plain_ms|$box_ms|$overhead|$percent|$plain_mib|$box_mib")
done

printf '\n%-12s %10s %13s %12s %9s %15s %19s\n' workload "plain ms" "sandboxed ms" "overhead ms" "overhead" "plain peak MiB" "sandboxed peak MiB"
for row in "${rows[@]}"; do
  IFS='|' read -r -a cells <<<"$row"
  if [ "${#cells[@]}" = 2 ]; then
    printf '%-12s %s\n' "${cells[0]}" "${cells[1]}"
  else
    printf '%-12s %10s %13s %12s %9s %15s %19s\n' "${cells[@]}"
  fi
done
echo "(medians of $runs runs; wall time includes confine's setup and teardown; MiB = peak RSS of the largest process unless marked (cg), the job's cgroup memory.peak)"
