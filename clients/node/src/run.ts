// run(): one job through `confine run`, spawned without a shell. The job's stdout and stderr
// are confine's relay of the job's own; the report comes back on its own fd (3), confine's log
// lines on another (4, --log-fd), so neither ever mixes with the job's output. Cancellation is
// SIGTERM to confine, which forwards it to the job and, after the grace (--kill-after), kills
// every process of the job itself.
import { spawn, type StdioOptions } from 'node:child_process';
import { Readable } from 'node:stream';
import { AbortError, SpawnError, classify, type RunDetails, type SandboxError } from './errors.js';
import { buildConfineArgs, defaultConfinePath, LOG_FD, REPORT_FD, type RunOptions } from './options.js';
import { parseReport, type Report } from './report.js';

/** A run that ended `ok`. */
export interface RunResult {
  /** The job's output, at most `maxBuffer` bytes of each (then `...Truncated` is true). */
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** confine's exit code: the job's own for a job that exited (docs/report.md). */
  exitCode: number;
  report: Report;
  /** confine's own log lines (--log-fd): warnings, and one line saying why a run did not end ok. */
  log: string[];
  /** The target's argv, and the full confine command line that ran. */
  command: string[];
  confineArgv: string[];
}

/** What run() resolves with under `reject: false`: any ending, with `error` set unless ok. */
export interface SettledRun extends Omit<RunResult, 'report' | 'exitCode'> {
  report: Report | null;
  exitCode: number | null;
  error: SandboxError | null;
}

/**
 * The SettledRun of a job that never started (cancelled while queued or before its start): no
 * report, no output, `error` set. What run() resolves with then under `reject: false`; the
 * pool's queue answers the same way.
 */
export function notStarted(command: string, args: readonly string[], options: RunOptions, error: SandboxError): SettledRun {
  return {
    stdout: '',
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    exitCode: null,
    report: null,
    log: [],
    command: [command, ...args],
    confineArgv: [options.confinePath ?? defaultConfinePath()],
    error,
  };
}

const DEFAULT_MAX_BUFFER = 16 * 1024 * 1024;
const MAX_REPORT_BYTES = 8 * 1024 * 1024;
const MAX_LOG_BYTES = 256 * 1024;

export function run(command: string, args?: readonly string[], options?: RunOptions & { reject?: true }): Promise<RunResult>;
export function run(command: string, args: readonly string[], options: RunOptions & { reject: false }): Promise<SettledRun>;
export function run(command: string, args?: readonly string[], options?: RunOptions): Promise<RunResult | SettledRun>;
export async function run(command: string, args: readonly string[] = [], options: RunOptions = {}): Promise<RunResult | SettledRun> {
  const settled = await execute(command, args, options);
  if (options.reject === false) return settled;
  if (settled.error !== null) throw settled.error;
  return settled as RunResult;
}

