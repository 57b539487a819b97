// Which optional parts of the command-line contract the confine binary has, read once per
// binary from `confine run --help` (the flags are the documented contract; the client never
// looks at confine's internals). Older binaries lack some; run() then does the same job itself
// where it can (README, "Older confine binaries").
//
// Policy names are not resolved here: `-p NAME` is confine's (its search path, docs/policy.md),
// and the client only adds RunOptions.policyPath in front of $CONFINE_POLICY_PATH.
import { execFile } from 'node:child_process';

export interface Features {
  /** `--log-fd N`: confine's own log lines on their own fd. */
  logFd: boolean;
  /** `--max-output SIZE`: confine counts the output and kills the job past it. */
  maxOutput: boolean;
  /** `--stdin null`: the job gets /dev/null without a relay. */
  stdinMode: boolean;
  /** `--kill-after DUR`: the grace between SIGTERM and SIGKILL. */
  killAfter: boolean;
}

export function parseFeatures(help: string): Features {
  const has = (flag: string) => new RegExp(`(^|[\\s,])${flag}(?=[\\s=,]|$)`, 'm').test(help);
  return {
    logFd: has('--log-fd'),
    maxOutput: has('--max-output'),
    stdinMode: has('--stdin'),
    killAfter: has('--kill-after'),
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
