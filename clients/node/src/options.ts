// Options of run() and how they become confine's command line (`confine run --help`,
// README "Commands"). Pure: the tests check the argv without running anything.
import { Readable } from 'node:stream';

/** A duration: milliseconds as a number, or confine's own syntax as a string ("30s", "1m30s"). */
export type Duration = number | string;
/** A size: bytes as a number, or confine's own syntax as a string ("512M", "2G"). */
export type Size = number | string;

export interface RunOptions {
  /**
   * The policy: a path (anything containing a `/`) or a name (`node`, `python`,
   * `default.toml`) that confine looks up on its policy search path (docs/policy.md, "Finding
   * policies by name"). Default: confine's own (`default`).
   */
  policy?: string;
  /** Directories confine searches for policy names first (put before $CONFINE_POLICY_PATH). */
  policyPath?: string[];
  /** Host paths visible read-only / read-write inside the sandbox, at the same path. */
  ro?: string[];
  rw?: string[];
  /** Working directory inside the sandbox. */
  cwd?: string;
  /**
   * A host directory for the job's results (`--output`): the job writes to its output area
   * (`/out` unless the policy says otherwise), a capped tmpfs whose regular files confine copies
   * into this directory when the job ends; it must not exist (or be empty). What was copied and
   * what was refused (symlinks, FIFOs, odd names) is in `report.output_area`.
   */
  output?: string;
  /** Variables set in the job's environment (the policy decides what else passes). */
  env?: Record<string, string>;
  /** Wall-time limit of the job. */
  timeout?: Duration;
  /** CPU-time limit of the whole job. */
  cpuTime?: Duration;
  memory?: Size;
  pids?: number;
  cpus?: number;
  network?: 'none' | 'host';
  /** Total bytes of stdout and stderr the job may write; past it the job is killed. */
  maxOutput?: Size;
  /**
   * How long the job gets between SIGTERM and SIGKILL when cancelled (`--kill-after`): confine
   * itself escalates. Default: the policy's `limits.kill_grace` (2 s unless it says otherwise).
   */
  killGrace?: Duration;
  /** Run where the host cannot enforce every resource limit (the report says what was not). */
  bestEffort?: boolean;
  /** The job's standard input. Default: none (/dev/null). */
  stdin?: string | Uint8Array | Readable;
  /** Cancels the run: confine gets SIGTERM, the job its grace period, then SIGKILL. */
  signal?: AbortSignal;
  /** Called with each chunk of the job's output as it arrives. */
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** At most this many bytes of each of stdout and stderr are kept in the result. Default 16 MiB. */
  maxBuffer?: number;
  /** The confine binary. Default: $CONFINE, else `confine` on the PATH. */
  confinePath?: string;
  /** Reject when the outcome is not ok (default true). With false, run() resolves with `error` set. */
  reject?: boolean;
}

/** confine's own syntax for a duration: numbers are milliseconds. */
export function formatDuration(value: Duration, key: string): string {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value <= 0) throw new TypeError(`${key}: expected a positive whole number of milliseconds, got ${value}`);
    return `${value}ms`;
  }
  return checkText(value, key);
}

/** confine's own syntax for a size: numbers are bytes. */
export function formatSize(value: Size, key: string): string {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value <= 0) throw new TypeError(`${key}: expected a positive whole number of bytes, got ${value}`);
    return String(value);
  }
  return checkText(value, key);
}

/** Bytes of a size in confine's syntax (for the client's own bookkeeping), or null if unparseable. */
export function sizeInBytes(value: Size): number | null {
  if (typeof value === 'number') return value;
  const m = /^(\d+(?:\.\d+)?)([kmgt]?)(?:i?b)?$/i.exec(value.trim());
  if (!m || m[1] === undefined) return null;
  const unit = (m[2] ?? '').toLowerCase();
  const power = unit === '' ? 0 : 'kmgt'.indexOf(unit) + 1;
  return Math.floor(Number(m[1]) * 1024 ** power);
}

/** Milliseconds of a duration in confine's syntax, or null if unparseable. */
export function durationInMs(value: Duration): number | null {
  if (typeof value === 'number') return value;
  const parts = value.trim().match(/\d+(ms|s|m|h)/g);
  if (!parts || parts.join('') !== value.trim()) return null;
  const scale: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const part of parts) {
    const unit = /(ms|s|m|h)$/.exec(part)?.[1] ?? 'ms';
    total += Number(part.slice(0, -unit.length)) * (scale[unit] ?? 1);
  }
  return total;
}