/** Keeps the first `limit` bytes of a stream, and counts the rest. */
class Bounded {
  private chunks: Buffer[] = [];
  private kept = 0;
  total = 0;
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    this.total += chunk.length;
    const room = this.limit - this.kept;
    if (room <= 0) return;
    const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
    this.chunks.push(part);
    this.kept += part.length;
  }
  get truncated(): boolean {
    return this.total > this.kept;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
  buffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

async function execute(command: string, args: readonly string[], options: RunOptions): Promise<SettledRun> {
  const confinePath = options.confinePath ?? defaultConfinePath();
  const base: RunDetails = {
    report: null,
    exitCode: null,
    stdout: '',
    stderr: '',
    command: [command, ...args],
    confineArgv: [confinePath],
    log: [],
  };
  const settle = (error: SandboxError | null, d: RunDetails = base, extra: Partial<SettledRun> = {}): SettledRun => ({
    stdout: d.stdout,
    stderr: d.stderr,
    stdoutTruncated: false,
    stderrTruncated: false,
    exitCode: d.exitCode,
    report: d.report,
    log: d.log,
    command: d.command,
    confineArgv: d.confineArgv,
    error,
    ...extra,
  });
  const signal = options.signal;
  if (signal?.aborted) {
    return notStarted(command, args, options, new AbortError('cancelled before the job started', base, signal.reason));
  }

  const confineArgs = buildConfineArgs(command, args, options, options.policy ?? null);
  const details: RunDetails = { ...base, confineArgv: [confinePath, ...confineArgs] };

  const env = { ...process.env };
  if (options.policyPath !== undefined && options.policyPath.length > 0) {
    env['CONFINE_POLICY_PATH'] = [...options.policyPath, env['CONFINE_POLICY_PATH'] ?? ''].filter((d) => d).join(':');
  }
  const stdinIsData = typeof options.stdin === 'string' || options.stdin instanceof Uint8Array;
  // fd 3 is the report (--report-fd), fd 4 confine's log (--log-fd).
  const stdio: StdioOptions = [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe', 'pipe', 'pipe'];
  const maxBuffer = options.maxBuffer ?? DEFAULT_MAX_BUFFER;
  const stdout = new Bounded(maxBuffer);
  const stderr = new Bounded(maxBuffer);
  const reportBytes = new Bounded(MAX_REPORT_BYTES);
  const logBytes = new Bounded(MAX_LOG_BYTES);

  return new Promise<SettledRun>((resolve) => {
    const child = spawn(confinePath, confineArgs, { stdio, env, shell: false, windowsHide: true });
    let spawnError: NodeJS.ErrnoException | null = null;
    let exited = false;
    let cancelReason: unknown = undefined;
    let cancelled = false;

    // SIGTERM to confine, once: it forwards it to the job and, if the job is still there after
    // the grace (killGrace, else the policy's limits.kill_grace), SIGKILLs every process of the
    // job and reports `cancelled`. No client timer: confine's escalation is the one that knows
    // the job's processes, and killing confine early would cut its cleanup and its report short.
    const cancel = (reason: unknown) => {
      if (cancelled || exited) return;
      cancelled = true;
      cancelReason = reason;
      child.kill('SIGTERM');
    };
    const onAbort = () => cancel(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });

    const deliver = (buffer: Bounded, callback: ((chunk: Buffer) => void) | undefined) => (chunk: Buffer) => {
      buffer.push(chunk);
      if (callback) {
        try {
          callback(chunk);
        } catch (e) {
          cancel(e);
        }
      }
    };
    child.stdout?.on('data', deliver(stdout, options.onStdout));
    child.stderr?.on('data', deliver(stderr, options.onStderr));
    const reportStream = child.stdio[REPORT_FD] as Readable | null;
    const logStream = child.stdio[LOG_FD] as Readable | null;
    reportStream?.on('data', (c: Buffer) => reportBytes.push(c));
    logStream?.on('data', (c: Buffer) => logBytes.push(c));
    for (const s of [child.stdout, child.stderr, reportStream, logStream]) s?.on('error', () => {});

    if (child.stdin) {
      // The job may stop reading (or never start): a broken pipe is its business, not an error.
      child.stdin.on('error', () => {});
      if (stdinIsData) {
        child.stdin.end(options.stdin as string | Uint8Array);
      } else if (options.stdin instanceof Readable) {
        const source = options.stdin;
        source.on('error', (e) => cancel(e));
        source.pipe(child.stdin);
      }
    }

    child.on('error', (e: NodeJS.ErrnoException) => {
      spawnError = e;
    });
    child.on('close', (code: number | null, killedBy: NodeJS.Signals | null) => {
      exited = true;
      signal?.removeEventListener('abort', onAbort);

      const d: RunDetails = {
        ...details,
        exitCode: code,
        stdout: stdout.text(),
        stderr: stderr.text(),
        log: logBytes.text().split('\n').filter((l) => l.length > 0),
      };
      const extra = { stdoutTruncated: stdout.truncated, stderrTruncated: stderr.truncated };
      if (spawnError !== null) {
        const e: NodeJS.ErrnoException = spawnError;
        resolve(settle(new SpawnError(`cannot run ${confinePath}: ${e.message}`, d, e.code ?? null, { cause: e }), d, extra));
        return;
      }
      const text = reportBytes.buffer().toString('utf8');
      let report: Report | null = null;
      if (text.trim().length > 0) {
        try {
          report = parseReport(text);
        } catch (e) {
          resolve(settle(new SpawnError(`confine wrote an unreadable report: ${(e as Error).message}`, d, null, { cause: e }), d, extra));
          return;
        }
      }
      if (report === null) {
        if (cancelled) {
          resolve(settle(new AbortError('cancelled; confine ended without a report', d, cancelReason), d, extra));
          return;
        }
        // confine said why on its stderr (a bad command line) or its log fd.
        const said = [...d.log, ...d.stderr.split('\n')].map((l) => l.trim()).filter((l) => l.length > 0).slice(-5).join('; ');
        const how = code !== null ? `exited with ${code}` : `was killed by ${killedBy ?? 'a signal'}`;
        resolve(settle(new SpawnError(`confine ${how} without a report${said ? `: ${said}` : ''}`, d), d, extra));
        return;
      }
      const withReport = { ...d, report };
      // The report's `cancelled` says whether confine received the SIGTERM before the job ended
      // (classify maps it to AbortError); a job that had already ended by then keeps its outcome.
      const error: SandboxError | null = classify(withReport, cancelled ? cancelReason : undefined);
      resolve(settle(error, withReport, extra));
    });
  });
}
