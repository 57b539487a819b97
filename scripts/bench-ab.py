#!/usr/bin/env python3
"""Interleaved A/B launch timing: one launch of each command per round, so every command sees the
same machine load (a 2-core VM shared with other work drifts by milliseconds between blocks of
runs, which hides a 1 ms change when each command is measured in a block of its own, as
scripts/bench-launch.sh does). Prints per command the median and p25 wall time from spawn to exit
and the user and system CPU per launch (wait4: the command and everything it waited for). A
benchmark: prints figures, asserts nothing.

Usage: bench-ab.py ROUNDS NAME=COMMAND [NAME=COMMAND...]
  e.g. CONFINE_POLICY_PATH=$PWD/policies scripts/bench-ab.py 300 bare=/bin/true \\
         "old=/tmp/confine-old run --log-level error -p default -- /bin/true" \\
         "new=build/src/confine run --log-level error -p default -- /bin/true"
COMMAND is split on spaces (no quoting); stdout and stderr go to /dev/null; a non-zero exit stops it.

A COMMAND of the form "batch:CONFINE POLICY" is one long-lived `CONFINE batch --jobs 1` instead,
fed one /bin/true job under POLICY per round: its wall time runs from the request line to the
report line, and the median of the report's policy and plan phases is printed too (CPU per job
is not: the batch's CPU is not the job's).
  e.g. scripts/bench-ab.py 300 "old=batch:/tmp/confine-old policies/default.toml" \\
         "new=batch:build/src/confine policies/default.toml"
"""
import json
import os
import statistics
import subprocess
import sys
import time

if len(sys.argv) < 3:
    sys.exit(__doc__)
rounds = int(sys.argv[1])
commands = []
for spec in sys.argv[2:]:
    name, command = spec.split("=", 1)
    commands.append((name, command.split()))
devnull = os.open("/dev/null", os.O_RDWR)
results = {name: {"wall": [], "user": 0.0, "sys": 0.0, "policy": [], "plan": []} for name, _ in commands}
batches = {}
for name, argv in commands:
    if argv[0].startswith("batch:"):
        if len(argv) != 2:
            sys.exit(f"bench-ab: {name}: batch:CONFINE POLICY")
        batches[name] = subprocess.Popen([argv[0][len("batch:"):], "batch", "--jobs", "1", "--log-level", "error"],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        argv.append((json.dumps({"argv": ["/bin/true"], "policy": os.path.abspath(argv[1])}) + "\n").encode())
for _ in range(rounds):
    for name, argv in commands:
        r = results[name]
        if name in batches:
            batch = batches[name]
            start = time.monotonic()
            batch.stdin.write(argv[2])
            batch.stdin.flush()
            line = batch.stdout.readline()
            wall = time.monotonic() - start
            report = json.loads(line)["report"] if line else {}
            if report.get("outcome") != "ok":
                sys.exit(f"bench-ab: a job of {name} did not end ok: {line[:300]!r}")
            r["wall"].append(wall)
            for phase in report["phases"]:
                if phase["name"] in ("policy", "plan"):
                    r[phase["name"]].append(phase["duration_us"])
            continue
        start = time.monotonic()
        pid = os.posix_spawn(argv[0], argv, dict(os.environ),
                             file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)])
        _, status, usage = os.wait4(pid, 0)
        wall = time.monotonic() - start
        if status != 0:
            sys.exit(f"bench-ab: {name} exited with status {status}")
        r["wall"].append(wall)
        r["user"] += usage.ru_utime
        r["sys"] += usage.ru_stime
with open("/proc/loadavg") as f:
    print(f"{rounds} rounds, loadavg at the end: {f.read().strip()}")
for batch in batches.values():
    batch.stdin.close()
    batch.wait()
for name, _ in commands:
    r = results[name]
    wall = sorted(r["wall"])
    if name in batches:
        print(f"{name:16} median {statistics.median(wall) * 1000:7.2f} ms  p25 {wall[len(wall) // 4] * 1000:7.2f} ms  "
              f"policy {statistics.median(r['policy']):5.0f} us  plan {statistics.median(r['plan']):5.0f} us per job")
        continue
    print(f"{name:16} median {statistics.median(wall) * 1000:7.2f} ms  p25 {wall[len(wall) // 4] * 1000:7.2f} ms  "
          f"user {r['user'] * 1000 / rounds:5.2f} ms  sys {r['sys'] * 1000 / rounds:5.2f} ms per launch")
