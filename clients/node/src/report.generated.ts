/* eslint-disable */
// Generated from docs/report.schema.json by scripts/gen-report-types.mjs. Do not edit:
// change the schema and run `npm run gen:report-types`.

/**
 * How a confined job ended and what confine enforced. Field meanings, units and when each is null: docs/report.md. A fact that was not measured is null, never absent.
 */
export type ConfineRunReportReportVersion1 = {
  report_version: 1;
  confine_version: string;
  outcome:
    | 'ok'
    | 'exit_nonzero'
    | 'signaled'
    | 'oom'
    | 'wall_timeout'
    | 'cpu_timeout'
    | 'seccomp_violation'
    | 'file_size_limit'
    | 'output_limit'
    | 'setup_error'
    | 'exec_error';
  exit_code: ExitCode;
  target: {
    exit_code: ExitCode | null;
    signal: number | null;
    signal_name: string | null;
    core_dumped: boolean;
  };
  times: {
    wall_us: Count;
    cpu_user_us: Count;
    cpu_system_us: Count;
  };
  resources: {
    memory_peak_bytes: CountOrNull;
    pids_peak: CountOrNull;
    counters: {
      oom_kills: Count;
      oom_group_kills: Count;
      pids_max_hits: Count;
      cpu_throttled_us: Count;
    };
  };
  limits_hit: ('wall_time' | 'cpu_time' | 'memory' | 'pids' | 'file_size' | 'output')[];
  output?: null | {
    stdout_bytes: Count;
    stderr_bytes: Count;
    dropped_bytes: Count;
    limit_bytes: CountOrNull;
  };
  denials?: Denial[];
  audit?: null | {
    enforcing: false;
    syscalls: Denial[];
    paths: {
      path: string;
      operation: string;
      count: Count;
      first_pid: number;
    }[];
  };
  output_area?: null | {
    path: string;
    host: string;
    files_copied: Count;
    bytes_copied: Count;
    copied: {
      name: string;
      bytes: Count;
    }[];
    refused: {
      name: string;
      reason: string;
    }[];
    unlisted: Count;
  };
  cancelled?: string | null;
  enforced: {
    name: string;
    status:
      | 'enforced'
      | 'enforced_fallback'
      | 'best_effort_skipped'
      | 'disabled_by_policy'
      | 'not_requested'
      | 'not_in_mode'
      | 'audit'
      | 'learn';
    mechanism: string;
    detail: string;
  }[];
  command: string[];
  policy: {
    path: string | null;
    sha256: string | null;
  };
  setup_error: {
    step: string;
    path: string | null;
    errno: Errno | null;
    errno_name: ErrnoName;
    message: string;
  } | null;
  exec_error: {
    path: string;
    errno: Errno;
    errno_name: ErrnoName;
    message?: string;
  } | null;
  seccomp_violation: {
    syscall: string | null;
    nr: CountOrNull;
    arch: string | null;
  } | null;
  phases: {
    name: string;
    duration_us: Count;
  }[];
  warnings: string[];
};
export type ExitCode = number;
export type Count = number;
export type CountOrNull = number | null;
export type Errno = number;
export type ErrnoName = string | null;

export interface Denial {
  syscall: string;
  nr: number | null;
  arch: string | null;
  action: 'kill' | 'errno';
  errno: number | null;
  errno_name: string | null;
  count: Count;
  first_pid: number;
}
