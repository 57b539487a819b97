// The errors run() rejects with: one base class carrying the report, one subclass per way a
// confined job can end other than `ok`. The README's error table lists them with the outcomes
// and exit codes they come from; classify() below is the mapping, and the only place it lives.
import type { Denial, Report, SeccompViolationInfo, SetupErrorInfo } from './report.js';

/** What every error carries about the run, as far as it got. */
export interface RunDetails {
  /** confine's report, or null when confine wrote none (it could not start, or was killed). */
  report: Report | null;
  /** confine's exit code, or null when it was killed by a signal or never started. */
  exitCode: number | null;
  /** The job's output, bounded (see RunOptions.maxBuffer). */
  stdout: string;
  stderr: string;
  /** The target's argv as given to run(). */
  command: string[];
  /** The full command line that ran: confine's path and its arguments. */
  confineArgv: string[];
  /** confine's own log lines (with --log-fd; empty where confine does not have it). */
  log: string[];
}

const emptyDetails: RunDetails = {
  report: null,
  exitCode: null,
  stdout: '',
  stderr: '',
  command: [],
  confineArgv: [],
  log: [],
};

/** The base class: the run did not end `ok`. `report` is confine's report when there is one. */
export class SandboxError extends Error implements RunDetails {
  override name = 'SandboxError';
  readonly report: Report | null;
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly command: string[];
  readonly confineArgv: string[];
  readonly log: string[];

  constructor(message: string, details: Partial<RunDetails> = {}, options?: ErrorOptions) {
    super(message, options);
    const d = { ...emptyDetails, ...details };
    this.report = d.report;
    this.exitCode = d.exitCode;
    this.stdout = d.stdout;
    this.stderr = d.stderr;
    this.command = d.command;
    this.confineArgv = d.confineArgv;
    this.log = d.log;
  }

  /** The report's outcome, or null when there is no report. */
  get outcome(): string | null {
    return this.report?.outcome ?? null;
  }

  /**
   * Every call the seccomp filter denied and named in this run, counted: the kill that ended the
   * job, and errno rules marked `log = true` (the report's `denials`; empty without a report or
   * where the host cannot name denials).
   */
  get denials(): Denial[] {
    return this.report?.denials ?? [];
  }
}

/** confine itself could not be run, or failed without writing a report (exit 125 and no report). */
export class SpawnError extends SandboxError {
  override name = 'SpawnError';
  /** The errno name when spawning confine failed (ENOENT: no such binary), else null. */
  readonly code: string | null;
  constructor(message: string, details: Partial<RunDetails>, code: string | null = null, options?: ErrorOptions) {
    super(message, details, options);
    this.code = code;
  }
}

/**
 * confine refused to start the job: outcome `setup_error` (exit 125 with a report). A bad or
 * missing policy, a path it names that does not exist, limits this host cannot enforce, or a
 * setup step that failed; `step` says which (`policy`, `plan`, `bind[3]`, ...).
 */
export class PolicyError extends SandboxError {
  override name = 'PolicyError';
  readonly step: string;
  readonly setupError: SetupErrorInfo | null;
  constructor(message: string, details: Partial<RunDetails>) {
    super(message, details);
    this.setupError = details.report?.setup_error ?? null;
    this.step = this.setupError?.step ?? 'unknown';
  }
}

/** The command could not be executed in the sandbox: 127 not found, 126 found but not executable. */
export class ExecError extends SandboxError {
  override name = 'ExecError';
  readonly reason: 'not_found' | 'not_executable';
  /** The absolute path confine tried, and execve's errno name. */
  readonly path: string | null;
  readonly errnoName: string | null;
  /** confine's sentence for the cause (exec_error.message: a missing interpreter, a noexec mount, ...). */
  readonly detail: string | null;
  constructor(message: string, details: Partial<RunDetails>) {
    super(message, details);
    const e = details.report?.exec_error ?? null;
    this.reason = details.report?.exit_code === 127 ? 'not_found' : 'not_executable';
    this.path = e?.path ?? null;
    this.errnoName = e?.errno_name ?? null;
    this.detail = e?.message ?? null;
  }
}

