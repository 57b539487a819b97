// What a conversion job is, which confine preset and command line runs it, and which failures
// the queue retries. Pure: test/jobs.test.ts checks it without Redis or confine.
import path from 'node:path';
import {
  AbortError,
  ExecError,
  ExitError,
  FunctionError,
  PolicyError,
  ResourceLimitError,
  SandboxError,
  SeccompViolationError,
  SignalError,
  SpawnError,
  TimeoutError,
  type Report,
} from '@confine/client';

export const QUEUE_NAME = 'conversions';

/**
 * A conversion job as the producer submits it. Files travel by path: `dir` is a directory
 * under the shared directory that every worker machine mounts at the same place; `input` (and a
 * python job's `script`) are file names in it, and `output` the name of the file the tool
 * writes, which confine delivers into a new directory of the attempt's inside `dir`.
 */
export interface ConversionJob {
  tool: 'imagemagick' | 'pandoc' | 'python';
  dir: string;
  input: string;
  output: string;
  /** python: the transform script in `dir`, run as `python3 SCRIPT INPUT OUTPUT`. */
  script?: string;
  /** Wall-time limit for this job ("30s"); the preset's own otherwise. */
  timeout?: string;
}

/** What a completed job stores as its result: where the output is, and confine's report. */
export interface ConversionResult {
  /** The delivered file: `<dir>/<the attempt's output dir>/<output>`. */
  output: string;
  worker: string;
  report: Report;
}

/** A job the worker refuses before running anything: no retry. */
export class BadInputError extends Error {
  override name = 'BadInputError';
}

const plainName = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * The job's directory on this machine, or BadInputError. The producer is trusted to name a job
 * directory, not to choose what the sandbox sees: the directory must lie inside the shared
 * directory, and file names are plain names in it (no paths, no `..`, no leading `-`).
 * Whether the directory exists is left to confine: on a shared filesystem it may appear late,
 * and confine's setup error for it is retried.
 */
export function jobDirectory(sharedDir: string, job: ConversionJob): string {
  if (typeof job.dir !== 'string' || job.dir.length === 0) throw new BadInputError('the job names no directory');
  const dir = path.resolve(sharedDir, job.dir);
  const root = path.resolve(sharedDir);
  if (dir === root || !dir.startsWith(root + path.sep)) {
    throw new BadInputError(`the job directory ${JSON.stringify(job.dir)} is outside the shared directory`);
  }
  for (const [key, name] of [['input', job.input], ['output', job.output], ['script', job.script]] as const) {
    if (name === undefined && key === 'script') continue;
    if (typeof name !== 'string' || !plainName.test(name)) {
      throw new BadInputError(`${key} ${JSON.stringify(name)} is not a plain file name`);
    }
  }
  if (job.tool === 'python' && job.script === undefined) throw new BadInputError('a python job names its script');
  return dir;
}

/** Where the tool writes inside the sandbox: the output area confine delivers (`--output`). */
export const OUT_AREA = '/out';

/**
 * The shipped preset and the command line for each tool (absolute paths: no PATH lookup). The
 * tool reads its input in its working dir (the job dir, read-only) and writes to the output area.
 */
export function commandFor(job: ConversionJob): { policy: string; command: string; args: string[] } {
  const out = `${OUT_AREA}/${job.output}`;
  switch (job.tool) {
    case 'imagemagick':
      return { policy: 'imagemagick', command: '/usr/bin/convert', args: [job.input, out] };
    case 'pandoc':
      return { policy: 'pandoc', command: '/usr/bin/pandoc', args: [job.input, '-o', out] };
    case 'python':
      return { policy: 'python', command: '/usr/bin/python3', args: [job.script ?? '', job.input, out] };
    default:
      throw new BadInputError(`unknown tool ${JSON.stringify((job as { tool: unknown }).tool)}`);
  }
}

/**
 * Whether BullMQ may try the job again after this error. Setup errors are retried (a job
 * directory not yet visible on this machine, a host briefly out of resources, confine itself
 * failing), except a policy that does not load or a command line confine refuses: those fail
 * the same way every time. Everything the job itself did is final: a policy violation
 * (seccomp, a limit), an exit code, a crash, bad input, a cancellation.
 */
export function retryable(error: unknown): boolean {
  if (error instanceof PolicyError) return error.step !== 'policy' && error.step !== 'command_line';
  if (error instanceof SpawnError) return true;
  // Cancelled by a SIGTERM/SIGINT that confine received from its machine (the report's
  // `cancelled`, with no abort of the job's own signal behind it: a Ctrl-C or a shutdown of the
  // worker's host) rather than by the producer: the job did nothing wrong, so another try.
  if (error instanceof AbortError) return error.cancelledBy !== null && error.reason === undefined;
  if (
    error instanceof TimeoutError ||
    error instanceof ResourceLimitError ||
    error instanceof SeccompViolationError ||
    error instanceof ExecError ||
    error instanceof ExitError ||
    error instanceof SignalError ||
    error instanceof AbortError ||
    error instanceof FunctionError ||
    error instanceof BadInputError
  ) {
    return false;
  }
  // A SandboxError of an outcome this client does not know yet: do not repeat it blindly.
  if (error instanceof SandboxError) return false;
  // Anything else is the worker's own trouble (Redis, the file system): let the queue retry.
  return true;
}

/** A progress line a transform script may print: `progress 40` (percent). */
export function progressIn(text: string): number[] {
  return [...text.matchAll(/^progress (\d{1,3})$/gm)].map((m) => Math.min(100, Number(m[1])));
}
