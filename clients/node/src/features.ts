// Which optional parts of the command-line contract the confine binary has, read once per
// binary from `confine run --help` (the flags are the documented contract; the client never
// looks at confine's internals). Older binaries lack some; run() then does the same job itself
// where it can (README, "Older confine binaries").
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import path from 'node:path';

export interface Features {
  /** `--log-fd N`: confine's own log lines on their own fd. */
  logFd: boolean;
  /** `--max-output SIZE`: confine counts the output and kills the job past it. */
  maxOutput: boolean;
  /** `--stdin null`: the job gets /dev/null without a relay. */
  stdinMode: boolean;
  /** `--kill-after DUR`: the grace between SIGTERM and SIGKILL. */
  killAfter: boolean;
  /** `-p NAME` looks names up on confine's policy search path ($CONFINE_POLICY_PATH, ...). */
  policyByName: boolean;
}

export function parseFeatures(help: string): Features {
  const has = (flag: string) => new RegExp(`(^|[\\s,])${flag}(?=[\\s=,]|$)`, 'm').test(help);
  return {
    logFd: has('--log-fd'),
    maxOutput: has('--max-output'),
    stdinMode: has('--stdin'),
    killAfter: has('--kill-after'),
    policyByName: /CONFINE_POLICY_PATH/.test(help),
  };
}

const cache = new Map<string, Promise<Features>>();

/** The features of the binary at `confinePath`, asked once per path and process. */
export function features(confinePath: string): Promise<Features> {
  let pending = cache.get(confinePath);
  if (!pending) {
    pending = new Promise<Features>((resolve, reject) => {
      execFile(confinePath, ['run', '--help'], { timeout: 10_000, maxBuffer: 1 << 20 }, (error, stdout) => {
        if (error) reject(error);
        else resolve(parseFeatures(stdout));
      });
    });
    cache.set(confinePath, pending);
    // A failure (no binary yet) is not remembered: the next run asks again.
    pending.catch(() => cache.delete(confinePath));
  }
  return pending;
}

/** The confine binary: the option, else $CONFINE, else `confine` on the PATH. */
export function defaultConfinePath(): string {
  return process.env['CONFINE'] || 'confine';
}

/**
 * Where a policy name is looked up when the binary cannot do it itself, in confine's own order
 * (the contract's search path): the caller's extra directories, $CONFINE_POLICY_PATH,
 * /etc/confine/policies, then <prefix>/share/confine/policies beside an installed binary.
 */
export function policySearchPath(extra: readonly string[], confinePath: string): string[] {
  const fromEnv = (process.env['CONFINE_POLICY_PATH'] ?? '').split(':').filter((d) => d.length > 0);
  const dirs = [...extra, ...fromEnv, '/etc/confine/policies'];
  if (path.isAbsolute(confinePath)) {
    dirs.push(path.join(path.dirname(path.dirname(confinePath)), 'share', 'confine', 'policies'));
  }
  return dirs;
}

/**
 * A policy as confine should get it: a path stays a path; a name is passed through when the
 * binary searches by name, and otherwise resolved here (NAME or NAME.toml in each directory).
 */
export async function resolvePolicy(
  policy: string | undefined,
  extra: readonly string[],
  confinePath: string,
  f: Features,
): Promise<{ policy: string | null; searchPath: string[] }> {
  if (policy === undefined) return { policy: null, searchPath: [] };
  if (policy.includes('/')) return { policy, searchPath: [] };
  const dirs = policySearchPath(extra, confinePath);
  if (f.policyByName) return { policy, searchPath: [...extra] };
  const names = policy.endsWith('.toml') ? [policy] : [`${policy}.toml`, policy];
  for (const dir of dirs) {
    for (const name of names) {
      const candidate = path.join(dir, name);
      try {
        await access(candidate, constants.R_OK);
        return { policy: candidate, searchPath: [] };
      } catch {
        // not here; keep looking
      }
    }
  }
  throw new PolicyNotFound(policy, dirs);
}

export class PolicyNotFound extends Error {
  constructor(
    readonly policyName: string,
    readonly searched: string[],
  ) {
    super(`policy ${JSON.stringify(policyName)} not found; looked in ${searched.join(', ') || '(nowhere: set CONFINE_POLICY_PATH)'}`);
  }
}
