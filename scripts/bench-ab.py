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
COMMAND is split on spaces (no quoting); stdout and stderr go to /dev/null; a non-zero exit stops it."""
import os
import statistics
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
results = {name: {"wall": [], "user": 0.0, "sys": 0.0} for name, _ in commands}
for _ in range(rounds):
    for name, argv in commands:
        start = time.monotonic()
        pid = os.posix_spawn(argv[0], argv, dict(os.environ),
                             file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)])
        _, status, usage = os.wait4(pid, 0)
        wall = time.monotonic() - start
        if status != 0:
            sys.exit(f"bench-ab: {name} exited with status {status}")
        r = results[name]
        r["wall"].append(wall)
        r["user"] += usage.ru_utime
        r["sys"] += usage.ru_stime
with open("/proc/loadavg") as f:
    print(f"{rounds} rounds, loadavg at the end: {f.read().strip()}")
for name, _ in commands:
    r = results[name]
    wall = sorted(r["wall"])
    print(f"{name:16} median {statistics.median(wall) * 1000:7.2f} ms  p25 {wall[len(wall) // 4] * 1000:7.2f} ms  "
          f"user {r['user'] * 1000 / rounds:5.2f} ms  sys {r['sys'] * 1000 / rounds:5.2f} ms per launch")
