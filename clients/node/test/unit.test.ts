// The client's pure parts, without confine: the command line it builds, the mapping from
// outcomes to error classes as a table (with the report's cancelled and denials), the pool's
// option merge, and the result frame of sandboxed().
import assert from 'node:assert/strict';
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
  TimeoutError,
  classify,
  mergeOptions,
  type Report,
} from '../src/index.js';
import { buildConfineArgs, durationInMs, formatDuration, formatSize, sizeInBytes } from '../src/options.js';
import { FrameSplitter } from '../src/sandboxed.js';

test('buildConfineArgs: every option as one --flag=value element, the command after --', () => {
  const argv = buildConfineArgs(
    'convert',
    ['-density', '300', 'in.svg', 'out.png'],
    {
      ro: ['/opt/fonts', '-odd'],
      rw: ['/jobs/42'],
      cwd: '/jobs/42',
      output: '/jobs/42/out',
      env: { LANG: 'C.UTF-8', X: 'a=b' },
      timeout: 1500,
      cpuTime: '10s',
      memory: 256 * 1024 * 1024,
      pids: 16,
      cpus: 1.5,
      network: 'none',
      maxOutput: '1M',
      killGrace: 0,
      bestEffort: true,
      stdin: 'input',
    },
    '/etc/confine/policies/imagemagick.toml',
  );
  assert.deepEqual(argv, [
    'run',
    '--policy=/etc/confine/policies/imagemagick.toml',
    '--ro=/opt/fonts',
    '--ro=-odd',
    '--rw=/jobs/42',
    '--cwd=/jobs/42',
    '--output=/jobs/42/out',
    '--env=LANG=C.UTF-8',
    '--env=X=a=b',
    '--timeout=1500ms',
    '--cpu-time=10s',
    '--memory=268435456',
    '--pids=16',
    '--cpus=1.5',
    '--net=none',
    '--max-output=1M',
    '--kill-after=0s',
    '--best-effort',
    '--report-fd=3',
    '--log-fd=4',
    '--stdin=relay',
    '--',
    'convert',
    '-density',
    '300',
    'in.svg',
    'out.png',
  ]);
});

test('buildConfineArgs: the report and the log on their own fds; the grace is the policy\'s unless given', () => {
  const argv = buildConfineArgs('/bin/true', [], {}, null);
  // The job reads end-of-file at once unless the client has input for it; no --kill-after, so
  // the policy's limits.kill_grace applies.
  assert.deepEqual(argv, ['run', '--report-fd=3', '--log-fd=4', '--stdin=null', '--', '/bin/true']);
  assert.ok(buildConfineArgs('/bin/true', [], { killGrace: '30s' }, null).includes('--kill-after=30s'));
  assert.ok(buildConfineArgs('/bin/true', [], { stdin: 'x' }, null).includes('--stdin=relay'));
});

test('buildConfineArgs refuses what cannot be passed safely', () => {
  assert.throws(() => buildConfineArgs('a\0b', [], {}, null), TypeError);
  assert.throws(() => buildConfineArgs('x', ['ok', 'no\0pe'], {}, null), TypeError);
  assert.throws(() => buildConfineArgs('x', [], { env: { 'BAD NAME': '1' } }, null), TypeError);
  assert.throws(() => buildConfineArgs('x', [], { pids: 0 }, null), TypeError);
  assert.throws(() => buildConfineArgs('x', [], { timeout: 1.5 }, null), TypeError);
  assert.throws(() => buildConfineArgs('x', [], { network: 'lan' as 'none' }, null), TypeError);
  assert.throws(() => buildConfineArgs('', [], {}, null), TypeError);
});

test('durations and sizes', () => {
  assert.equal(formatDuration(250, 't'), '250ms');
  assert.equal(formatSize(4096, 's'), '4096');
  assert.equal(durationInMs('1m30s'), 90_000);
  assert.equal(durationInMs('500ms'), 500);
  assert.equal(durationInMs('soon'), null);
  assert.equal(sizeInBytes('512M'), 512 * 1024 * 1024);
  assert.equal(sizeInBytes('1.5G'), 1.5 * 1024 ** 3);
  assert.equal(sizeInBytes('64kib'), 65536);
  assert.equal(sizeInBytes('lots'), null);
});

