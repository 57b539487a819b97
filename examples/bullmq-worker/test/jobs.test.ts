// The example's pure rules: which job directories and file names a worker accepts, the preset
// and command line for each tool, and which failures the queue retries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AbortError, ExitError, PolicyError, SeccompViolationError, SpawnError, TimeoutError, type Report } from '@confine/client';
import { BadInputError, commandFor, jobDirectory, progressIn, retryable, type ConversionJob } from '../src/jobs.js';

const job = (patch: Partial<ConversionJob>): ConversionJob => ({ tool: 'imagemagick', dir: 'jobs/1', input: 'in.svg', output: 'out.png', ...patch });

test('job directories stay inside the shared directory; file names are plain names', () => {
  assert.equal(jobDirectory('/srv/shared', job({})), '/srv/shared/jobs/1');
  for (const bad of [
    job({ dir: '../etc' }),
    job({ dir: '/etc' }),
    job({ dir: 'jobs/../../etc' }),
    job({ dir: '.' }),
    job({ dir: '' }),
    job({ input: '../secret' }),
    job({ input: '-density' }),
    job({ output: 'a/b.png' }),
    job({ tool: 'python' }),
  ]) {
    assert.throws(() => jobDirectory('/srv/shared', bad), BadInputError, JSON.stringify(bad));
  }
});

test('each tool runs its shipped preset with an absolute program path', () => {
  assert.deepEqual(commandFor(job({})), { policy: 'imagemagick', command: '/usr/bin/convert', args: ['in.svg', '/out/out.png'] });
  assert.deepEqual(commandFor(job({ tool: 'pandoc', input: 'a.md', output: 'a.html' })), { policy: 'pandoc', command: '/usr/bin/pandoc', args: ['a.md', '-o', '/out/a.html'] });
  assert.deepEqual(commandFor(job({ tool: 'python', script: 't.py' })).args, ['t.py', 'in.svg', '/out/out.png']);
  assert.throws(() => commandFor(job({ tool: 'bash' as 'python' })), BadInputError);
});

test('setup errors are retried, policy violations and the job\'s own failures never', () => {
  const setup = (step: string) => new PolicyError('x', { report: { setup_error: { step } } as unknown as Report });
  assert.equal(retryable(setup('plan')), true);
  assert.equal(retryable(setup('bind[3]')), true);
  assert.equal(retryable(setup('policy')), false);
  assert.equal(retryable(setup('command_line')), false);
  assert.equal(retryable(new SpawnError('confine missing', {}, 'ENOENT')), true);
  assert.equal(retryable(new TimeoutError('t', {}, 'wall')), false);
  assert.equal(retryable(new SeccompViolationError('s', {})), false);
  assert.equal(retryable(new ExitError('e', {})), false);
  assert.equal(retryable(new AbortError('a', {}, 'stop')), false);
  // confine was cancelled by its machine, not by the producer: another try.
  const signaled = { cancelled: 'SIGINT' } as unknown as Report;
  assert.equal(retryable(new AbortError('a', { report: signaled }, undefined)), true);
  assert.equal(retryable(new AbortError('a', { report: signaled }, 'cancelled by the producer')), false);
  assert.equal(retryable(new BadInputError('b')), false);
  assert.equal(retryable(new Error('redis went away')), true);
});

test('progress lines', () => {
  assert.deepEqual(progressIn('progress 10\nother\nprogress 250\nprogress x\n'), [10, 100]);
});

test('the worker\'s leaf inside a delegated systemd service', async () => {
  const { supervisorCgroup, cgroup2Mount } = await import('../src/cgroup.js');
  const mountinfo =
    '25 30 0:22 / /sys ro,nosuid - sysfs sysfs rw\n' +
    '31 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n';
  assert.equal(cgroup2Mount(mountinfo), '/sys/fs/cgroup');
  const service = '0::/system.slice/system-confine\\x2dworker.slice/confine-worker@1.service\n';
  assert.equal(
    supervisorCgroup(service, mountinfo),
    '/sys/fs/cgroup/system.slice/system-confine\\x2dworker.slice/confine-worker@1.service/supervisor',
  );
  // Already in the leaf (systemd's DelegateSubgroup=supervisor).
  assert.equal(supervisorCgroup('0::/system.slice/w.service/supervisor\n', mountinfo), '/sys/fs/cgroup/system.slice/w.service/supervisor');
  assert.throws(() => supervisorCgroup('0::/\n', mountinfo), /root cgroup/);
  assert.throws(() => supervisorCgroup(service, '25 30 0:22 / /sys ro - sysfs sysfs rw\n'), /no cgroup v2/);
});
