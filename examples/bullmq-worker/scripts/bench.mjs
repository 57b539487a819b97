// Throughput of the example: jobs per second through one worker process and through two (each
// running one job at a time), for a trivial job (an empty python3 script under python.toml) and a
// real conversion (ImageMagick, SVG to PNG, under imagemagick.toml), on a redis-server of its
// own. For every job it reads BullMQ's processedOn/finishedOn and confine's report, and splits
// the worker's time per job into confine's own phases (everything in the report's `phases` but
// `run`), the target's `run`, and the rest (node, the client, BullMQ, Redis).
//
//   npm run build && node scripts/bench.mjs [TRIVIAL_JOBS] [CONVERSION_JOBS] [ROUNDS]
//
// The machine's own speed drifts (other work on it), so the one-worker and two-worker runs
// alternate, ROUNDS times each (default 3), and each figure is the median over the rounds with
// the lowest and highest in brackets.
//
// Needs what the tests need (build/src/confine, redis-server, the built client). Prints a
// Markdown table; nothing is asserted.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { createProducer } from '../dist/src/producer.js';
import { startRedis, startWorkerProcess } from '../dist/test/services.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
process.env.CONFINE ||= `${root}build/src/confine`;
process.env.CONFINE_POLICY_PATH ||= `${root}policies`;
const trivialJobs = Number(process.argv[2] ?? 200);
const conversionJobs = Number(process.argv[3] ?? 100);
const rounds = Number(process.argv[4] ?? 3);

const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="240"><rect width="320" height="240" fill="teal"/><circle cx="160" cy="120" r="80" fill="orange"/></svg>\n';
const kinds = {
  trivial: { files: { 'in.txt': '', 'noop.py': '' }, job: { tool: 'python', input: 'in.txt', output: 'out.txt', script: 'noop.py' } },
  conversion: { files: { 'in.svg': svg }, job: { tool: 'imagemagick', input: 'in.svg', output: 'out.png' } },
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)];
};

async function measure(redis, shared, kind, count, workerCount) {
  const queueName = `bench-${kind}-${workerCount}-${process.pid}`;
  const producer = createProducer(redis.url, queueName, { attempts: 1, removeOnComplete: false, removeOnFail: false });
  const eventsConnection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const events = new QueueEvents(queueName, { connection: eventsConnection });
  await events.waitUntilReady();
  // One waitUntilFinished listener per job.
  events.setMaxListeners(count + 10);
  producer.queue.setMaxListeners(count + 10);
  const env = { REDIS_URL: redis.url, SHARED_DIR: shared, QUEUE: queueName, CONCURRENCY: '1', CONFINE_BEST_EFFORT: '1' };
  const workers = [];
  for (let i = 0; i < workerCount; i++) workers.push(await startWorkerProcess(`bench-${i}`, env));

  // All jobs are queued before the clock starts: the figure is what the workers sustain.
  const spec = kinds[kind];
  const jobs = [];
  for (let i = 0; i < count; i++) {
    const dir = `${queueName}/${i}`;
    mkdirSync(path.join(shared, dir), { recursive: true });
    chmodSync(path.join(shared, dir), 0o777);
    for (const [f, text] of Object.entries(spec.files)) writeFileSync(path.join(shared, dir, f), text);
    jobs.push({ ...spec.job, dir });
  }
  await producer.queue.pause();
  const added = await producer.queue.addBulk(jobs.map((data) => ({ name: kind, data })));
  const done = Promise.all(added.map((job) => job.waitUntilFinished(events, 600_000)));
  await producer.queue.resume();
  await done;

  const finished = await Promise.all(added.map((job) => producer.queue.getJob(job.id)));
  const first = Math.min(...finished.map((j) => j.processedOn));
  const last = Math.max(...finished.map((j) => j.finishedOn));
  const perJob = [];
  const confineUs = [];
  const runUs = [];
  for (const job of finished) {
    const phases = job.returnvalue.report.phases;
    const run = phases.find((p) => p.name === 'run')?.duration_us ?? 0;
    const total = phases.reduce((a, p) => a + p.duration_us, 0);
    perJob.push((job.finishedOn - job.processedOn) * 1000);
    runUs.push(run);
    confineUs.push(total - run);
  }
  for (const w of workers) await w.stop();
  await events.close();
  eventsConnection.disconnect();
  await producer.queue.obliterate({ force: true });
  await producer.close();
  const seconds = (last - first) / 1000;
  const m = median(perJob);
  return {
    kind,
    workerCount,
    count,
    perSecond: count / seconds,
    medianJobMs: m / 1000,
    confineShare: median(confineUs) / m,
    runShare: median(runUs) / m,
    medianConfineMs: median(confineUs) / 1000,
    medianRunMs: median(runUs) / 1000,
  };
}

const loadBefore = os.loadavg()[0];
const redis = await startRedis();
const shared = mkdtempSync(path.join(os.tmpdir(), 'confine-bench-'));
chmodSync(shared, 0o755);
const rows = [];
try {
  for (const [kind, count] of [['trivial', trivialJobs], ['conversion', conversionJobs]]) {
    const byWorkers = new Map([[1, []], [2, []]]);
    for (let round = 0; round < rounds; round++) {
      for (const workerCount of [1, 2]) {
        const r = await measure(redis, shared, kind, count, workerCount);
        byWorkers.get(workerCount).push(r);
        console.error(`${kind} x${workerCount} round ${round + 1}: ${r.perSecond.toFixed(1)} jobs/s`);
      }
    }
    for (const [workerCount, results] of byWorkers) rows.push({ kind, workerCount, count, results });
  }
} finally {
  await redis.stop();
  rmSync(shared, { recursive: true, force: true });
}
const pct = (x) => `${(100 * x).toFixed(0)}%`;
const spread = (results, pick, format) => {
  const xs = results.map(pick);
  return `${format(median(xs))} [${format(Math.min(...xs))}-${format(Math.max(...xs))}]`;
};
const ms = (x) => `${x.toFixed(1)} ms`;
console.log(
  `${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), Linux ${os.release()}, Node ${process.versions.node}; ` +
    `load average ${loadBefore.toFixed(1)} before, ${os.loadavg()[0].toFixed(1)} after; ${rounds} rounds`,
);
console.log('');
console.log('| job | workers | jobs per round | jobs/s | median time per job in the worker | confine (setup + teardown) | the tool itself (`run`) | node, client, BullMQ, Redis |');
console.log('|---|---|---|---|---|---|---|---|');
for (const { kind, workerCount, count, results } of rows) {
  const rest = (r) => 1 - r.confineShare - r.runShare;
  console.log(
    `| ${kind === 'trivial' ? 'trivial (empty python3 script)' : 'conversion (ImageMagick SVG to PNG)'} | ${workerCount} | ${count} | ` +
      `${spread(results, (r) => r.perSecond, (x) => x.toFixed(1))} | ${spread(results, (r) => r.medianJobMs, ms)} | ` +
      `${ms(median(results.map((r) => r.medianConfineMs)))} (${pct(median(results.map((r) => r.confineShare)))}) | ` +
      `${ms(median(results.map((r) => r.medianRunMs)))} (${pct(median(results.map((r) => r.runShare)))}) | ${pct(median(results.map(rest)))} |`,
  );
}
