// createPool(): 40 mixed jobs through a pool of 2, watched from outside (the confine processes
// this test has at each moment, and the jobs' own clocks), every report accounted for; then
// cancelling while queued, and close() cancelling what runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AbortError, ExecError, ExitError, TimeoutError, createPool, type SettledRun } from '../src/index.js';
import { assertSchemaValid, childrenNamed, confinePath, python, tag, waitGone } from './helpers.js';

type Kind = 'ok' | 'exit' | 'timeout' | 'missing';
const kinds: Kind[] = ['ok', 'exit', 'ok', 'timeout', 'missing'];

// Prints the job's id and CLOCK_MONOTONIC (shared with the host: no time namespace) when it
// starts and when it ends, so the jobs' real overlap can be computed afterwards.
const clocked = (body: string) =>
  `import sys, time\nprint("start", sys.argv[1], time.monotonic(), flush=True)\n${body}\nprint("end", sys.argv[1], time.monotonic(), flush=True)\n`;

function job(kind: Kind, id: string): [string, string[], { timeout?: number }] {
  switch (kind) {
    case 'ok':
      return [python, ['-c', clocked('time.sleep(0.15)'), id], {}];
    case 'exit':
      return [python, ['-c', clocked('time.sleep(0.05)') + 'sys.exit(2)\n', id], {}];
    case 'timeout':
      return [python, ['-c', clocked('time.sleep(30)'), id], { timeout: 300 }];
    case 'missing':
      return ['/usr/bin/no-such-program', [id], {}];
  }
}

test('a pool of 2 runs 40 mixed jobs exactly 2 at a time, and every report comes back', async () => {
  const marker = tag('pool');
  const pool = createPool({ concurrency: 2, policy: 'default', confinePath });
  let maxConfines = 0;
  let maxActive = 0;
  const samples: number[] = [];
  const watch = setInterval(() => {
    const n = childrenNamed('confine').length;
    samples.push(n);
    maxConfines = Math.max(maxConfines, n);
    maxActive = Math.max(maxActive, pool.active);
  }, 5);

  const submitted = Array.from({ length: 40 }, (_, i) => {
    const kind = kinds[i % kinds.length] as Kind;
    const id = `${marker}-${i}`;
    const [command, args, options] = job(kind, id);
    return { kind, id, result: pool.run(command, args, { ...options, reject: false }) };
  });
  assert.equal(pool.active, 2);
  assert.equal(pool.pending, 38);
  await pool.drain();
  clearInterval(watch);
  assert.equal(pool.active, 0);
  assert.equal(pool.pending, 0);

  const settled: Array<{ kind: Kind; id: string; r: SettledRun }> = [];
  for (const s of submitted) settled.push({ kind: s.kind, id: s.id, r: await s.result });

  // Every job came back with its own report and the ending its kind should have.
  for (const { kind, id, r } of settled) {
    assertSchemaValid(r.report);
    assert.equal(r.report.command.at(-1), id);
    switch (kind) {
      case 'ok':
        assert.equal(r.error, null, `${id}: ${String(r.error)}`);
        assert.equal(r.report.outcome, 'ok');
        break;
      case 'exit':
        assert.ok(r.error instanceof ExitError, `${id}: ${String(r.error)}`);
        break;
      case 'timeout':
        assert.ok(r.error instanceof TimeoutError, `${id}: ${String(r.error)}`);
        break;
      case 'missing':
        assert.ok(r.error instanceof ExecError, `${id}: ${String(r.error)}`);
        break;
    }
  }
  assert.equal(new Set(settled.map((s) => s.r.report?.command.at(-1))).size, 40);

  // Seen from outside: never more than two confine processes, and two most of the time.
  assert.equal(maxConfines, 2, `at most ${maxConfines} confine processes at once`);
  assert.equal(maxActive, 2);
  assert.ok(samples.filter((n) => n === 2).length > samples.length / 2, `two at a time in ${samples.filter((n) => n === 2).length} of ${samples.length} samples`);

  // Seen from inside: the jobs' own start and end times overlap at most two deep.
  const events: Array<[number, number]> = [];
  for (const { r } of settled) {
    const lines = r.stdout.split('\n');
    const start = lines.find((l) => l.startsWith('start '));
    const end = lines.find((l) => l.startsWith('end '));
    if (start && end) {
      events.push([Number(start.split(' ')[2]), +1], [Number(end.split(' ')[2]), -1]);
    }
  }
  assert.equal(events.length, 2 * 24, 'the 16 ok and 8 exit jobs each report a start and an end');
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let depth = 0;
  let deepest = 0;
  for (const [, step] of events) deepest = Math.max(deepest, (depth += step));
  assert.equal(deepest, 2);
  assert.deepEqual(await waitGone(marker), []);
  await pool.close();
});

