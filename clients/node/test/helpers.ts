// What the client's tests share: where confine and the policies are, temp dirs that go away,
// the schema check every real report goes through, and the search for leftover processes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import type { Report } from '../src/index.js';

export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
export const policiesDir = path.join(repoRoot, 'policies');
export const schemaPath = path.join(repoRoot, 'docs', 'report.schema.json');
/** scripts/run-tests.mjs sets it; fall back to the build tree for a direct `node --test`. */
export const confinePath = process.env['CONFINE'] || path.join(repoRoot, 'build', 'src', 'confine');
process.env['CONFINE'] = confinePath;
process.env['CONFINE_POLICY_PATH'] ||= policiesDir;

export const python = '/usr/bin/python3';

/** A unique word to put in a job's argv, so its processes can be found afterwards. */
export function tag(label: string): string {
  return `confine-node-test-${label}-${randomBytes(6).toString('hex')}`;
}

/** A temp dir the sandbox's unprivileged host uid may write to; removed when the test ends. */
export function tempDir(t: TestContext | null, label = 'job', mode = 0o777): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `confine-node-${label}-`));
  chmodSync(dir, mode);
  t?.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A policy file extending a shipped one with more TOML, in a directory of its own that only
 * its owner may write: run as root, confine refuses a policy others could have replaced.
 */
export function policyFile(t: TestContext, base: string, toml: string): string {
  const file = path.join(tempDir(t, 'policy', 0o755), 'policy.toml');
  writeFileSync(file, `version = 1\nextends = [${JSON.stringify(path.join(policiesDir, base))}]\n${toml}\n`, { mode: 0o644 });
  return file;
}

/** Pids of processes (other than this one) whose argv mentions `marker`. */
export function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) found.push(Number(entry));
    } catch {
      // gone already
    }
  }
  return found;
}

/** Waits until no process mentions `marker`; returns the pids still there after `ms`. */
export async function waitGone(marker: string, ms = 5000): Promise<number[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = processesWith(marker);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Children of this process named `comm` right now (confine processes a test started). */
export function childrenNamed(comm: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const name = stat.slice(stat.indexOf('(') + 1, close);
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      if (name === comm && ppid === process.pid) found.push(Number(entry));
    } catch {
      // gone already
    }
  }
  return found;
}

const require = createRequire(import.meta.url);
type Validate = ((data: unknown) => boolean) & { errors?: unknown };
let validator: Validate | null = null;

/** Every real report a test sees must match docs/report.schema.json. */
export function assertSchemaValid(report: Report | null | undefined): asserts report is Report {
  assert.ok(report, 'expected a report');
  if (validator === null) {
    const Ajv2020 = (require('ajv/dist/2020') as { default: new (o: object) => { compile(s: unknown): Validate } }).default;
    validator = new Ajv2020({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(schemaPath, 'utf8')));
  }
  const ok = validator(report);
  assert.ok(ok, `the report does not match docs/report.schema.json: ${JSON.stringify(validator.errors)}\n${JSON.stringify(report)}`);
}

/** The status confine reported for one protection (`memory_limit`, `pids_limit`, ...). */
export function enforcement(report: Report, name: string): string | undefined {
  return report.enforced.find((e) => e.name === name)?.status;
}
