#!/usr/bin/env python3
"""Side-by-side launch benchmark (issue 16): bare /bin/true, the kernel floor (floor.c),
bubblewrap, `confine run -p default` and `confine batch` with --jobs 1 and 2, in one run, every
launcher once per round (two at a time: in ten alternating stretches).

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


class Spawned:
    """A launcher started afresh for each launch: its launch times and summed rusage."""

    def __init__(self, argv):
        self.argv, self.times, self.user, self.system, self.failed = argv, [], 0.0, 0.0, False

    def once(self):
        if self.failed:
            return
        t = time.monotonic()
        pid = spawn(self.argv)
        _, status, ru = os.wait4(pid, 0)
        self.times.append((time.monotonic() - t) * 1000)
        self.failed = status != 0
        self.user += ru.ru_utime
        self.system += ru.ru_stime

    def result(self):
        if self.failed:
            return None
        n = len(self.times)
        return {"times": self.times, "user_ms": self.user * 1000 / n, "sys_ms": self.system * 1000 / n,
                "rss_kib": rss_kib(self.argv)}


class Batch:
    """One `confine batch --jobs J` for the whole benchmark, fed /bin/true requests."""

    def __init__(self, jobs):
        self.jobs = jobs
        self.argv = [confine, "batch", "--jobs", str(jobs), "--log-level", "error"]
        self.p = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, env=env, bufsize=0)
        self.request = (json.dumps({"argv": ["/bin/true"], "policy": "default"}) + "\n").encode()
        self.buffer, self.times, self.elapsed, self.jobs_done = b"", [], 0.0, 0
        self.run(jobs)  # warm-up: the first jobs load the policy and compile the filter
        self.times, self.elapsed, self.jobs_done = [], 0.0, 0

    def run(self, n):
        """n jobs, `jobs` in flight at a time; each one's time from its request line to its report line."""
        sent_at, done, in_flight, t0 = [], 0, 0, time.monotonic()
        while done < n:
            while in_flight < self.jobs and done + in_flight < n:
                sent_at.append(time.monotonic())
                self.p.stdin.write(self.request)
                in_flight += 1
            select.select([self.p.stdout], [], [])
            self.buffer += os.read(self.p.stdout.fileno(), 65536)
            # The line's arrival is the job's end: taken before Python parses the 7 KB report,
            # which took longer than some of what is measured here.
            arrived = time.monotonic()
            while b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                report = json.loads(line)["report"]
                if report["outcome"] != "ok":
                    sys.exit("bench: a batch job did not end ok: " + line.decode())
                # Lines come in completion order; with /bin/true that is close to request order.
                self.times.append((arrived - sent_at[done]) * 1000)
                done += 1
                in_flight -= 1
        self.elapsed += time.monotonic() - t0
        self.jobs_done += n

    def result(self):
        self.p.stdin.close()
        _, status, ru = os.wait4(self.p.pid, 0)
        self.p.stdout.close()
        if status != 0:
            sys.exit(f"bench: {' '.join(self.argv)} exited with status {status}")
        n_all = self.jobs_done + self.jobs
        # Peak RSS over a whole batch of as many jobs, fed from a file.
        with tempfile.NamedTemporaryFile("wb", suffix=".jsonl") as f:
            f.write(self.request * self.jobs_done)
            f.flush()
            rss = rss_kib(self.argv, f.name)
        return {"times": self.times, "rate": self.jobs_done / self.elapsed, "user_ms": ru.ru_utime * 1000 / n_all,
                "sys_ms": ru.ru_stime * 1000 / n_all, "rss_kib": rss}


def two_at_a_time(argv, n):
    """Seconds for n launches with two running at any moment."""
    t = time.monotonic()
    running, started = set(), 0
    while started < n or running:
        while len(running) < 2 and started < n:
            running.add(spawn(argv))
            started += 1
        pid, _ = os.wait()
        running.discard(pid)
    return time.monotonic() - t


# Every launcher once per round, round after round (scripts/bench-ab.py's method): the machine's
# speed drifts by tens of percent over minutes here, and launchers measured in blocks of their own
# saw different machines (batch 1.24x to 1.45x the floor in three runs of the same code).
bwrap = shutil.which("bwrap")
bwrap_argv = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--proc", "/proc", "--dev", "/dev",
              "--tmpfs", "/tmp", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib",
              "/lib", "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/sbin", "/sbin", "--ro-bind",
              "/etc/ld.so.cache", "/etc/ld.so.cache", "--cap-drop", "ALL", "/bin/true"] if bwrap else None
run_argv = [confine, "run", "--log-level", "error", "-p", "default", "--", "/bin/true"]
spawned = [("bare /bin/true", Spawned(["/bin/true"])), ("floor (floor.c)", Spawned([floor, "/bin/true"]))]
if bwrap_argv:
    spawned.append(("bubblewrap", Spawned(bwrap_argv)))
spawned.append(("confine run -p default", Spawned(run_argv)))
batch1 = Batch(1)
# The order turns each round: what a launcher follows matters here (the last sandbox's namespaces
# are still being torn down by the kernel when the next launch starts), so each follows each.
launchers = [launcher.once for _, launcher in spawned] + [lambda: batch1.run(1)]
for round_index in range(runs):
    turn = round_index % len(launchers)
    for once in launchers[turn:] + launchers[:turn]:
        once()
# Two at a time, also interleaved: ten stretches of each, one after the other.
batch2 = Batch(2)
run_two_seconds, stretches = 0.0, 10
for i in range(stretches):
    n = runs // stretches + (1 if i < runs % stretches else 0)
    run_two_seconds += two_at_a_time(run_argv, n)
    batch2.run(n)
rows = [(name, launcher.result(), None) for name, launcher in spawned]
rows[-1] = (rows[-1][0], rows[-1][1], runs / run_two_seconds)
rows.append(("confine batch --jobs 1", batch1.result(), None))
rows.append(("confine batch --jobs 2", batch2.result(), None))
bare = rows[0][1]

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