function checkText(value: string, key: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${key}: expected a non-empty string`);
  if (value.includes('\0')) throw new TypeError(`${key}: contains a NUL byte`);
  return value;
}

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** File descriptors the client gives confine besides stdio. */
export const REPORT_FD = 3;
export const LOG_FD = 4;

/**
 * The argument vector for `confine run`, never through a shell: every value travels as one
 * argv element in `--flag=value` form, so a value starting with `-` stays a value.
 */
export function buildConfineArgs(
  command: string,
  args: readonly string[],
  options: RunOptions,
  policy: string | null,
): string[] {
  checkText(command, 'command');
  args.forEach((a, i) => {
    if (typeof a !== 'string') throw new TypeError(`args[${i}]: expected a string`);
    if (a.includes('\0')) throw new TypeError(`args[${i}]: contains a NUL byte`);
  });
  const argv: string[] = ['run'];
  if (policy !== null) argv.push(`--policy=${checkText(policy, 'policy')}`);
  for (const p of options.ro ?? []) argv.push(`--ro=${checkText(p, 'ro')}`);
  for (const p of options.rw ?? []) argv.push(`--rw=${checkText(p, 'rw')}`);
  if (options.cwd !== undefined) argv.push(`--cwd=${checkText(options.cwd, 'cwd')}`);
  if (options.output !== undefined) argv.push(`--output=${checkText(options.output, 'output')}`);
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (!envName.test(name)) throw new TypeError(`env: ${JSON.stringify(name)} is not a variable name`);
    if (typeof value !== 'string' || value.includes('\0')) throw new TypeError(`env.${name}: expected a string without NUL`);
    argv.push(`--env=${name}=${value}`);
  }
  if (options.timeout !== undefined) argv.push(`--timeout=${formatDuration(options.timeout, 'timeout')}`);
  if (options.cpuTime !== undefined) argv.push(`--cpu-time=${formatDuration(options.cpuTime, 'cpuTime')}`);
  if (options.memory !== undefined) argv.push(`--memory=${formatSize(options.memory, 'memory')}`);
  if (options.pids !== undefined) {
    if (!Number.isInteger(options.pids) || options.pids <= 0) throw new TypeError(`pids: expected a positive integer`);
    argv.push(`--pids=${options.pids}`);
  }
  if (options.cpus !== undefined) {
    if (!(options.cpus > 0)) throw new TypeError(`cpus: expected a positive number`);
    argv.push(`--cpus=${options.cpus}`);
  }
  if (options.network !== undefined) {
    if (options.network !== 'none' && options.network !== 'host') throw new TypeError(`network: expected 'none' or 'host'`);
    argv.push(`--net=${options.network}`);
  }
  // confine counts the output and kills the whole job past it (outcome output_limit, exit 153).
  if (options.maxOutput !== undefined) argv.push(`--max-output=${formatSize(options.maxOutput, 'maxOutput')}`);
  // The grace between the SIGTERM a cancellation forwards and SIGKILL to every process of the
  // job: confine's own escalation, so no client timer has to race it.
  if (options.killGrace !== undefined) {
    const grace = typeof options.killGrace === 'number' && options.killGrace === 0 ? '0s' : formatDuration(options.killGrace, 'killGrace');
    argv.push(`--kill-after=${grace}`);
  }
  if (options.bestEffort) argv.push('--best-effort');
  argv.push(`--report-fd=${REPORT_FD}`);
  // confine's own lines never mix with the job's stderr: they go to their own fd, which the
  // client reads into `log`.
  argv.push(`--log-fd=${LOG_FD}`);
  // confine gives the job /dev/null unless asked to relay its own stdin (the client's pipe).
  // Anything but data or a Node Readable would leave that pipe open and the job waiting on it.
  const stdin = options.stdin;
  if (stdin !== undefined && typeof stdin !== 'string' && !(stdin instanceof Uint8Array) && !(stdin instanceof Readable)) {
    throw new TypeError('stdin: expected a string, a Buffer or Uint8Array, or a Readable stream');
  }
  argv.push(options.stdin === undefined ? '--stdin=null' : '--stdin=relay');
  argv.push('--', command, ...args);
  return argv;
}

/** The confine binary: the option, else $CONFINE, else `confine` on the PATH. */
export function defaultConfinePath(): string {
  return process.env['CONFINE'] || 'confine';
}
