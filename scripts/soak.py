#!/usr/bin/env python3
"""Soak and leak check for confine (driven by scripts/soak.sh; python3 stdlib only).

Runs `confine run ... -- confine-probe ...` RUNS times, in blocks that alternate between one at a
time and two at a time, cycling through every kind of ending: ok, non-zero exit, wall timeout,
seccomp kill, exec failure (missing command: caught by the plan; not executable: execve in the
child), setup failure (a missing --ro path: the plan; an rlimit the child cannot raise: the
child), a daemon left behind, an fd listing, and, where confine's cgroup has the memory
controller (the VM), an OOM kill. Every run is checked against its expected outcome and exit
code, and that its stdout pipe and an extra inherited pipe reach end-of-file once confine has
exited (a sandbox process that survived would hold them open).

Afterwards (and after every block, for attribution) it checks that nothing is left:
  * no process whose argv carries this soak's tag (the probe gets --tag; confine itself carries
    the tag through the --report path and a harmless --env);
  * no cgroup leaf job-<pid>-* of any confine started here under confine's cgroup parent (root
    only; the cgroup v1 hierarchies are never looked at);
  * no new line in /proc/self/mountinfo;
  * no new entry in /tmp or /dev/shm (except this soak's own work dir, and --ignore-tmp REGEX);
  * the same open fds in this process as before.
And that confine's memory is steady: each run's max RSS (wait4's rusage: confine plus the
sandbox processes it reaped, so compared per scenario, where the target is the same every time)
must not grow from the first tenth of the runs to the last, and confine's own VmRSS, sampled
while it supervises the wall-timeout runs, must not either.

Targets are started with argv lists (subprocess, no shell), never with command strings.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

# --- What a run looks like -----------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    outcome: str
    exit_code: int
    weight: int
    confine_args: list[str] = field(default_factory=list)
    probe_args: list[str] | None = None  # None: `command` instead of the probe
    command: list[str] | None = None
    check: str = ""  # extra check on the output


def scenarios(work: str, with_oom: bool) -> list[Scenario]:
    not_executable = os.path.join(work, "bin", "not-executable")
    locked = os.path.join(work, "locked")
    s = [
        Scenario("ok", "ok", 0, 6, probe_args=["exit", "0"]),
        Scenario("exit_nonzero", "exit_nonzero", 3, 3, probe_args=["exit", "3"]),
        # sleep dies of the SIGTERM at once, so the kill grace is not waited for.
        Scenario("wall_timeout", "wall_timeout", 124, 1, confine_args=["--timeout", "300ms"],
                 probe_args=["sleep", "30"]),
        Scenario("seccomp_kill", "seccomp_violation", 159, 2, probe_args=["try-syscall", "bpf"]),
        Scenario("exec_missing", "exec_error", 127, 2, command=[os.path.join(work, "bin", "missing")]),
        Scenario("exec_not_executable", "exec_error", 126, 2, confine_args=["--ro", os.path.join(work, "bin")],
                 command=[not_executable]),
        Scenario("setup_missing_ro", "setup_error", 125, 2,
                 confine_args=["--ro", os.path.join(work, "no-such-dir")], probe_args=["exit", "0"]),
        # A failure only the child can find: the working directory is bound in, but mode 000, and
        # the target (uid 1000, no capabilities) cannot enter it.
        Scenario("setup_child_chdir", "setup_error", 125, 2, confine_args=["--rw", locked, "--cwd", locked],
                 probe_args=["exit", "0"], check="setup_step_chdir"),
        Scenario("daemon_left_behind", "ok", 0, 2, probe_args=["daemonize", "-", "--exit"]),
        Scenario("fds", "ok", 0, 2, probe_args=["fds"], check="only_stdio"),
    ]
    if with_oom:
        s.append(Scenario("oom", "oom", 137, 2, confine_args=["--memory", "32M"], probe_args=["memhog", "256"]))
    return s


# --- Host state ------------------------------------------------------------------------------


def cgroup_parent() -> str:
    """confine's cgroup parent when run as root (the fixture's rule), '' when none."""
    if os.geteuid() != 0:
        return ""
    env = os.environ.get("CONFINE_CGROUP_PARENT", "")
    if env:
        return env
    first = ""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            if not post.startswith("cgroup2 "):
                continue
            point = pre.split()[4]
            if point == "/sys/fs/cgroup":
                return point + "/confine"
            first = first or point
    return first + "/confine" if first else ""


def memory_controller(parent: str) -> bool:
    for d in (parent, os.path.dirname(parent)):
        try:
            with open(os.path.join(d, "cgroup.controllers")) as f:
                return "memory" in f.read().split()
        except OSError:
            continue
    return False


def tagged_processes(tag: str) -> list[tuple[int, str]]:
    found = []
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if tag.encode() in cmdline:
            found.append((int(entry), cmdline.replace(b"\0", b" ").decode(errors="replace")))
    return found


def mountinfo() -> collections.Counter:
    with open("/proc/self/mountinfo") as f:
        return collections.Counter(f.read().splitlines())


def own_fds() -> set[str]:
    # listdir opens the directory itself, with a different number each time it may be: keep
    # only fds that point at the same thing before and after.
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            out.add(f"{fd} -> {os.readlink(f'/proc/self/fd/{fd}')}")
        except OSError:
            pass  # the listing's own fd, closed by now
    return out


def temp_entries() -> set[str]:
    out = set()
    for d in ("/tmp", "/dev/shm"):
        try:
            out.update(os.path.join(d, e) for e in os.listdir(d))
        except OSError:
            pass
    return out


def vm_kib(pid: int, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


# --- One run ----------------------------------------------------------------------------------


@dataclass
class Run:
    index: int
    scenario: Scenario
    proc: subprocess.Popen
    pidfd: int
    report: str
    canary_r: int
    started: float
    rss_sample_kib: int | None = None


@dataclass
class Finished:
    index: int
    scenario: str
    ok: bool
    problem: str
    maxrss_kib: int
    rss_sample_kib: int | None
    seconds: float


class Soak:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        build = os.path.realpath(args.build)
        self.confine = args.confine or os.path.join(build, "src", "confine")
        self.probe = args.probe or os.path.join(build, "integration", "confine-probe")
        for f in (self.confine, self.probe):
            if not os.access(f, os.X_OK):
                sys.exit(f"soak: {f} is missing; build it: ninja -C {build} confine confine-probe")
        self.probe_dir = os.path.dirname(os.path.realpath(self.probe))
        self.tag = f"confine-soak-{os.getpid()}-{random.getrandbits(48):012x}"
        self.work = tempfile.mkdtemp(prefix=self.tag + "-")
        os.chmod(self.work, 0o755)
        os.mkdir(os.path.join(self.work, "bin"), 0o755)
        path = os.path.join(self.work, "bin", "not-executable")
        with open(path, "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        os.chmod(path, 0o644)
        os.mkdir(os.path.join(self.work, "reports"), 0o755)
        os.mkdir(os.path.join(self.work, "locked"))
        os.chmod(os.path.join(self.work, "locked"), 0)  # mkdir's mode is cut by the umask anyway
        self.cgroup_parent = cgroup_parent()
        with_oom = {"auto": bool(self.cgroup_parent) and memory_controller(self.cgroup_parent),
                    "yes": True, "no": False}[args.oom]
        self.scenarios = scenarios(self.work, with_oom)
        self.confine_pids: list[int] = []
        self.leaks: list[str] = []
        self.wrong: list[str] = []
        self.done: list[Finished] = []

    # Starting and finishing ----------------------------------------------------------------

    def start(self, index: int, sc: Scenario) -> Run:
        report = os.path.join(self.work, "reports", f"{index}.json")
        argv = [self.confine, "run", "--log-level", "error", "--ro", self.probe_dir, "--report", report,
                "--env", "CONFINE_SOAK_TAG=" + self.tag, *sc.confine_args, "--"]
        if sc.probe_args is not None:
            argv += [self.probe, "--tag", self.tag, *sc.probe_args]
        else:
            argv += sc.command
        # A pipe confine inherits without close-on-exec, as a careless caller's would be: it
        # must not reach the sandbox, so once confine is gone nobody holds its write end.
        canary_r, canary_w = os.pipe()

        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                pass_fds=(canary_w,))
        os.close(canary_w)
        self.confine_pids.append(proc.pid)
        return Run(index, sc, proc, os.pidfd_open(proc.pid), report, canary_r, time.monotonic())

    def finish(self, run: Run) -> Finished:
        sc = run.scenario
        problems: list[str] = []
        # confine's stdout and stderr are pipes that are read only after it exits: fine for the
        # few KiB these targets write (the pipe holds 64 KiB).
        _, status, usage = os.wait4(run.proc.pid, 0)
        seconds = time.monotonic() - run.started
        os.close(run.pidfd)
        out, err = b"", b""
        for pipe, name in ((run.proc.stdout, "stdout"), (run.proc.stderr, "stderr")):
            data, eof = read_to_eof(pipe.fileno(), self.args.eof_grace)
            pipe.close()
            if name == "stdout":
                out = data
            else:
                err = data
            if not eof:
                self.leak(f"run {run.index} ({sc.name}): confine's {name} still open "
                          f"{self.args.eof_grace}s after it exited (a sandbox process holds it)")
        _, eof = read_to_eof(run.canary_r, self.args.eof_grace)
        os.close(run.canary_r)
        if not eof:
            self.leak(f"run {run.index} ({sc.name}): an fd confine inherited is still held after it exited")
        run.proc.returncode = os.waitstatus_to_exitcode(status)

        code = run.proc.returncode
        if code != sc.exit_code:
            problems.append(f"exit {code} (expected {sc.exit_code})")
        try:
            with open(run.report) as f:
                report = json.load(f)
            os.unlink(run.report)
        except (OSError, ValueError) as e:
            report = None
            problems.append(f"no readable report ({e})")
        if report is not None:
            if report.get("outcome") != sc.outcome:
                problems.append(f"outcome {report.get('outcome')} (expected {sc.outcome})")
            if sc.check == "setup_step_chdir" and (report.get("setup_error") or {}).get("step") != "chdir":
                problems.append(f"setup_error {report.get('setup_error')} (expected step chdir)")
        if sc.check == "only_stdio":
            fds = sorted(line.split()[0] for line in out.decode(errors="replace").splitlines() if line)
            if fds != ["0", "1", "2"]:
                problems.append(f"the target holds fds {fds} (expected only 0 1 2)")
        if problems:
            self.wrong.append(f"run {run.index} ({sc.name}): " + "; ".join(problems) +
                              f"\n    stdout: {out[:300]!r}\n    stderr: {err[:600]!r}")
        return Finished(run.index, sc.name, not problems, "; ".join(problems), usage.ru_maxrss,
                        run.rss_sample_kib, seconds)

    def wait_all(self, runs: list[Run]) -> None:
        """Waits for every run in the block; samples confine's VmRSS once, 150 ms into a run that
        is still going (only the wall-timeout runs live that long)."""
        pending = {r.pidfd: r for r in runs}
        while pending:
            now = time.monotonic()
            unsampled = [r for r in pending.values() if r.rss_sample_kib is None and r.scenario.name == "wall_timeout"]
            timeout = None
            if unsampled:
                timeout = max(0.0, min(r.started + 0.15 for r in unsampled) - now)
            ready, _, _ = select.select(list(pending), [], [], timeout)
            for r in unsampled:
                if time.monotonic() >= r.started + 0.15 and r.pidfd not in ready:
                    r.rss_sample_kib = vm_kib(r.proc.pid, "VmRSS") or 0
            for fd in ready:
                self.done.append(self.finish(pending.pop(fd)))

    # Leak checks ---------------------------------------------------------------------------

    def leak(self, what: str) -> None:
        self.leaks.append(what)
        print(f"soak: LEAK: {what}", file=sys.stderr)

    def check_block(self, pids: list[int]) -> None:
        """After a block: nothing tagged still runs, no leaf of these confines is left."""
        deadline = time.monotonic() + 2.0
        left = tagged_processes(self.tag)
        while left and time.monotonic() < deadline:
            time.sleep(0.02)
            left = tagged_processes(self.tag)
        for pid, cmdline in left:
            self.leak(f"process {pid} still running: {cmdline[:200]}")
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if self.cgroup_parent and os.path.isdir(self.cgroup_parent):
            names = os.listdir(self.cgroup_parent)
            for pid in pids:
                for name in names:
                    if name.startswith(f"job-{pid}-"):
                        self.leak(f"cgroup leaf {self.cgroup_parent}/{name} left by confine {pid}")
                        remove_cgroup(os.path.join(self.cgroup_parent, name))

    # The soak ------------------------------------------------------------------------------

    def run(self) -> int:
        a = self.args
        rng = random.Random(a.seed)
        weighted = [sc for sc in self.scenarios for _ in range(sc.weight)]
        plan = [rng.choice(weighted) for _ in range(a.runs)]
        # Every scenario at least once, early, so even a short run covers them all.
        for i, sc in enumerate(self.scenarios[: a.runs]):
            plan[i] = sc

        print(f"soak: {a.runs} runs of {self.confine}")
        print(f"soak: scenarios: {', '.join(sc.name for sc in self.scenarios)}")
        print(f"soak: cgroup parent: {self.cgroup_parent or '(none: not root)'}; tag {self.tag}")
        mounts_before = mountinfo()
        fds_before = own_fds()
        temp_before = temp_entries()
        leaves_before = sorted(os.listdir(self.cgroup_parent)) if self.cgroup_parent and os.path.isdir(
            self.cgroup_parent) else []

        started = time.monotonic()
        index = 0
        block = 0
        while index < a.runs:
            parallel = 2 if block % 2 else 1
            end = min(a.runs, index + a.block)
            first_pid = len(self.confine_pids)
            while index < end:
                batch = [self.start(index + k, plan[index + k]) for k in range(min(parallel, end - index))]
                index += len(batch)
                self.wait_all(batch)
            self.check_block(self.confine_pids[first_pid:])
            block += 1
            if a.progress and block % a.progress == 0:
                rate = index / (time.monotonic() - started)
                print(f"soak: {index}/{a.runs} runs, {rate:.1f}/s, {len(self.leaks)} leaks, {len(self.wrong)} wrong",
                      flush=True)
        elapsed = time.monotonic() - started

        # The whole soak, once more, at the end.
        self.check_block(self.confine_pids)
        # Mounts: confine's live in the sandbox's own namespace; any new line here leaked out.
        for line, count in (mountinfo() - mounts_before).items():
            self.leak(f"new mount (x{count}): {line}")
        fds_after = own_fds()
        for fd in sorted(fds_after - fds_before):
            self.leak(f"new fd in the caller: {fd}")
        ignore = [re.compile(p) for p in a.ignore_tmp]
        for path in sorted(temp_entries() - temp_before):
            if path == self.work or any(p.search(path) for p in ignore):
                continue
            self.leak(f"new temp entry: {path}")
        if self.cgroup_parent:
            after = sorted(os.listdir(self.cgroup_parent)) if os.path.isdir(self.cgroup_parent) else []
            # Leaves of our confines were checked above; others belong to confines running
            # beside this soak (a shared host), so they are shown, not counted.
            foreign = [n for n in after if n.startswith("job-") and n not in leaves_before]
            if foreign:
                print(f"soak: note: leaves of other confines appeared meanwhile: {', '.join(foreign)}")

        self.memory_check()
        self.print_figures(elapsed)
        os.chmod(os.path.join(self.work, "locked"), 0o700)  # rmtree must be able to open it
        shutil.rmtree(self.work, ignore_errors=True)
        if self.wrong:
            print(f"soak: {len(self.wrong)} runs ended wrongly:", file=sys.stderr)
            for w in self.wrong[:20]:
                print("  " + w, file=sys.stderr)
        verdict = "FAIL" if self.leaks or self.wrong else "PASS"
        print(f"soak: {verdict}: {len(self.done)} runs in {elapsed:.1f} s ({len(self.done) / elapsed:.1f} runs/s), "
              f"{len(self.leaks)} leaks, {len(self.wrong)} wrong outcomes")
        return 1 if verdict == "FAIL" else 0

    def memory_check(self) -> None:
        """Max RSS must not grow with the run count: the last tenth against the first tenth of
        each scenario's runs (medians, so one noisy run does not decide)."""
        self.memory_rows = []
        groups: dict[str, list[Finished]] = collections.defaultdict(list)
        for f in sorted(self.done, key=lambda f: f.index):
            groups[f.scenario].append(f)
        sampled = [f.rss_sample_kib for f in sorted(self.done, key=lambda f: f.index) if f.rss_sample_kib]
        series = [(name, [f.maxrss_kib for f in fs]) for name, fs in groups.items()]
        series.append(("confine VmRSS mid-run", sampled))
        for name, values in series:
            if len(values) < 10:
                self.memory_rows.append((name, len(values), None, None, "too few runs to compare"))
                continue
            tenth = max(3, len(values) // 10)
            head = statistics.median(values[:tenth])
            tail = statistics.median(values[-tenth:])
            # Allowance: page-granular noise, and the kernel's lazily faulted library pages.
            allowed = max(self.args.rss_slack_kib, head * 0.05)
            verdict = "steady" if tail <= head + allowed else "GROWS"
            if verdict == "GROWS":
                self.leak(f"max RSS of '{name}' grew from {head:.0f} KiB (first {tenth}) to {tail:.0f} KiB (last {tenth})")
            self.memory_rows.append((name, len(values), head, tail, verdict))

    def print_figures(self, elapsed: float) -> None:
        print(f"soak: {len(self.done)} runs in {elapsed:.1f} s: {len(self.done) / elapsed:.1f} runs/s "
              f"(blocks of {self.args.block}, alternately one and two at a time)")
        print(f"  {'scenario':22} {'runs':>5} {'wrong':>5} {'median ms':>9} {'p90 ms':>7} {'maxrss KiB first/last':>22}")
        rows = {name: (n, head, tail, verdict) for name, n, head, tail, verdict in self.memory_rows}
        by: dict[str, list[Finished]] = collections.defaultdict(list)
        for f in self.done:
            by[f.scenario].append(f)
        for sc in self.scenarios:
            fs = by.get(sc.name, [])
            if not fs:
                continue
            times = sorted(f.seconds * 1000 for f in fs)
            p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
            _, head, tail, verdict = rows.get(sc.name, (0, None, None, ""))
            mem = f"{head:.0f}/{tail:.0f} {verdict}" if head is not None else verdict
            print(f"  {sc.name:22} {len(fs):5} {sum(not f.ok for f in fs):5} {statistics.median(times):9.1f} "
                  f"{p90:7.1f} {mem:>22}")
        if "confine VmRSS mid-run" in rows:
            n, head, tail, verdict = rows["confine VmRSS mid-run"]
            if head is not None:
                print(f"  confine's own VmRSS while supervising ({n} samples): {head:.0f} KiB first, {tail:.0f} KiB last: {verdict}")
            else:
                print(f"  confine's own VmRSS while supervising: {n} samples, {verdict}")
        print(f"  leaks: {len(self.leaks)}" + "".join(f"\n    {l}" for l in self.leaks[:50]))


def read_to_eof(fd: int, grace: float) -> tuple[bytes, bool]:
    """Everything left on fd; True when end-of-file came within `grace` seconds."""
    data = b""
    deadline = time.monotonic() + grace
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return data, False
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return data, False
        chunk = os.read(fd, 65536)
        if not chunk:
            return data, True
        data += chunk


def remove_cgroup(path: str) -> None:
    for _ in range(100):
        try:
            os.rmdir(path)
            return
        except OSError:
            time.sleep(0.02)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=1000)
    p.add_argument("--build", default="build", help="build tree with src/confine and integration/confine-probe")
    p.add_argument("--confine", help="the confine binary (default BUILD/src/confine)")
    p.add_argument("--probe", help="the probe (default BUILD/integration/confine-probe)")
    p.add_argument("--block", type=int, default=20, help="runs per block; blocks alternate serial and pairs")
    p.add_argument("--oom", choices=("auto", "yes", "no"), default="auto",
                   help="OOM runs (auto: when confine's cgroup parent has the memory controller)")
    p.add_argument("--seed", type=int, default=1, help="the scenario order")
    p.add_argument("--eof-grace", type=float, default=2.0, help="seconds for pipes to close after confine exits")
    p.add_argument("--rss-slack-kib", type=int, default=1024, help="max RSS growth tolerated (or 5%%)")
    p.add_argument("--ignore-tmp", action="append", default=[], metavar="REGEX",
                   help="new /tmp or /dev/shm entries to ignore (other programs' on a shared host)")
    p.add_argument("--progress", type=int, default=10, help="print progress every N blocks (0: never)")
    args = p.parse_args()
    if args.runs < 1 or args.block < 2:
        p.error("--runs must be >= 1 and --block >= 2")
    return Soak(args).run()


if __name__ == "__main__":
    sys.exit(main())
