// sandboxed(): functions from test/fixtures/functions.ts run in node under policies/node.toml,
// arguments and results crossing as JSON, with the limits and typed errors of run().
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { AbortError, FunctionError, ResourceLimitError, TimeoutError, sandboxed } from '../src/index.js';
import { add, describe, fail, hog, readSecret, spin } from './fixtures/functions.js';
import { assertSchemaValid, enforcement } from './helpers.js';

test('a function runs in its own sandbox: arguments and result cross as JSON, output streams', async () => {
  assert.equal(await add(2, 40), 42);
  const printed: string[] = [];
  const result = await describe.run([{ name: 'batch', items: [1, 2, 3.5] }], { onStdout: (c) => printed.push(c.toString()) });
  assert.equal(result.name, 'BATCH');
  assert.equal(result.total, 6.5);
  // A fresh pid namespace: node is the target under confine's init (pid 1).
  assert.ok(result.pid <= 3, `pid ${result.pid} inside the sandbox`);
  assert.equal(printed.join(''), 'working on batch\n');
  assert.ok(describe.moduleUrl.endsWith('/test/fixtures/functions.js'));
  assert.equal(describe.functionName, 'describe');
});

test('a function that allocates past its memory limit: ResourceLimitError(memory)', async () => {
  await assert.rejects(hog(), (e: unknown) => {
    assert.ok(e instanceof ResourceLimitError, String(e));
    assert.equal(e.which, 'memory');
    assertSchemaValid(e.report);
    // Under a cgroup, node's own heap limit (3/4 of memory) or the OOM killer; under the
    // RLIMIT_AS fallback, the address-space cap stops V8 first. Either way the report says how.
    assert.ok(['enforced', 'enforced_fallback'].includes(enforcement(e.report, 'memory_limit') ?? ''));
    assert.ok(e.report.outcome === 'oom' || e.report.outcome === 'signaled', e.report.outcome);
    return true;
  });
});

test('a function that loops forever: TimeoutError at its wall-time limit', async () => {
  const started = Date.now();
  await assert.rejects(spin(), (e: unknown) => {
    assert.ok(e instanceof TimeoutError, String(e));
    assert.equal(e.which, 'wall');
    assert.equal(e.message, 'spin: wall-time limit reached');
    assertSchemaValid(e.report);
    return true;
  });
  assert.ok(Date.now() - started < 15_000);
});

test('a function that throws: the error crosses with its name, message, code and properties', async () => {
  await assert.rejects(fail('no such page'), (e: unknown) => {
    assert.ok(e instanceof FunctionError, String(e));
    assert.equal(e.remote.name, 'RangeError');
    assert.equal(e.remote.message, 'no such page');
    assert.equal(e.remote.code, 'E_FIXTURE');
    assert.deepEqual(e.remote.properties['detail'], { attempt: 3 });
    assert.match(e.remote.stack ?? '', /functions\.js/);
    assertSchemaValid(e.report);
    assert.equal(e.report.outcome, 'exit_nonzero');
    return true;
  });
});

test('a function that reads a secret file outside what the sandbox binds is denied', async (t) => {
  const dir = mkdtempSync('/var/tmp/confine-node-secret-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const secret = path.join(dir, 'api-key.txt');
  const text = `secret-${Date.now()}`;
  writeFileSync(secret, text, { mode: 0o644 });
  assert.equal(readFileSync(secret, 'utf8'), text, 'readable outside the sandbox');
  await assert.rejects(readSecret(secret), (e: unknown) => {
    assert.ok(e instanceof FunctionError, String(e));
    assert.equal(e.remote.code, 'ENOENT');
    for (const seen of [e.message, e.stdout, e.stderr, JSON.stringify(e.remote)]) assert.ok(!seen.includes(text));
    return true;
  });
});

test('a call is cancelled through its signal: AbortError', async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort('stop'), 300);
  await assert.rejects(spin.run([], { signal: controller.signal }), (e: unknown) => e instanceof AbortError && e.reason === 'stop');
});

test('a function without a name is refused at once', () => {
  assert.throws(() => sandboxed(() => 1), TypeError);
});
