// Every error class from a real run of the real confine: run() rejects with exactly one of
// them, carrying the report (checked against the schema), for each way a job can end.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  AbortError,
  ExecError,
  ExitError,
  PolicyError,
  ResourceLimitError,
  SandboxError,
  SeccompViolationError,
  SignalError,
  SpawnError,
  TimeoutError,
  run,
  type RunOptions,
} from '../src/index.js';
import { assertSchemaValid, confinePath, enforcement, policiesDir, policyFile, processesWith, python, tag, tempDir, waitGone } from './helpers.js';

const base: RunOptions = { policy: 'default', confinePath };

/** run() must reject with an instance of `cls` (and so of SandboxError); returns the error. */
async function rejectsWith<T extends SandboxError>(promise: Promise<unknown>, cls: new (...a: never[]) => T): Promise<T> {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof SandboxError, `expected a SandboxError, got ${String(e)}`);
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e.name}: ${e.message}\nstderr: ${e.stderr}`);
    return e;
  }
  assert.fail(`expected ${cls.name}, but the run succeeded`);
}

test('ok: resolves with the output, the exit code and a valid report', async () => {
  const r = await run('/bin/echo', ['hello', '--not-an-option'], base);
  assert.equal(r.stdout, 'hello --not-an-option\n');
  assert.equal(r.stderr, '');
  assert.equal(r.exitCode, 0);
  assertSchemaValid(r.report);
  assert.equal(r.report.outcome, 'ok');
  assert.deepEqual(r.report.command.slice(1), ['hello', '--not-an-option']);
});

test('wall-time limit: TimeoutError, which = wall', async () => {
  const started = Date.now();
  const e = await rejectsWith(run('/bin/sleep', ['30'], { ...base, timeout: 500 }), TimeoutError);
  assert.equal(e.which, 'wall');
  assertSchemaValid(e.report);
  assert.equal(e.report.outcome, 'wall_timeout');
  assert.equal(e.exitCode, 124);
  assert.ok(Date.now() - started < 10_000);
  // confine's own line about it is on its log fd (--log-fd), never in the job's stderr.
  assert.ok(e.log.some((l) => /wall time limit .* reached; job killed/.test(l)), JSON.stringify(e.log));
  assert.equal(e.stderr, '');
});

test('CPU-time limit: TimeoutError, which = cpu', async () => {
  const e = await rejectsWith(run(python, ['-c', 'while True: pass'], { ...base, cpuTime: '1s', timeout: '20s' }), TimeoutError);
  assert.equal(e.which, 'cpu');
  assertSchemaValid(e.report);
  assert.equal(e.report.outcome, 'cpu_timeout');
  assert.deepEqual(e.report.limits_hit, ['cpu_time']);
});

// A cgroup memory controller gives an OOM kill; without one (this kind of host) confine falls
// back to RLIMIT_AS, the allocation fails inside the job, and it exits by itself.
// bestEffort: a limit given on the command line is otherwise required, and refused (PolicyError)
// where the controller is missing.
test('memory limit: ResourceLimitError(memory) under a cgroup, the job failing by itself under the RLIMIT_AS fallback', async () => {
  const hog = 'chunks = []\nwhile True:\n    chunks.append(bytearray(16 << 20))\n';
  const settled = await run(python, ['-c', hog], { ...base, memory: '256M', bestEffort: true, reject: false });
  assertSchemaValid(settled.report);
  if (enforcement(settled.report, 'memory_limit') === 'enforced') {
    assert.ok(settled.error instanceof ResourceLimitError, String(settled.error));
    assert.equal(settled.error.which, 'memory');
    assert.equal(settled.report.outcome, 'oom');
  } else {
    assert.equal(enforcement(settled.report, 'memory_limit'), 'enforced_fallback');
    assert.ok(settled.error instanceof ExitError, String(settled.error));
    assert.match(settled.stderr, /MemoryError/);
  }
});

test('pids limit: ResourceLimitError(pids) under a cgroup, fork failing with EAGAIN under the RLIMIT_NPROC fallback', async () => {
  const marker = tag('forkbomb');
  const bomb =
    'import os, sys, time\n' +
    'try:\n' +
    '    for _ in range(200):\n' +
    '        if os.fork() == 0:\n' +
    '            time.sleep(60)\n' +
    '            os._exit(0)\n' +
    'except BlockingIOError:\n' +
    '    sys.exit("fork refused")\n';
  const settled = await run(python, ['-c', bomb, marker], { ...base, pids: 12, bestEffort: true, reject: false });
  assertSchemaValid(settled.report);
  if (enforcement(settled.report, 'pids_limit') === 'enforced') {
    assert.ok(settled.error instanceof ResourceLimitError, String(settled.error));
    assert.equal(settled.error.which, 'pids');
    assert.ok(settled.report.limits_hit.includes('pids'));
  } else {
    assert.equal(enforcement(settled.report, 'pids_limit'), 'enforced_fallback');
    assert.ok(settled.error instanceof ExitError, String(settled.error));
    assert.match(settled.stderr, /fork refused/);
  }
  assert.deepEqual(await waitGone(marker), []);
});

test('file size limit: ResourceLimitError(file_size)', async (t) => {
  const policy = policyFile(t, 'default.toml', '[limits]\nfile_size = "1M"');
  const e = await rejectsWith(
    run('/usr/bin/dd', ['if=/dev/zero', 'of=/tmp/big', 'bs=1M', 'count=4'], { ...base, policy }),
    ResourceLimitError,
  );
  assert.equal(e.which, 'file_size');
  assertSchemaValid(e.report);
  assert.equal(e.report.outcome, 'file_size_limit');
  assert.equal(e.exitCode, 153);
});

test('output limit: ResourceLimitError(output), the output cut at the limit', async () => {
  const chunks: Buffer[] = [];
  const e = await rejectsWith(
    run('/usr/bin/yes', ['confine'], { ...base, maxOutput: 65536, onStdout: (c) => chunks.push(c) }),
    ResourceLimitError,
  );
  assert.equal(e.which, 'output');
  assert.ok(e.stdout.length <= 65536, `kept ${e.stdout.length} bytes`);
  assert.ok(Buffer.concat(chunks).length <= 65536);
  assert.match(e.stdout, /^(confine\n)+/);
  assertSchemaValid(e.report);
  // confine enforces it itself (contract: outcome output_limit, exit 153).
  assert.equal(e.report.outcome, 'output_limit');
  assert.deepEqual(e.report.limits_hit, ['output']);
  assert.equal(e.exitCode, 153);
});

test('seccomp: SeccompViolationError naming the syscall', async () => {
  const e = await rejectsWith(
    run(python, ['-c', 'import ctypes, os; ctypes.CDLL(None).syscall(272, 0); print("survived")'], base),
    SeccompViolationError,
  );
  assert.equal(e.syscall, 'unshare');
  assertSchemaValid(e.report);
  // The report names the denial (seccomp user notification, which this host has): the kill,
  // with the call's number and the pid that made it.
  assert.equal(e.denial?.syscall, 'unshare');
  assert.equal(e.denial?.action, 'kill');
  assert.equal(e.denial?.nr, 272);
  assert.deepEqual(e.denials.map((d) => d.syscall), ['unshare']);
  assert.equal(e.report.outcome, 'seccomp_violation');
  assert.equal(e.exitCode, 159);
  assert.equal(e.stdout, '');
});

test('exec: ExecError not_found (127) and not_executable (126)', async () => {
  const missing = await rejectsWith(run('/usr/bin/no-such-program', [], base), ExecError);
  assert.equal(missing.reason, 'not_found');
  assert.equal(missing.exitCode, 127);
  assert.equal(missing.errnoName, 'ENOENT');
  assertSchemaValid(missing.report);

  const notExecutable = await rejectsWith(run('/etc/ld.so.cache', [], base), ExecError);
  assert.equal(notExecutable.reason, 'not_executable');
  assert.equal(notExecutable.exitCode, 126);
  assert.equal(notExecutable.errnoName, 'EACCES');
  assertSchemaValid(notExecutable.report);
});

test('policy: PolicyError for a missing file, a broken file and an unknown name', async (t) => {
  const missing = await rejectsWith(run('/bin/true', [], { ...base, policy: '/nonexistent/policy.toml' }), PolicyError);
  assert.equal(missing.step, 'policy');
  assertSchemaValid(missing.report);
  assert.equal(missing.stderr, '', "confine's message is not the job's stderr");
  assert.ok(missing.log.some((l) => l.includes('/nonexistent/policy.toml')) || missing.message.includes('/nonexistent/policy.toml'));

  const broken = policyFile(t, 'default.toml', '[limits]\nmemroy = "1G"');
  const typo = await rejectsWith(run('/bin/true', [], { ...base, policy: broken }), PolicyError);
  assert.equal(typo.step, 'policy');
  assert.match(typo.message, /did you mean 'memory'/);

  // Names are confine's to look up: its error lists where it looked.
  const unknown = await rejectsWith(run('/bin/true', [], { ...base, policy: 'no-such-policy' }), PolicyError);
  assert.equal(unknown.step, 'policy');
  assertSchemaValid(unknown.report);
  assert.match(unknown.message, /no-such-policy/);
  assert.ok(unknown.message.includes(policiesDir), unknown.message);

  // policyPath puts directories in front of the search path.
  const own = tempDir(t, 'policies', 0o755);
  writeFileSync(path.join(own, 'tiny.toml'), `version = 1\nextends = [${JSON.stringify(path.join(policiesDir, 'default.toml'))}]\n[limits]\npids = 7\n`, { mode: 0o644 });
  const found = await run('/bin/true', [], { ...base, policy: 'tiny', policyPath: [own] });
  assertSchemaValid(found.report);
  assert.equal(found.report.policy.path, path.join(own, 'tiny.toml'));
});

test('signal: SignalError with the signal name', async () => {
  const e = await rejectsWith(run(python, ['-c', 'import os, signal; os.kill(os.getpid(), signal.SIGSEGV)'], base), SignalError);
  assert.equal(e.signal, 'SIGSEGV');
  assert.equal(e.signalNumber, 11);
  assert.equal(e.exitCode, 139);
  assertSchemaValid(e.report);
});

test('non-zero exit: ExitError with the job exit code and its stderr', async () => {
  const e = await rejectsWith(run(python, ['-c', 'import sys; sys.stderr.write("bad input\\n"); sys.exit(3)'], base), ExitError);
  assert.equal(e.jobExitCode, 3);
  assert.equal(e.exitCode, 3);
  assert.equal(e.stderr, 'bad input\n');
  assertSchemaValid(e.report);
  assert.equal(e.report.outcome, 'exit_nonzero');
});

test('reject: false resolves with the error instead', async () => {
  const settled = await run('/usr/bin/false', [], { ...base, reject: false });
  assert.ok(settled.error instanceof ExitError);
  assert.equal(settled.exitCode, 1);
  assertSchemaValid(settled.report);
  const fine = await run('/bin/true', [], { ...base, reject: false });
  assert.equal(fine.error, null);
});

test('spawn: SpawnError when confine is missing or fails without a report', async () => {
  const missing = await rejectsWith(run('/bin/true', [], { ...base, confinePath: '/nonexistent/confine' }), SpawnError);
  assert.equal(missing.code, 'ENOENT');
  assert.equal(missing.report, null);

  // A "confine" that exits 1 at once and writes no report.
  const failing = await rejectsWith(run('/bin/true', [], { ...base, confinePath: '/usr/bin/false' }), SpawnError);
  assert.equal(failing.report, null);
});

// Abort mid-run: confine gets SIGTERM and forwards it; a job that ignores it is killed after
// its grace period. Either way nothing of the job is left.
test('abort: AbortError, and no process of the job left behind', async () => {
  for (const ignoresTerm of [false, true]) {
    const marker = tag(ignoresTerm ? 'abort-ignoring' : 'abort');
    const script =
      'import os, signal, sys, time\n' +
      (ignoresTerm ? 'signal.signal(signal.SIGTERM, signal.SIG_IGN)\n' : '') +
      'for _ in range(3):\n' +
      '    if os.fork() == 0:\n' +
      (ignoresTerm ? '        signal.signal(signal.SIGTERM, signal.SIG_IGN)\n' : '') +
      '        time.sleep(60)\n' +
      '        os._exit(0)\n' +
      'print("ready", flush=True)\n' +
      'time.sleep(60)\n';
    const controller = new AbortController();
    const started = Date.now();
    const e = await rejectsWith(
      run(python, ['-c', script, marker], {
        ...base,
        killGrace: 500,
        signal: controller.signal,
        onStdout: (chunk) => {
          if (chunk.toString().includes('ready')) controller.abort(new Error('user cancelled'));
        },
      }),
      AbortError,
    );
    assert.equal((e.reason as Error).message, 'user cancelled');
    assert.ok(Date.now() - started < 20_000);
    // confine escalated by itself (--kill-after): the run has its report either way, and the
    // report says confine was cancelled by SIGTERM.
    assert.ok(e.report !== null, 'a cancelled run ends with a report');
    assertSchemaValid(e.report);
    assert.equal(e.report.cancelled, 'SIGTERM');
    assert.equal(e.cancelledBy, 'SIGTERM');
    assert.equal(e.report.outcome, 'signaled');
    assert.equal(e.report.target.signal_name, ignoresTerm ? 'SIGKILL' : 'SIGTERM');
    assert.ok(e.confineArgv.includes('--kill-after=500ms'), e.confineArgv.join(' '));
    assert.deepEqual(await waitGone(marker), [], `processes of the ${marker} job are still there`);
  }
});

// Cancelled from elsewhere (a service manager stopping the worker sends confine SIGTERM): no
// AbortSignal was involved, and the report's `cancelled` alone makes it an AbortError.
test('SIGTERM to confine itself: AbortError from the report, no reason', async () => {
  const marker = tag('sigterm');
  let sent = false;
  const e = await rejectsWith(
    run(python, ['-c', 'import time; print("ready", flush=True); time.sleep(60)', marker], {
      ...base,
      onStdout: (chunk) => {
        if (sent || !chunk.toString().includes('ready')) return;
        // confine's own process: the one whose argv starts with its path (the job's starts with python).
        const confinePid = processesWith(marker).find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] === confinePath);
        assert.ok(confinePid !== undefined, 'confine is running');
        process.kill(confinePid, 'SIGTERM');
        sent = true;
      },
    }),
    AbortError,
  );
  assert.equal(e.reason, undefined);
  assert.equal(e.cancelledBy, 'SIGTERM');
  assertSchemaValid(e.report);
  assert.equal(e.report?.cancelled, 'SIGTERM');
  assert.deepEqual(await waitGone(marker), []);
});

test('abort before start: AbortError without running anything', async () => {
  const marker = tag('never');
  const e = await rejectsWith(run('/bin/echo', [marker], { ...base, signal: AbortSignal.abort('no') }), AbortError);
  assert.equal(e.report, null);
  assert.equal(e.reason, 'no');
});
