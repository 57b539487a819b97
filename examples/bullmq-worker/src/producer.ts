// Submits conversion jobs to the queue, and cancels them.
//
//   node dist/src/producer.js --tool imagemagick --dir jobs/42 --input in.svg --output out.png [--wait]
//
// Environment: REDIS_URL (default redis://127.0.0.1:6379), QUEUE (default conversions).
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents, type Job, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUE_NAME, type ConversionJob, type ConversionResult } from './jobs.js';

/**
 * Retries with exponential backoff for what jobs.retryable() allows (setup errors); the worker
 * fails everything else at once with UnrecoverableError. Finished jobs are kept, so their
 * results and reports can be read back.
 */
export const defaultJobOptions: JobsOptions = {
  attempts: 4,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: false,
  removeOnFail: false,
};

export const cancelChannel = (queueName: string) => `confine:${queueName}:cancel`;
export const cancelledKey = (queueName: string, jobId: string) => `confine:${queueName}:cancelled:${jobId}`;

export interface Producer {
  queue: Queue<ConversionJob, ConversionResult>;
  submit(job: ConversionJob, options?: JobsOptions): Promise<Job<ConversionJob, ConversionResult>>;
  /**
   * Cancels a job wherever it is: marked cancelled (a worker that picks it up later fails it at
   * once) and announced to every worker (the one running it aborts the sandbox).
   */
  cancel(jobId: string): Promise<void>;
  close(): Promise<void>;
}

export function createProducer(redisUrl: string, queueName = QUEUE_NAME, jobOptions: JobsOptions = defaultJobOptions): Producer {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue<ConversionJob, ConversionResult>(queueName, { connection, defaultJobOptions: jobOptions });
  return {
    queue,
    submit: (job, options) => queue.add(job.tool, job, options),
    async cancel(jobId) {
      await connection.set(cancelledKey(queueName, jobId), '1', 'EX', 7 * 24 * 3600);
      await connection.publish(cancelChannel(queueName), jobId);
    },
    async close() {
      await queue.close();
      connection.disconnect();
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      tool: { type: 'string' },
      dir: { type: 'string' },
      input: { type: 'string' },
      output: { type: 'string' },
      script: { type: 'string' },
      timeout: { type: 'string' },
      wait: { type: 'boolean', default: false },
    },
  });
  if (!values.tool || !values.dir || !values.input || !values.output) {
    console.error('usage: producer.js --tool imagemagick|pandoc|python --dir DIR --input FILE --output FILE [--script FILE] [--timeout DUR] [--wait]');
    process.exit(2);
  }
  const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const queueName = process.env['QUEUE'] ?? QUEUE_NAME;
  const producer = createProducer(redisUrl, queueName);
  const job = await producer.submit({
    tool: values.tool as ConversionJob['tool'],
    dir: values.dir,
    input: values.input,
    output: values.output,
    ...(values.script !== undefined ? { script: values.script } : {}),
    ...(values.timeout !== undefined ? { timeout: values.timeout } : {}),
  });
  console.log(`submitted job ${job.id}`);
  let status = 0;
  if (values.wait) {
    const eventsConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const events = new QueueEvents(queueName, { connection: eventsConnection });
    try {
      const result = await job.waitUntilFinished(events);
      console.log(`completed: ${result.output} (${result.report.outcome} on ${result.worker})`);
    } catch (e) {
      console.log(`failed: ${(e as Error).message}`);
      status = 1;
    }
    await events.close();
    eventsConnection.disconnect();
  }
  await producer.close();
  process.exit(status);
}