/** A report as confine writes it, with the fields an outcome sets. */
function report(outcome: string, patch: Partial<Report> = {}): Report {
  return {
    report_version: 1,
    confine_version: '0.1.0',
    outcome: outcome as Report['outcome'],
    exit_code: 0,
    target: { exit_code: null, signal: null, signal_name: null, core_dumped: false },
    times: { wall_us: 1, cpu_user_us: 0, cpu_system_us: 0 },
    resources: { memory_peak_bytes: null, pids_peak: null, counters: { oom_kills: 0, oom_group_kills: 0, pids_max_hits: 0, cpu_throttled_us: 0 } },
    limits_hit: [],
    enforced: [],
    command: ['/usr/bin/job'],
    policy: { path: null, sha256: null },
    setup_error: null,
    exec_error: null,
    seccomp_violation: null,
    phases: [],
    warnings: [],
    ...patch,
  };
}

const socketErrno = { syscall: 'socket', nr: 41, arch: 'x86_64', action: 'errno' as const, errno: 13, errno_name: 'EACCES', count: 3, first_pid: 2 };
const keyctlKill = { syscall: 'keyctl', nr: 250, arch: 'x86_64', action: 'kill' as const, errno: null, errno_name: null, count: 1, first_pid: 2 };

const details = (r: Report) => ({ report: r, exitCode: r.exit_code, stdout: '', stderr: '', command: ['job'], confineArgv: [], log: [] });

test('classify: each outcome maps to exactly one error class', () => {
  const table: Array<[Report, (new (...a: never[]) => SandboxError) | null, Record<string, unknown>]> = [
    [report('ok', { target: { exit_code: 0, signal: null, signal_name: null, core_dumped: false } }), null, {}],
    [report('setup_error', { exit_code: 125, setup_error: { step: 'bind[2]', path: '/data', errno: 2, errno_name: 'ENOENT', message: 'setup failed at bind[2]' } }), PolicyError, { step: 'bind[2]' }],
    [report('exec_error', { exit_code: 127, exec_error: { path: '/usr/bin/x', errno: 2, errno_name: 'ENOENT' } }), ExecError, { reason: 'not_found', path: '/usr/bin/x' }],
    [report('exec_error', { exit_code: 126, exec_error: { path: '/etc/x', errno: 13, errno_name: 'EACCES' } }), ExecError, { reason: 'not_executable', errnoName: 'EACCES' }],
    [report('oom', { exit_code: 137, limits_hit: ['memory'] }), ResourceLimitError, { which: 'memory' }],
    [report('wall_timeout', { exit_code: 124, limits_hit: ['wall_time'] }), TimeoutError, { which: 'wall' }],
    [report('cpu_timeout', { exit_code: 124, limits_hit: ['cpu_time'] }), TimeoutError, { which: 'cpu' }],
    [report('seccomp_violation', { exit_code: 159, seccomp_violation: { syscall: 'bpf', nr: 321, arch: 'x86_64' } }), SeccompViolationError, { syscall: 'bpf' }],
    [report('seccomp_violation', { exit_code: 159 }), SeccompViolationError, { syscall: null }],
    [report('file_size_limit', { exit_code: 153, limits_hit: ['file_size'] }), ResourceLimitError, { which: 'file_size' }],
    [report('output_limit', { exit_code: 153 }), ResourceLimitError, { which: 'output' }],
    [report('signaled', { exit_code: 139, target: { exit_code: null, signal: 11, signal_name: 'SIGSEGV', core_dumped: false } }), SignalError, { signal: 'SIGSEGV', signalNumber: 11 }],
    [report('exit_nonzero', { exit_code: 2, target: { exit_code: 2, signal: null, signal_name: null, core_dumped: false } }), ExitError, { jobExitCode: 2 }],
    [report('exit_nonzero', { exit_code: 1, limits_hit: ['pids'], target: { exit_code: 1, signal: null, signal_name: null, core_dumped: false } }), ResourceLimitError, { which: 'pids' }],
    [report('something_new', { exit_code: 99 }), SandboxError, { outcome: 'something_new' }],
    // exec_error.message: confine's sentence for the cause becomes the error's message.
    [report('exec_error', { exit_code: 127, exec_error: { path: '/job/run', errno: 2, errno_name: 'ENOENT', message: '/job/run: its interpreter /lib64/ld-linux-x86-64.so.2 is not in the sandbox' } }), ExecError,
      { reason: 'not_found', detail: '/job/run: its interpreter /lib64/ld-linux-x86-64.so.2 is not in the sandbox', message: '/job/run: its interpreter /lib64/ld-linux-x86-64.so.2 is not in the sandbox' }],
    // The report's cancelled: confine got SIGTERM/SIGINT and ended the job for it.
    [report('signaled', { exit_code: 143, cancelled: 'SIGTERM', target: { exit_code: null, signal: 15, signal_name: 'SIGTERM', core_dumped: false } }), AbortError, { cancelledBy: 'SIGTERM', reason: undefined }],
    [report('exit_nonzero', { exit_code: 1, cancelled: 'SIGINT', target: { exit_code: 1, signal: null, signal_name: null, core_dumped: false } }), AbortError, { cancelledBy: 'SIGINT' }],
    [report('ok', { cancelled: 'SIGTERM', target: { exit_code: 0, signal: null, signal_name: null, core_dumped: false } }), AbortError, { cancelledBy: 'SIGTERM' }],
    // ... unless a limit hit first: that limit's class.
    [report('wall_timeout', { exit_code: 124, cancelled: 'SIGTERM', limits_hit: ['wall_time'] }), TimeoutError, { which: 'wall' }],
    // Denials: the kill names the syscall even without seccomp_violation; errno denials are facts.
    [report('seccomp_violation', { exit_code: 159, denials: [socketErrno, keyctlKill] }), SeccompViolationError, { syscall: 'keyctl', denial: keyctlKill, denials: [socketErrno, keyctlKill] }],
    [report('ok', { cancelled: null, denials: [socketErrno], target: { exit_code: 0, signal: null, signal_name: null, core_dumped: false } }), null, {}],
  ];
  for (const [r, cls, props] of table) {
    const e = classify(details(r));
    if (cls === null) {
      assert.equal(e, null, r.outcome);
      continue;
    }
    assert.ok(e instanceof cls, `${r.outcome}: expected ${cls.name}, got ${e?.name}`);
    assert.equal(e.constructor, cls, `${r.outcome}: exactly ${cls.name}, not a subclass`);
    assert.equal(e.report, r);
    for (const [k, v] of Object.entries(props)) assert.deepEqual((e as unknown as Record<string, unknown>)[k], v, `${r.outcome}.${k}`);
  }
});

