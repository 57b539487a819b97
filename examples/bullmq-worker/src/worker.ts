// A BullMQ worker that runs each conversion job in a confine sandbox through @confine/client:
// the tool's shipped preset, the job's directory read-only as the working dir and the tool's
// result delivered from the output area into a new directory per attempt, progress from the job's output,
// cancellation through BullMQ's per-job AbortSignal, every attempt's report in the job's log and
// the last one in its result.
//
//   SHARED_DIR=/srv/shared REDIS_URL=redis://queue-host:6379 node dist/src/worker.js
//
// Environment: SHARED_DIR (required), REDIS_URL (default redis://127.0.0.1:6379), CONCURRENCY
// (default: this machine's CPUs), WORKER_NAME (default host:pid), CONFINE (the binary),
// CONFINE_POLICY_PATH (where the presets are), CONFINE_BEST_EFFORT=1 (hosts without cgroup
// controllers), LOCK_DURATION_MS and STALLED_INTERVAL_MS (BullMQ's stalled-job detection),
// DELEGATED_CGROUP=1 (a systemd service with Delegate=yes: the worker moves into a leaf of the
// service's cgroup and confine puts the jobs' cgroups beside it; src/cgroup.ts).
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { run } from '@confine/client';
import { enterSupervisorCgroup } from './cgroup.js';
import { BadInputError, QUEUE_NAME, commandFor, jobDirectory, progressIn, retryable, type ConversionJob, type ConversionResult } from './jobs.js';
import { cancelChannel, cancelledKey } from './producer.js';

export interface WorkerSettings {
  redisUrl: string;
  sharedDir: string;
  concurrency: number;
  name: string;
  queueName?: string;
  bestEffort?: boolean;
  confinePath?: string;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}

export interface ConversionWorker {
  worker: Worker<ConversionJob, ConversionResult>;
  /** Stops taking jobs and waits for the running ones (BullMQ's worker.close()). */
  close(): Promise<void>;
}

/** Splits a stream of chunks into whole lines. */
function lineSplitter(onLine: (line: string) => void): (chunk: Buffer) => void {
  let partial = '';
  return (chunk) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  };
}

export function processor(settings: WorkerSettings, redis: Redis) {
  const queueName = settings.queueName ?? QUEUE_NAME;
  return async (job: Job<ConversionJob, ConversionResult>, _token?: string, signal?: AbortSignal): Promise<ConversionResult> => {
    const id = job.id ?? '';
    if (await redis.exists(cancelledKey(queueName, id))) {
      throw new UnrecoverableError('AbortError: cancelled before it started');
    }
    let dir: string;
    let cmd: ReturnType<typeof commandFor>;
    try {
      dir = jobDirectory(settings.sharedDir, job.data);
      cmd = commandFor(job.data);
    } catch (e) {
      if (e instanceof BadInputError) throw new UnrecoverableError(`${e.name}: ${e.message}`);
      throw e;
    }
    await job.log(`attempt ${job.attemptsMade + 1} on ${settings.name}`);
    await job.updateProgress(1);

    // Progress updates are sent in order, never more than one at a time.
    let progress: Promise<unknown> = Promise.resolve();
    const onLine = (line: string) => {
      for (const p of progressIn(line)) progress = progress.then(() => job.updateProgress(p)).catch(() => {});
    };
    // The output area mode (README): the job dir read-only, the tool writes to /out, and confine
    // copies the regular files from there into a directory it creates for this attempt (none of
    // a hostile input's symlinks, FIFOs or odd names, and within the area's size cap). A retry,
    // or a job whose first worker died mid-run, never mixes its output with another attempt's.
    const delivered = path.join(dir, `out-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`);
    const settled = await run(cmd.command, cmd.args, {
      policy: cmd.policy,
      ro: [dir],
      cwd: dir,
      output: delivered,
      ...(job.data.timeout !== undefined ? { timeout: job.data.timeout } : {}),
      ...(settings.bestEffort ? { bestEffort: true } : {}),
      ...(settings.confinePath !== undefined ? { confinePath: settings.confinePath } : {}),
      ...(signal !== undefined ? { signal } : {}),
      onStdout: lineSplitter(onLine),
      maxBuffer: 1 << 20,
      reject: false,
    });
    await progress;
    if (settled.report !== null) await job.log(`report ${JSON.stringify(settled.report)}`);
    if (settled.error !== null) {
      const e = settled.error;
      const stderr = e.stderr.trim().split('\n').slice(-3).join(' | ');
      const message = `${e.name}: ${e.message}${stderr ? ` (stderr: ${stderr})` : ''}`;
      throw retryable(e) ? new Error(message) : new UnrecoverableError(message);
    }
    await job.updateProgress(100);
    return { output: path.join(delivered, job.data.output), worker: settings.name, report: settled.report as NonNullable<typeof settled.report> };
  };
}