test('a queued job cancelled through its signal never starts; close() cancels the running ones and rejects the queue', async () => {
  const marker = tag('pool-close');
  const pool = createPool({ concurrency: 2, policy: 'default', confinePath, killGrace: 500 });
  const sleep = ['-c', 'import time; time.sleep(30)'];
  const sleepers = Array.from({ length: 5 }, (_, i) => pool.run(python, [...sleep, `${marker}-${i}`]));
  const queued = new AbortController();
  const cancelledWhileQueued = pool.run(python, [...sleep, `${marker}-queued`], { signal: queued.signal });
  assert.equal(pool.pending, 4);
  queued.abort('changed my mind');
  await assert.rejects(cancelledWhileQueued, (e: unknown) => e instanceof AbortError && e.report === null && e.reason === 'changed my mind');
  assert.equal(pool.pending, 3);

  // Let the first two start.
  for (let i = 0; i < 100 && childrenNamed('confine').length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 200));
  const all = Promise.allSettled(sleepers);
  await pool.close(new Error('shutting down'));
  assert.equal(pool.active, 0);
  const results = await all;
  assert.equal(results.length, 5);
  let started = 0;
  for (const r of results) {
    assert.equal(r.status, 'rejected');
    const e = (r as PromiseRejectedResult).reason as unknown;
    assert.ok(e instanceof AbortError, String(e));
    assert.equal((e.reason as Error).message, 'shutting down');
    if (e.report !== null) started += 1;
  }
  assert.equal(started, 2, 'the two running jobs were cancelled, with their reports');
  await assert.rejects(pool.run('/bin/true'), AbortError);
  assert.deepEqual(await waitGone(marker), []);
});

test('with reject: false, a job that never starts resolves with its AbortError, as run() does', async () => {
  const marker = tag('pool-settled');
  const pool = createPool({ concurrency: 1, policy: 'default', confinePath, killGrace: 500 });
  const running = pool.run(python, ['-c', 'import time; time.sleep(30)', `${marker}-running`], { reject: false });
  const queued = new AbortController();
  const cancelledWhileQueued = pool.run(python, ['-c', 'pass', `${marker}-queued`], { reject: false, signal: queued.signal });
  const closedWhileQueued = pool.run(python, ['-c', 'pass', `${marker}-closed`], { reject: false });
  assert.equal(pool.pending, 2);
  queued.abort('changed my mind');
  const first: SettledRun = await cancelledWhileQueued;
  assert.ok(first.error instanceof AbortError, String(first.error));
  assert.equal(first.error.reason, 'changed my mind');
  assert.equal(first.report, null);
  assert.equal(first.exitCode, null);
  assert.deepEqual(first.command, [python, '-c', 'pass', `${marker}-queued`]);

  for (let i = 0; i < 100 && childrenNamed('confine').length < 1; i++) await new Promise((r) => setTimeout(r, 20));
  await pool.close(new Error('shutting down'));
  for (const settled of [await closedWhileQueued, await running]) {
    assert.ok(settled.error instanceof AbortError, String(settled.error));
    assert.equal((settled.error.reason as Error).message, 'shutting down');
  }
  assert.equal((await closedWhileQueued).report, null, 'the queued job never started');
  const late: SettledRun = await pool.run('/bin/true', [], { reject: false });
  assert.ok(late.error instanceof AbortError, 'a job after close() is refused, resolved with the error');
  assert.deepEqual(await waitGone(marker), []);
});