/** The wall-time limit (`which: 'wall'`) or the CPU-time limit (`which: 'cpu'`) ended the job. */
export class TimeoutError extends SandboxError {
  override name = 'TimeoutError';
  readonly which: 'wall' | 'cpu';
  constructor(message: string, details: Partial<RunDetails>, which: 'wall' | 'cpu') {
    super(message, details);
    this.which = which;
  }
}

export type ResourceKind = 'memory' | 'pids' | 'file_size' | 'output';

/**
 * A resource limit ended the job: `memory` (an OOM kill; for sandboxed(), also node's own heap
 * limit), `file_size` (SIGXFSZ), `output` (maxOutput), or `pids` (the job failed after
 * pids.max refused a fork).
 */
export class ResourceLimitError extends SandboxError {
  override name = 'ResourceLimitError';
  readonly which: ResourceKind;
  constructor(message: string, details: Partial<RunDetails>, which: ResourceKind) {
    super(message, details);
    this.which = which;
  }
}

/** The job made a system call the policy forbids; the whole job was killed. */
export class SeccompViolationError extends SandboxError {
  override name = 'SeccompViolationError';
  /** The syscall's name, when confine's supervisor saw it (null after a bare SIGSYS). */
  readonly syscall: string | null;
  readonly violation: SeccompViolationInfo | null;
  /** The report's denial with action `kill` for that call (its number, arch, pid), when named. */
  readonly denial: Denial | null;
  constructor(message: string, details: Partial<RunDetails>) {
    super(message, details);
    this.violation = details.report?.seccomp_violation ?? null;
    const kills = (details.report?.denials ?? []).filter((d) => d.action === 'kill');
    this.denial = kills.find((d) => d.syscall === this.violation?.syscall) ?? kills[0] ?? null;
    this.syscall = this.violation?.syscall ?? this.denial?.syscall ?? null;
  }
}

/** The job died of a signal that no limit explains (it crashed, or something killed it). */
export class SignalError extends SandboxError {
  override name = 'SignalError';
  readonly signal: string | null;
  readonly signalNumber: number | null;
  constructor(message: string, details: Partial<RunDetails>) {
    super(message, details);
    this.signalNumber = details.report?.target.signal ?? null;
    this.signal = details.report?.target.signal_name ?? null;
  }
}

/** The job exited by itself with a non-zero code (`jobExitCode`). */
export class ExitError extends SandboxError {
  override name = 'ExitError';
  readonly jobExitCode: number;
  constructor(message: string, details: Partial<RunDetails>) {
    super(message, details);
    this.jobExitCode = details.report?.target.exit_code ?? details.exitCode ?? -1;
  }
}

/**
 * The run was cancelled: through its AbortSignal (or a pool closed), or by anyone who sent confine
 * SIGTERM or SIGINT (a service manager stopping the worker). confine forwarded the signal, gave
 * the job its grace period (`killGrace`, `--kill-after`), then killed every process of it.
 * `reason` is the AbortSignal's reason (undefined when the cancel came from elsewhere);
 * `cancelledBy` the signal confine received (the report's `cancelled`). `report` is null when
 * the job never started.
 */
export class AbortError extends SandboxError {
  override name = 'AbortError';
  readonly reason: unknown;
  readonly cancelledBy: string | null;
  constructor(message: string, details: Partial<RunDetails>, reason: unknown) {
    super(message, details, reason instanceof Error ? { cause: reason } : undefined);
    this.reason = reason;
    this.cancelledBy = details.report?.cancelled ?? null;
  }
}

/** An error thrown by a sandboxed() function, carried across as JSON. */
export interface RemoteErrorInfo {
  name: string;
  message: string;
  stack: string | null;
  /** Node's error code (`ENOENT`, `ERR_...`) when the error had one. */
  code: string | null;
  /** Other own properties of the error that survived JSON. */
  properties: Record<string, unknown>;
}

