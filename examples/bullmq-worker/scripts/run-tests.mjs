// Runs the example's tests (dist/test/*.test.js, built by `npm run build`) with node's own test
// runner against the real confine binary: $CONFINE, or the build tree's build/src/confine. The
// presets are found by name through CONFINE_POLICY_PATH (default: the checkout's policies/).
// The client package must be built first (clients/node: npm ci && npm run build).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const env = { ...process.env };
env.CONFINE ||= `${root}build/src/confine`;
env.CONFINE_POLICY_PATH ||= `${root}policies`;
for (const [what, file, fix] of [
  ['confine binary', env.CONFINE, 'build it with scripts/build.sh, or set CONFINE'],
  ['built client', `${root}clients/node/dist/src/index.js`, 'run `npm ci && npm run build` in clients/node'],
]) {
  if (!existsSync(file)) {
    console.error(`no ${what} at ${file}: ${fix}`);
    process.exit(1);
  }
}
const dir = fileURLToPath(new URL('../dist/test/', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.test.js')).sort().map((f) => dir + f);
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=1', ...files], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
