// Runs the client's tests (dist/test/*.test.js, built by `npm run build`) with node's own test
// runner against the real confine binary: $CONFINE, or the build tree's build/src/confine
// (scripts/build.sh). The shipped policies are found by name through CONFINE_POLICY_PATH,
// which defaults to the checkout's policies/.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const env = { ...process.env };
env.CONFINE ||= `${root}build/src/confine`;
env.CONFINE_POLICY_PATH ||= `${root}policies`;
if (!existsSync(env.CONFINE)) {
  console.error(`no confine binary at ${env.CONFINE}: build it with scripts/build.sh, or set CONFINE`);
  process.exit(1);
}
const dir = fileURLToPath(new URL('../dist/test/', import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.test.js'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort()
  .map((f) => dir + f);
// Two files at a time at most: the machine has two cores and the timing of the limits should
// not depend on how many other tests happen to be burning CPU.
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=2', ...files], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
