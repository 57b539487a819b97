#!/usr/bin/env python3
"""Side-by-side launch benchmark (issue 16): bare /bin/true, the kernel floor (floor.c),
bubblewrap, `confine run -p default` and `confine batch` with --jobs 1 and 2, in one run.

Per launcher it prints the median launch (wall time from spawn to exit, or for batch from the
request line to its report line), the overhead over bare, that overhead as a ratio to the
floor's, launches per second (one at a time; and for run and batch two at a time), the
launcher's user and system CPU per launch (from wait4/getrusage: the launcher and everything it
waited for, /bin/true included), and its peak RSS. A benchmark: it prints figures, asserts
nothing. Usage: bench-batch.py CONFINE FLOOR PEAK_RSS [RUNS] (PEAK_RSS: bench/peak_rss.c, built)"""
import json
import os
import resource
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

confine, floor, peak_rss = sys.argv[1], sys.argv[2], sys.argv[3]
runs = int(sys.argv[4]) if len(sys.argv) > 4 else 300
devnull = os.open("/dev/null", os.O_RDWR)
env = dict(os.environ)


def spawn(argv):
    return os.posix_spawn(argv[0], argv, env,
                          file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1),
                                        (os.POSIX_SPAWN_DUP2, devnull, 2)])


def rss_kib(argv, input_path=None):
    """Peak RSS (KiB) of one run of argv and what it waited for, measured by peak_rss."""
    pre = [peak_rss] + (["-i", input_path] if input_path else [])
    out = subprocess.run(pre + argv, env=env, capture_output=True, text=True)
    return int(out.stdout.strip() or 0)


def one_at_a_time(argv, n):
    """Launch times (ms) and the summed rusage of n sequential runs; None when a run failed."""
    times, user, system = [], 0.0, 0.0
    for _ in range(n):
        t = time.monotonic()
        pid = spawn(argv)
        _, status, ru = os.wait4(pid, 0)
        times.append((time.monotonic() - t) * 1000)
        if status != 0:
            return None
        user += ru.ru_utime
        system += ru.ru_stime
    return {"times": times, "user_ms": user * 1000 / n, "sys_ms": system * 1000 / n, "rss_kib": rss_kib(argv)}


def two_at_a_time(argv, n):
    """Launches per second with two running at any moment."""
    t = time.monotonic()
    running, started = set(), 0
    while started < n or running:
        while len(running) < 2 and started < n:
            running.add(spawn(argv))
            started += 1
        pid, _ = os.wait()
        running.discard(pid)
    return n / (time.monotonic() - t)


def batch(jobs, n):
    """confine batch --jobs J fed n /bin/true requests, `jobs` in flight at a time."""
    p = subprocess.Popen([confine, "batch", "--jobs", str(jobs), "--log-level", "error"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, bufsize=0)
    request = (json.dumps({"argv": ["/bin/true"], "policy": "default"}) + "\n").encode()
    # Warm-up: the first job loads the policy and compiles the filter.
    p.stdin.write(request)
    p.stdout.readline()
    times, sent_at, buffer, done, in_flight = [], [], b"", 0, 0
    t0 = time.monotonic()
    while done < n:
        while in_flight < jobs and done + in_flight < n:
            sent_at.append(time.monotonic())
            p.stdin.write(request)
            in_flight += 1
        select.select([p.stdout], [], [])
        buffer += os.read(p.stdout.fileno(), 65536)
        # The line's arrival is the job's end: taken before Python parses the 7 KB report,
        # which took longer than some of what is measured here.
        arrived = time.monotonic()
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            report = json.loads(line)["report"]
            if report["outcome"] != "ok":
                sys.exit("bench: a batch job did not end ok: " + line.decode())
            # Lines come in completion order; with /bin/true that is close to request order.
            times.append((arrived - sent_at[done]) * 1000)
            done += 1
            in_flight -= 1
    elapsed = time.monotonic() - t0
    p.stdin.close()
    _, status, ru = os.wait4(p.pid, 0)
    p.stdout.close()
    n_all = n + 1
    # Peak RSS over a whole batch of n jobs, fed from a file.
    with tempfile.NamedTemporaryFile("wb", suffix=".jsonl") as f:
        f.write(request * n)
        f.flush()
        rss = rss_kib([confine, "batch", "--jobs", str(jobs), "--log-level", "error"], f.name)
    return {"times": times, "rate": n / elapsed, "user_ms": ru.ru_utime * 1000 / n_all,
            "sys_ms": ru.ru_stime * 1000 / n_all, "rss_kib": rss}


rows = []
bare = one_at_a_time(["/bin/true"], runs)
rows.append(("bare /bin/true", bare, None))
rows.append(("floor (floor.c)", one_at_a_time([floor, "/bin/true"], runs), None))
bwrap = shutil.which("bwrap")
if bwrap:
    rows.append(("bubblewrap", one_at_a_time([bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--proc",
                                              "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--ro-bind", "/usr", "/usr",
                                              "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib",
                                              "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/sbin", "/sbin", "--ro-bind",
                                              "/etc/ld.so.cache", "/etc/ld.so.cache", "--cap-drop", "ALL", "/bin/true"],
                                             runs), None))
run_argv = [confine, "run", "--log-level", "error", "-p", "default", "--", "/bin/true"]
run = one_at_a_time(run_argv, runs)
rows.append(("confine run -p default", run, two_at_a_time(run_argv, runs)))
rows.append(("confine batch --jobs 1", batch(1, runs), None))
rows.append(("confine batch --jobs 2", batch(2, runs), None))

floor_overhead = statistics.median(rows[1][1]["times"]) - statistics.median(bare["times"])
print(f"machine: {os.cpu_count()} cores, kernel {os.uname().release}, uid {os.getuid()}, {runs} launches each")
print(f"{'launcher':26} {'median':>8} {'overhead':>9} {'x floor':>8} {'launch/s':>9} {'2 at once':>10}"
      f" {'user/launch':>12} {'sys/launch':>11} {'peak RSS':>9}")
for name, r, two in rows:
    if r is None:
        print(f"{name:26} failed")
        continue
    median = statistics.median(r["times"])
    overhead = median - statistics.median(bare["times"])
    ratio = overhead / floor_overhead if name != "bare /bin/true" else float("nan")
    rate = r.get("rate") or 1000 / statistics.mean(r["times"])
    both = f"{two:10.0f}" if two else f"{'':10}"
    if name.startswith("confine batch --jobs 2"):
        both, rate_text = f"{r['rate']:10.0f}", f"{'':9}"
    else:
        rate_text = f"{rate:9.0f}"
    print(f"{name:26} {median:6.2f}ms {overhead:7.2f}ms {ratio:8.2f} {rate_text} {both}"
          f" {r['user_ms']:10.2f}ms {r['sys_ms']:9.2f}ms {r['rss_kib'] / 1024:7.1f}M")
print("median: spawn to exit (batch: request line to report line); overhead: median - bare's;"
      " x floor: overhead / the floor's;\nlaunch/s: one at a time (batch --jobs 2: two in flight);"
      " CPU: the launcher and what it waited for,\nper launch (batch: the batch process and its workers over all jobs, /bin/true included);"
      " peak RSS: the largest process among them (batch: over a batch of RUNS jobs).")
