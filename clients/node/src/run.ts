// run(): one job through `confine run`, spawned without a shell. The job's stdout and stderr
// are confine's; the report comes back on its own fd (3), confine's log lines on another (4)
// where confine has --log-fd; cancellation is SIGTERM to confine, which the job gets with its
// grace period before SIGKILL.
import { spawn, type StdioOptions } from 'node:child_process';
import { Readable } from 'node:stream';
import {
  AbortError,
  ResourceLimitError,
  SpawnError,
  classify,
  type RunDetails,
  type SandboxError,
} from './errors.js';
import { defaultConfinePath, features, type Features } from './features.js';
import { buildConfineArgs, durationInMs, LOG_FD, REPORT_FD, sizeInBytes, type RunOptions } from './options.js';
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
  /** confine's own log lines (where confine has --log-fd). */
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

const DEFAULT_MAX_BUFFER = 16 * 1024 * 1024;
const MAX_REPORT_BYTES = 8 * 1024 * 1024;
const MAX_LOG_BYTES = 256 * 1024;
const DEFAULT_GRACE_MS = 2000;
// confine escalates to SIGKILL itself after the grace period; the client kills confine only if
// it is still there this much later (an older binary without the escalation, or a hang).
const BACKSTOP_MS = 5000;

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
  const abortedBeforeStart = () =>
    settle(new AbortError('cancelled before the job started', base, signal?.reason));
  if (signal?.aborted) return abortedBeforeStart();

  let feats: Features;
  try {
    feats = await features(confinePath);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const code = typeof err.code === 'string' ? err.code : null;
    return settle(new SpawnError(`cannot run ${confinePath}: ${err.message}`, base, code, { cause: e }));
  }
  const confineArgs = buildConfineArgs(command, args, options, feats, options.policy ?? null);
  const details: RunDetails = { ...base, confineArgv: [confinePath, ...confineArgs] };
  if (signal?.aborted) return abortedBeforeStart();

  const env = { ...process.env };
  if (options.policyPath !== undefined && options.policyPath.length > 0) {
    env['CONFINE_POLICY_PATH'] = [...options.policyPath, env['CONFINE_POLICY_PATH'] ?? ''].filter((d) => d).join(':');
  }
  const stdinIsData = typeof options.stdin === 'string' || options.stdin instanceof Uint8Array;
  const stdio: StdioOptions = [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe', 'pipe'];
  if (feats.logFd) stdio.push('pipe');
  const maxBuffer = options.maxBuffer ?? DEFAULT_MAX_BUFFER;
  const stdout = new Bounded(maxBuffer);
  const stderr = new Bounded(maxBuffer);
  const reportBytes = new Bounded(MAX_REPORT_BYTES);
  const logBytes = new Bounded(MAX_LOG_BYTES);
  // Older confine has no --max-output: the client counts and stops the job itself.
  const clientOutputLimit = !feats.maxOutput && options.maxOutput !== undefined ? sizeInBytes(options.maxOutput) : null;
  const graceMs = (options.killGrace !== undefined ? durationInMs(options.killGrace) : null) ?? DEFAULT_GRACE_MS;

  return new Promise<SettledRun>((resolve) => {
    const child = spawn(confinePath, confineArgs, { stdio, env, shell: false, windowsHide: true });
    let spawnError: NodeJS.ErrnoException | null = null;
    let exited = false;
    let cancelReason: unknown = undefined;
    let cancelled = false;
    let outputExceeded = false;
    let outputSeen = 0;
    let backstop: NodeJS.Timeout | undefined;

    // SIGTERM to confine; it forwards it to the job and escalates to SIGKILL after the grace.
    const stop = () => {
      if (exited || backstop !== undefined) return;
      child.kill('SIGTERM');
      backstop = setTimeout(() => {
        if (!exited) child.kill('SIGKILL');
      }, graceMs + BACKSTOP_MS);
    };
    const cancel = (reason: unknown) => {
      if (cancelled || exited) return;
      cancelled = true;
      cancelReason = reason;
      stop();
    };
    const onAbort = () => cancel(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });

    const deliver = (buffer: Bounded, callback: ((chunk: Buffer) => void) | undefined) => (chunk: Buffer) => {
      let part = chunk;
      if (clientOutputLimit !== null) {
        const room = clientOutputLimit - outputSeen;
        outputSeen += chunk.length;
        if (room < chunk.length) {
          part = chunk.subarray(0, Math.max(0, room));
          if (!outputExceeded) {
            outputExceeded = true;
            stop();
          }
        }
        if (part.length === 0) return;
      }
      buffer.push(part);
      if (callback) {
        try {
          callback(part);
        } catch (e) {
          cancel(e);
        }
      }
    };
    child.stdout?.on('data', deliver(stdout, options.onStdout));
    child.stderr?.on('data', deliver(stderr, options.onStderr));
    const reportStream = child.stdio[REPORT_FD] as Readable | null;
    const logStream = feats.logFd ? (child.stdio[LOG_FD] as Readable | null) : null;
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
      if (backstop !== undefined) clearTimeout(backstop);
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
      if (report.outcome === 'setup_error' && d.stderr.length > 0) {
        // The job never ran, so whatever is on stderr is confine's own message about why.
        d.log = [...d.log, ...d.stderr.split('\n').filter((l) => l.length > 0)];
        d.stderr = '';
      }
      const withReport = { ...d, report };
      let error: SandboxError | null;
      if (outputExceeded) {
        error = new ResourceLimitError(`${d.command.join(' ')}: output limit of ${String(options.maxOutput)} reached`, withReport, 'output');
      } else if (cancelled && report.outcome !== 'ok') {
        error = new AbortError(`${d.command.join(' ')}: cancelled`, withReport, cancelReason);
      } else {
        error = classify(withReport);
      }
      resolve(settle(error, withReport, extra));
    });
  });
}
