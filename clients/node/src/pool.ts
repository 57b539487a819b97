// createPool(): run() with a concurrency cap, a FIFO queue, drain() and close().
//
// Written here rather than taken from p-queue or p-limit: their clear() drops queued tasks
// whose promises then never settle, while close() must reject every queued run and cancel every
// running one (each run's signal joins the caller's and the pool's); what is left of a queue
// after that is the few lines below.
import { AbortError } from './errors.js';
import type { RunOptions } from './options.js';
import { notStarted, run, type RunResult, type SettledRun } from './run.js';

export interface PoolOptions extends RunOptions {
  /** How many jobs run at once (at least 1). */
  concurrency: number;
}

export interface Pool {
  /** Queues a job; options are merged over the pool's defaults (see mergeOptions). */
  run(command: string, args?: readonly string[], options?: RunOptions & { reject?: true }): Promise<RunResult>;
  run(command: string, args: readonly string[], options: RunOptions & { reject: false }): Promise<SettledRun>;
  run(command: string, args?: readonly string[], options?: RunOptions): Promise<RunResult | SettledRun>;
  /** Resolves when nothing is queued or running. */
  drain(): Promise<void>;
  /**
   * Stops taking jobs, ends the queued ones and cancels the running ones (AbortError: rejected,
   * or with `reject: false` resolved with `error` set); resolves when all have settled.
   */
  close(reason?: unknown): Promise<void>;
  /** Jobs running now, and waiting. */
  readonly active: number;
  readonly pending: number;
  readonly concurrency: number;
  readonly closed: boolean;
}

/**
 * A job's options over the pool's defaults: scalars from the job win; `ro`, `rw` and
 * `policyPath` add to the defaults; `env` merges by name.
 */
export function mergeOptions(defaults: RunOptions, options: RunOptions): RunOptions {
  const merged: RunOptions = { ...defaults, ...options };
  const concat = (key: 'ro' | 'rw' | 'policyPath') => {
    const list = [...(defaults[key] ?? []), ...(options[key] ?? [])];
    if (list.length > 0) merged[key] = list;
  };
  concat('ro');
  concat('rw');
  concat('policyPath');
  if (defaults.env || options.env) merged.env = { ...defaults.env, ...options.env };
  return merged;
}

interface Task {
  start: () => void;
  /** Ends a job that never started: rejects, or under `reject: false` resolves with `error` set. */
  cancel: (e: AbortError) => void;
}

export function createPool(options: PoolOptions): Pool {
  const { concurrency, ...defaults } = options;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new TypeError(`concurrency: expected an integer of at least 1, got ${String(concurrency)}`);
  }
  const queue: Task[] = [];
  const idleWaiters: Array<() => void> = [];
  const closing = new AbortController();
  let active = 0;
  let closed = false;

  const settleIdle = () => {
    if (active === 0 && queue.length === 0) idleWaiters.splice(0).forEach((w) => w());
  };
  const next = () => {
    while (active < concurrency && queue.length > 0) queue.shift()?.start();
    settleIdle();
  };

  function submit(command: string, args: readonly string[] = [], jobOptions: RunOptions = {}): Promise<RunResult | SettledRun> {
    const merged = mergeOptions(defaults, jobOptions);
    // A signal among the pool's defaults cancels every job; the job's own cancels just it.
    const signals = [defaults.signal, jobOptions.signal].filter((s): s is AbortSignal => s !== undefined);
    const callerSignal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
    return new Promise<RunResult | SettledRun>((resolve, reject) => {
      // A job that never starts ends as run() ends one cancelled before its start: a rejection,
      // or with `reject: false` a SettledRun whose `error` says why.
      const cancel = (e: AbortError) => (merged.reject === false ? resolve(notStarted(command, args, merged, e)) : reject(e));
      if (closed) {
        cancel(new AbortError('the pool is closed', { command: [command, ...args] }, closing.signal.reason));
        return;
      }
      const onCallerAbort = () => {
        const i = queue.indexOf(task);
        if (i >= 0) {
          queue.splice(i, 1);
          cancel(new AbortError('cancelled while queued', { command: [command, ...args] }, callerSignal?.reason));
          settleIdle();
        }
      };
      const task: Task = {
        start: () => {
          callerSignal?.removeEventListener('abort', onCallerAbort);
          active += 1;
          const signal = callerSignal ? AbortSignal.any([closing.signal, callerSignal]) : closing.signal;
          run(command, args, { ...merged, signal })
            .then(resolve, reject)
            .finally(() => {
              active -= 1;
              next();
            });
        },
        cancel,
      };
      if (callerSignal?.aborted) {
        cancel(new AbortError('cancelled before the job started', { command: [command, ...args] }, callerSignal.reason));
        return;
      }
      callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
      queue.push(task);
      next();
    });
  }

  const pool = {
    run: submit as Pool['run'],
    drain(): Promise<void> {
      if (active === 0 && queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    async close(reason: unknown = new Error('the pool was closed')): Promise<void> {
      if (!closed) {
        closed = true;
        closing.abort(reason);
        for (const task of queue.splice(0)) task.cancel(new AbortError('the pool was closed before the job started', {}, reason));
      }
      await pool.drain();
    },
    get active() {
      return active;
    },
    get pending() {
      return queue.length;
    },
    get concurrency() {
      return concurrency;
    },
    get closed() {
      return closed;
    },
  };
  return pool;
}