export async function startWorker(settings: WorkerSettings): Promise<ConversionWorker> {
  const queueName = settings.queueName ?? QUEUE_NAME;
  const connection = new Redis(settings.redisUrl, { maxRetriesPerRequest: null });
  const commands = new Redis(settings.redisUrl, { maxRetriesPerRequest: null });
  const subscriber = new Redis(settings.redisUrl, { maxRetriesPerRequest: null });
  const worker = new Worker<ConversionJob, ConversionResult>(queueName, processor(settings, commands), {
    connection,
    concurrency: settings.concurrency,
    name: settings.name,
    ...(settings.lockDurationMs !== undefined ? { lockDuration: settings.lockDurationMs } : {}),
    ...(settings.stalledIntervalMs !== undefined ? { stalledInterval: settings.stalledIntervalMs } : {}),
  });
  // A cancellation is published to every worker; the one running the job aborts it (its
  // processor's signal), which cancels the confine run.
  await subscriber.subscribe(cancelChannel(queueName));
  subscriber.on('message', (_channel: string, jobId: string) => {
    worker.cancelJob(jobId, 'cancelled by the producer');
  });
  worker.on('error', (e) => console.error(`worker ${settings.name}: ${e.message}`));
  await worker.waitUntilReady();
  return {
    worker,
    async close() {
      await worker.close();
      subscriber.disconnect();
      commands.disconnect();
      connection.disconnect();
    },
  };
}

function settingsFromEnv(env: NodeJS.ProcessEnv): WorkerSettings {
  const sharedDir = env['SHARED_DIR'];
  if (!sharedDir) throw new Error('set SHARED_DIR to the shared directory the jobs name their files in');
  const number = (key: string): number | undefined => (env[key] ? Number(env[key]) : undefined);
  const lock = number('LOCK_DURATION_MS');
  const stalled = number('STALLED_INTERVAL_MS');
  return {
    redisUrl: env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    sharedDir,
    concurrency: number('CONCURRENCY') ?? os.availableParallelism(),
    name: env['WORKER_NAME'] ?? `${os.hostname()}:${process.pid}`,
    ...(env['QUEUE'] ? { queueName: env['QUEUE'] } : {}),
    bestEffort: env['CONFINE_BEST_EFFORT'] === '1',
    ...(lock !== undefined ? { lockDurationMs: lock } : {}),
    ...(stalled !== undefined ? { stalledIntervalMs: stalled } : {}),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const settings = settingsFromEnv(process.env);
  if (process.env['DELEGATED_CGROUP'] === '1') {
    const leaf = enterSupervisorCgroup();
    console.log(`worker ${settings.name}: in ${leaf}; confine puts the jobs beside it`);
  }
  const w = await startWorker(settings);
  console.log(`worker ${settings.name} ready (concurrency ${settings.concurrency})`);
  // systemd stops the service with SIGTERM: finish the running jobs, take no new ones.
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      console.log(`worker ${settings.name}: ${sig}, finishing running jobs`);
      void w.close().then(() => process.exit(0));
    });
  }
}
