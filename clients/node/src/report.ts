// The run report confine writes on --report-fd (docs/report.md). The types come from
// docs/report.schema.json (report.generated.ts, checked against the schema by the tests); this
// file only names them and adds what a consumer needs to read a report safely.
import type { ConfineRunReportReportVersion1, Denial } from './report.generated.js';

export type Report = ConfineRunReportReportVersion1;
export type Outcome = Report['outcome'];
export type LimitHit = Report['limits_hit'][number];
export type Enforcement = Report['enforced'][number];
export type SetupErrorInfo = NonNullable<Report['setup_error']>;
export type ExecErrorInfo = NonNullable<Report['exec_error']>;
export type SeccompViolationInfo = NonNullable<Report['seccomp_violation']>;
/** A call the seccomp filter denied and named (docs/report.md, "denials[] and audit"). */
export type { Denial };
/** Only from `confine run --audit`: what the filter would have denied, and paths not shown. */
export type AuditInfo = NonNullable<Report['audit']>;
/** The output area confine delivered into a host directory (`filesystem.output`, `--output DIR`). */
export type OutputAreaInfo = NonNullable<Report['output_area']>;

/**
 * Parses the report confine wrote. The layout is versioned (report_version 1); a consumer must
 * accept keys and enum values it does not know (docs/report.md, "Versioning"), so this checks
 * only what the client relies on, and keeps everything else as confine wrote it.
 */
export function parseReport(text: string): Report {
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('the report is not a JSON object');
  }
  const r = value as Record<string, unknown>;
  if (r['report_version'] !== 1) {
    throw new Error(`report_version ${JSON.stringify(r['report_version'])} is not 1, the version this client reads`);
  }
  if (typeof r['outcome'] !== 'string') throw new Error('the report has no outcome');
  if (typeof r['exit_code'] !== 'number') throw new Error('the report has no exit_code');
  if (!Array.isArray(r['limits_hit'])) throw new Error('the report has no limits_hit list');
  return value as Report;
}
