// The example end to end: a redis-server of its own, two worker processes, 50 conversion jobs
// (real ImageMagick, pandoc and python conversions, hostile scripts that run too long or make a
// forbidden syscall, bad inputs, a job directory that appears late, a cancelled job), one worker
// killed in the middle of a job and the queue handing that job to another; then every job's
// final state, attempts, result and reports are checked, and nothing is left running.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { QueueEvents, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { parseReport, type Report } from '@confine/client';
import type { ConversionJob, ConversionResult } from '../src/jobs.js';
import { createProducer } from '../src/producer.js';
import { haveRedis, processesWith, startRedis, startWorkerProcess, type WorkerProcess } from './services.js';

const requireAll = process.env['CONFINE_REQUIRE_ALL'] === '1';

type Kind = 'slow-killed' | 'image' | 'pandoc' | 'python' | 'timeout' | 'seccomp' | 'corrupt' | 'outside' | 'late-dir' | 'cancelled';

const svg = (color: string) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="48" height="32"><rect width="48" height="32" fill="${color}"/></svg>\n`;
// A transform script: reports progress, upper-cases its input into its output.
const transform =
  'import os, sys, time\n' +
  'delay = float(open("delay").read()) if os.path.exists("delay") else 0.02\n' +
  'data = open(sys.argv[1]).read()\n' +
  'for p in (25, 50, 75):\n' +
  '    print("progress", p, flush=True)\n' +
  '    time.sleep(delay)\n' +
  'open(sys.argv[2], "w").write(data.upper())\n';
const spin = 'while True:\n    pass\n';
const forbidden = 'import ctypes\nctypes.CDLL(None).syscall(272, 0)\nopen("out.txt", "w").write("survived")\n';

test('BullMQ workers run 50 conversion jobs in confine sandboxes', { timeout: 240_000 }, async (t) => {
  if (!haveRedis()) {
    if (requireAll) assert.fail('CONFINE_REQUIRE_ALL=1: needs /usr/bin/redis-server (Debian package redis-server)');
    t.skip('needs /usr/bin/redis-server (Debian package redis-server)');
    return;
  }
  const marker = `confine-bullmq-${randomBytes(6).toString('hex')}`;
  const shared = mkdtempSync(path.join(os.tmpdir(), `${marker}-`));
  chmodSync(shared, 0o755);
  const redis = await startRedis();
  const queueName = `conversions-${marker}`;
  const workers: WorkerProcess[] = [];
  const producer = createProducer(redis.url, queueName, { attempts: 4, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: false, removeOnFail: false });
  // BullMQ leaves connections it was given open: each is closed here.
  const eventsConnection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const events = new QueueEvents(queueName, { connection: eventsConnection });
  t.after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await events.close();
    eventsConnection.disconnect();
    await producer.close();
    await redis.stop();
    rmSync(shared, { recursive: true, force: true });
  });
  await events.waitUntilReady();
  const progress = new Map<string, number[]>();
  events.on('progress', ({ jobId, data }) => {
    if (typeof data === 'number') progress.set(jobId, [...(progress.get(jobId) ?? []), data]);
  });

  const workerEnv = {
    REDIS_URL: redis.url,
    SHARED_DIR: shared,
    QUEUE: queueName,
    CONCURRENCY: '2',
    CONFINE_BEST_EFFORT: '1',
    // Stalled jobs (a worker that died) go back to the queue within a few seconds.
    LOCK_DURATION_MS: '3000',
    STALLED_INTERVAL_MS: '1500',
  };
  workers.push(await startWorkerProcess('worker-a', workerEnv), await startWorkerProcess('worker-b', workerEnv));

  // Each job gets its own directory in the shared directory, writable by the sandbox's uid.
  let n = 0;
  const jobDir = (files: Record<string, string>, create = true): string => {
    const name = `job-${String(++n).padStart(2, '0')}`;
    if (create) {
      const dir = path.join(shared, name);
      mkdirSync(dir);
      chmodSync(dir, 0o777);
      for (const [file, text] of Object.entries(files)) writeFileSync(path.join(dir, file), text);
    }
    return name;
  };
  const submitted: Array<{ kind: Kind; job: Job<ConversionJob, ConversionResult> }> = [];
  const submit = async (kind: Kind, data: ConversionJob) => {
    const job = await producer.submit(data);
    submitted.push({ kind, job });
    return job;
  };
  const waitFor = async (what: string, check: () => Promise<boolean>, ms = 30_000) => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  // 1. A worker dies in the middle of a job: its lock expires and another worker runs the job.
  const slow = await submit('slow-killed', { tool: 'python', dir: jobDir({ 'in.txt': 'slow\n', 't.py': transform, delay: '1.5' }), input: 'in.txt', output: 'out.txt', script: 't.py' });
  await waitFor('the slow job to report progress', async () => (progress.get(slow.id ?? '') ?? []).includes(25));
  const owner = (await producer.queue.getJob(slow.id ?? ''))?.processedBy;
  const victim = workers.find((w) => w.name === owner);
  assert.ok(victim, `the slow job runs on ${String(owner)}`);
  await victim.kill();
  workers.splice(workers.indexOf(victim), 1);
  // systemd would restart it (Restart=always); so does the test.
  workers.push(await startWorkerProcess('worker-c', workerEnv));

  // 2. The other 49 jobs.
  for (let i = 0; i < 12; i++) {
    await submit('image', { tool: 'imagemagick', dir: jobDir({ 'in.svg': svg(['red', 'green', 'blue'][i % 3] ?? 'red') }), input: 'in.svg', output: 'out.png' });
  }
  for (let i = 0; i < 7; i++) {
    await submit('pandoc', { tool: 'pandoc', dir: jobDir({ 'in.md': `# Report ${i}\n\nSome *emphasis* and a [link](https://example.org).\n` }), input: 'in.md', output: 'out.html' });
  }
  for (let i = 0; i < 7; i++) {
    await submit('python', { tool: 'python', dir: jobDir({ 'in.txt': `row ${i}\n`, 't.py': transform }), input: 'in.txt', output: 'out.txt', script: 't.py' });
  }
  for (let i = 0; i < 6; i++) {
    await submit('timeout', { tool: 'python', dir: jobDir({ 'in.txt': '', 't.py': spin }), input: 'in.txt', output: 'out.txt', script: 't.py', timeout: '1500ms' });
  }
  for (let i = 0; i < 6; i++) {
    await submit('seccomp', { tool: 'python', dir: jobDir({ 'in.txt': '', 't.py': forbidden }), input: 'in.txt', output: 'out.txt', script: 't.py' });
  }
  for (let i = 0; i < 5; i++) {
    await submit('corrupt', { tool: 'imagemagick', dir: jobDir({ 'in.svg': '<svg this is not xml' }), input: 'in.svg', output: 'out.png' });
  }
  for (let i = 0; i < 4; i++) {
    await submit('outside', { tool: 'imagemagick', dir: `../${path.basename(shared)}-elsewhere/x${i}`, input: 'in.svg', output: 'out.png' });
  }
  // A job directory that is not there yet (a shared file system catching up): confine's setup
  // error is retried, and the job succeeds once the directory exists.
  const lateName = jobDir({}, false);
  const late = await submit('late-dir', { tool: 'pandoc', dir: lateName, input: 'in.md', output: 'out.html' });
  const cancelled = await submit('cancelled', { tool: 'python', dir: jobDir({ 'in.txt': 'x\n', 't.py': transform, delay: '5' }), input: 'in.txt', output: 'out.txt', script: 't.py' });
  assert.equal(submitted.length, 50);

  await waitFor('the late job to fail its first attempt', async () => ((await producer.queue.getJob(late.id ?? ''))?.attemptsMade ?? 0) >= 1);
  const lateDir = path.join(shared, lateName);
  mkdirSync(lateDir);
  chmodSync(lateDir, 0o777);
  writeFileSync(path.join(lateDir, 'in.md'), '# Late\n');
  await waitFor('the job to be cancelled to start', async () => (progress.get(cancelled.id ?? '') ?? []).includes(25));
  await producer.cancel(cancelled.id ?? '');

  // 3. Every job reaches a final state.
  await waitFor('every job to finish', async () => {
    const states = await Promise.all(submitted.map(({ job }) => job.getState()));
    return states.every((s) => s === 'completed' || s === 'failed');
  }, 150_000);

  const finishers = new Set<string>();
  const tally = new Map<string, number>();
  for (const { kind, job: submittedJob } of submitted) {
    const job = await producer.queue.getJob(submittedJob.id ?? '');
    assert.ok(job, `job ${submittedJob.id} is still in the queue`);
    const id = job.id ?? '';
    const state = await job.getState();
    const { logs } = await producer.queue.getJobLogs(id);
    const reports: Report[] = logs.filter((l) => l.startsWith('report ')).map((l) => parseReport(l.slice('report '.length)));
    const attempts = logs.filter((l) => l.startsWith('attempt '));
    const where = `job ${id} (${kind}): ${state}, ${job.failedReason ?? ''}\n${logs.map((l) => l.slice(0, 300)).join('\n')}`;
    const line = `${kind} ${state} ${reports.map((r) => r.outcome).join('+') || 'no report'}`;
    tally.set(line, (tally.get(line) ?? 0) + 1);
    const completed = () => {
      assert.equal(state, 'completed', where);
      const result = job.returnvalue;
      assert.equal(result.report.outcome, 'ok', where);
      assert.deepEqual(result.report, reports.at(-1), 'the result carries the last report');
      // Delivered from the output area into a directory of the attempt's inside the job dir.
      assert.equal(path.dirname(path.dirname(result.output)), path.join(shared, job.data.dir));
      assert.equal(path.basename(result.output), job.data.output);
      assert.equal(result.report.output_area?.host, path.dirname(result.output), where);
      assert.deepEqual(result.report.output_area?.copied.map((c) => c.name), [job.data.output], where);
      finishers.add(result.worker);
      return readFileSync(result.output);
    };
    const failedOnce = (reason: RegExp, outcome: string | null) => {
      assert.equal(state, 'failed', where);
      assert.match(job.failedReason ?? '', reason, where);
      assert.equal(job.attemptsMade, 1, `${where}\nnot retried`);
      assert.equal(attempts.length, outcome === null ? 0 : 1, where);
      if (outcome === null) assert.equal(reports.length, 0, where);
      else assert.deepEqual(reports.map((r) => r.outcome), [outcome], where);
    };
    switch (kind) {
      case 'slow-killed': {
        const out = completed().toString();
        assert.equal(out, 'SLOW\n');
        assert.equal(attempts.length, 2, `${where}\nstarted on the killed worker, then again`);
        assert.match(attempts[0] ?? '', new RegExp(`on ${victim.name}$`));
        assert.notEqual(job.returnvalue.worker, victim.name);
        assert.ok(job.stalledCounter >= 1, `${where}\nstalledCounter ${job.stalledCounter}`);
        break;
      }
      case 'image': {
        const png = completed();
        assert.equal(png.subarray(1, 4).toString(), 'PNG', where);
        assert.equal(attempts.length, 1);
        break;
      }
      case 'pandoc':
        assert.match(completed().toString(), /<h1 id="report-\d">Report \d<\/h1>/);
        break;
      case 'python':
        assert.match(completed().toString(), /^ROW \d\n$/);
        assert.deepEqual(progress.get(id)?.filter((p) => p >= 25), [25, 50, 75, 100], `${where}\nprogress ${JSON.stringify(progress.get(id))}`);
        break;
      case 'timeout':
        failedOnce(/^TimeoutError: .*wall-time limit/, 'wall_timeout');
        break;
      case 'seccomp':
        failedOnce(/^SeccompViolationError: .*unshare/, 'seccomp_violation');
        assert.equal(reports[0]?.seccomp_violation?.syscall, 'unshare');
        break;
      case 'corrupt':
        failedOnce(/^ExitError: /, 'exit_nonzero');
        break;
      case 'outside':
        failedOnce(/^BadInputError: .*outside the shared directory/, null);
        break;
      case 'late-dir': {
        assert.match(completed().toString(), /<h1 id="late">Late<\/h1>/);
        assert.ok(job.attemptsMade >= 1, where);
        assert.equal(reports[0]?.outcome, 'setup_error', where);
        assert.equal(reports[0]?.setup_error?.step, 'plan', where);
        assert.equal(reports.at(-1)?.outcome, 'ok', where);
        assert.equal(reports.length, attempts.length, where);
        break;
      }
      case 'cancelled':
        failedOnce(/^AbortError: /, 'signaled');
        break;
    }
  }
  for (const [line, count] of tally) t.diagnostic(`${count} x ${line}`);
  t.diagnostic(`finished on ${[...finishers].sort().join(', ')}; ${victim.name} was killed mid-job`);
  // The jobs were spread over the workers that stayed alive.
  assert.ok(finishers.size >= 2, `jobs finished on ${[...finishers].join(', ')}`);

  // Nothing of any job is left: every confine process had the shared directory in its argv.
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  const deadline = Date.now() + 5000;
  while (processesWith(marker).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(processesWith(marker), []);
});