/** A sandboxed() function threw (or rejected); `remote` is what it threw. */
export class FunctionError extends SandboxError {
  override name = 'FunctionError';
  readonly remote: RemoteErrorInfo;
  constructor(details: Partial<RunDetails>, remote: RemoteErrorInfo) {
    super(`the sandboxed function threw ${remote.name}: ${remote.message}`, details);
    this.remote = remote;
  }
}

/**
 * The error for a finished run that had a report, or null when the outcome is `ok` and nothing
 * cancelled it. Pure: the table tests call it with fabricated reports, the real-run tests check
 * it end to end. `reason` is the AbortSignal's reason when the client cancelled the run.
 */
export function classify(details: RunDetails & { report: Report }, reason?: unknown): SandboxError | null {
  const r = details.report;
  const what = r.command.length > 0 ? r.command.join(' ') : details.command.join(' ');
  // confine received SIGTERM or SIGINT (the report's `cancelled`) and ended the job for it. A
  // limit that hit first keeps its own outcome and class (docs/report.md); otherwise the job's
  // ending (killed, or exiting in its grace period, even with 0) is the cancellation's doing.
  const cancelled = r.cancelled ?? null;
  if (cancelled !== null && (r.outcome === 'ok' || r.outcome === 'signaled' || r.outcome === 'exit_nonzero')) {
    return new AbortError(`${what}: cancelled (confine received ${cancelled})`, details, reason);
  }
  switch (r.outcome) {
    case 'ok':
      return null;
    case 'setup_error':
      return new PolicyError(r.setup_error?.message ?? 'confine could not set up the sandbox', details);
    case 'exec_error':
      return new ExecError(
        // confine's own sentence names the path and the cause (a missing interpreter, a mask).
        r.exec_error?.message !== undefined
          ? r.exec_error.message
          : r.exit_code === 127
            ? `${r.exec_error?.path ?? what}: not found in the sandbox`
            : `${r.exec_error?.path ?? what}: cannot be executed (${r.exec_error?.errno_name ?? 'errno ' + String(r.exec_error?.errno)})`,
        details,
      );
    case 'oom':
      return new ResourceLimitError(`${what}: killed at its memory limit`, details, 'memory');
    case 'wall_timeout':
      return new TimeoutError(`${what}: wall-time limit reached`, details, 'wall');
    case 'cpu_timeout':
      return new TimeoutError(`${what}: CPU-time limit reached`, details, 'cpu');
    case 'seccomp_violation':
      return new SeccompViolationError(
        `${what}: forbidden system call ${r.seccomp_violation?.syscall ?? r.denials?.find((d) => d.action === 'kill')?.syscall ?? '(unknown; killed by SIGSYS)'}`,
        details,
      );
    case 'file_size_limit':
      return new ResourceLimitError(`${what}: wrote past its file size limit`, details, 'file_size');
    case 'output_limit':
      return new ResourceLimitError(`${what}: output limit reached`, details, 'output');
    case 'signaled':
    case 'exit_nonzero':
      // pids.max refusing a fork is a fact, not an ending (docs/report.md); a job that then
      // failed is reported as having met its pids limit.
      if (r.limits_hit.includes('pids')) {
        return new ResourceLimitError(`${what}: failed after reaching its pids limit`, details, 'pids');
      }
      if (r.outcome === 'signaled') {
        return new SignalError(`${what}: killed by ${r.target.signal_name ?? 'a signal'}`, details);
      }
      return new ExitError(`${what}: exited with code ${String(r.target.exit_code)}`, details);
    default: {
      // Outcomes added after this client was written (docs/report.md, "Versioning").
      const outcome: string = r.outcome;
      return new SandboxError(`${what}: ended with outcome ${outcome} (exit code ${r.exit_code})`, details);
    }
  }
}
