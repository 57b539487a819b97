// @confine/client: run commands and functions in confine sandboxes (README.md).
export { run, type RunResult, type SettledRun } from './run.js';
export { createPool, mergeOptions, type Pool, type PoolOptions } from './pool.js';
export { sandboxed, type SandboxedFunction, type SandboxedOptions, type CallOptions } from './sandboxed.js';
export type { RunOptions, Duration, Size } from './options.js';
export {
  SandboxError,
  SpawnError,
  PolicyError,
  ExecError,
  TimeoutError,
  ResourceLimitError,
  SeccompViolationError,
  SignalError,
  ExitError,
  AbortError,
  FunctionError,
  classify,
  type ResourceKind,
  type RemoteErrorInfo,
  type RunDetails,
} from './errors.js';
export {
  parseReport,
  type Report,
  type Outcome,
  type LimitHit,
  type Enforcement,
  type Denial,
  type AuditInfo,
  type OutputAreaInfo,
  type SetupErrorInfo,
  type SeccompViolationInfo,
} from './report.js';