test('mergeOptions: job options over pool defaults, lists added, env merged', () => {
  const merged = mergeOptions(
    { policy: 'default', ro: ['/a'], env: { A: '1', B: '1' }, timeout: '10s' },
    { ro: ['/b'], env: { B: '2' }, timeout: '1s', rw: ['/jobs/1'] },
  );
  assert.deepEqual(merged, { policy: 'default', ro: ['/a', '/b'], rw: ['/jobs/1'], env: { A: '1', B: '2' }, timeout: '1s' });
});

test('FrameSplitter: output before the marker passes through, the marker may straddle chunks', () => {
  const marker = Buffer.from('\n\x1econfine-result:abc:');
  const whole = Buffer.from('hello\nworld\n\x1econfine-result:abc:{"ok":true,"value":7}\n');
  for (let cut = 1; cut < whole.length; cut++) {
    const out: Buffer[] = [];
    const s = new FrameSplitter(marker, (c) => out.push(Buffer.from(c)), 1024);
    s.push(whole.subarray(0, cut));
    s.push(whole.subarray(cut));
    s.end();
    assert.equal(Buffer.concat(out).toString(), 'hello\nworld', `cut at ${cut}`);
    assert.equal(s.frame(), '{"ok":true,"value":7}\n');
  }
  const none = new FrameSplitter(marker, () => {}, 1024);
  none.push(Buffer.from('no marker here'));
  none.end();
  assert.equal(none.frame(), null);
  const big = new FrameSplitter(marker, () => {}, 4);
  big.push(whole);
  assert.equal(big.overflow, true);
});
