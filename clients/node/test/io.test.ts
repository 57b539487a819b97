// The job's input and output through the client: output streamed while the job runs, stdin as a
// string, a Buffer or a stream, the result's bounded buffers, the report on its own fd and
// confine's own lines kept out of the job's stderr.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { run, type RunOptions } from '../src/index.js';
import { assertSchemaValid, confinePath, python, tempDir } from './helpers.js';

const base: RunOptions = { policy: 'default', confinePath };

// The job prints a line, then waits for a line on stdin that the test only sends once it has
// seen the first one: the run can only finish if output arrives while the job is running.
test('output streams while the job runs, and stdin can answer it', async () => {
  const input = new PassThrough();
  const seen: string[] = [];
  const script = 'import sys\nprint("question", flush=True)\nline = sys.stdin.readline()\nprint("answer " + line.strip(), flush=True)\n';
  const r = await run(python, ['-c', script], {
    ...base,
    timeout: '20s',
    stdin: input,
    onStdout: (chunk) => {
      seen.push(chunk.toString());
      if (chunk.toString().includes('question')) input.end('forty-two\n');
    },
  });
  assert.equal(r.stdout, 'question\nanswer forty-two\n');
  assert.equal(seen.join(''), r.stdout);
  assert.ok(seen.length >= 2, `expected separate chunks, got ${JSON.stringify(seen)}`);
});

test('stderr streams separately from stdout', async () => {
  const out: string[] = [];
  const err: string[] = [];
  const script = 'import sys\nsys.stdout.write("to out\\n"); sys.stdout.flush()\nsys.stderr.write("to err\\n")\n';
  const r = await run(python, ['-c', script], { ...base, onStdout: (c) => out.push(c.toString()), onStderr: (c) => err.push(c.toString()) });
  assert.equal(out.join(''), 'to out\n');
  assert.equal(err.join(''), 'to err\n');
  assert.equal(r.stdout, 'to out\n');
  assert.equal(r.stderr, 'to err\n');
});

test('stdin as a string, a Buffer and a file stream', async (t) => {
  const fromString = await run('/usr/bin/tr', ['a-z', 'A-Z'], { ...base, stdin: 'hello\n' });
  assert.equal(fromString.stdout, 'HELLO\n');

  const bytes = Buffer.from([0, 1, 2, 255, 254, 10]);
  const fromBuffer = await run('/usr/bin/od', ['-An', '-tu1'], { ...base, stdin: bytes });
  assert.equal(fromBuffer.stdout.trim().split(/\s+/).join(' '), '0 1 2 255 254 10');

  const dir = tempDir(t, 'stdin');
  const file = path.join(dir, 'big.bin');
  const data = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
  writeFileSync(file, data);
  const fromStream = await run('/usr/bin/sha256sum', [], { ...base, stdin: createReadStream(file) });
  assert.equal(fromStream.stdout.split(' ')[0], createHash('sha256').update(data).digest('hex'));
});

test('no stdin: the job reads end-of-file at once', async () => {
  const r = await run('/usr/bin/wc', ['-c'], { ...base, timeout: '10s' });
  assert.equal(r.stdout.trim(), '0');
});

test('a job that does not read its stdin is not an error', async () => {
  const r = await run('/bin/true', [], { ...base, stdin: Buffer.alloc(4 * 1024 * 1024) });
  assert.equal(r.exitCode, 0);
});

test('maxBuffer bounds what the result keeps; the stream still sees everything', async () => {
  let streamed = 0;
  const r = await run('/usr/bin/head', ['-c', '1000000', '/dev/zero'], { ...base, maxBuffer: 1000, onStdout: (c) => (streamed += c.length) });
  assert.equal(r.stdout.length, 1000);
  assert.equal(r.stdoutTruncated, true);
  assert.equal(streamed, 1000000);
  assert.equal(r.stderrTruncated, false);
});

// A best-effort limit makes confine warn on this kind of host (resource limits fall back to
// rlimits): those lines are confine's, and arrive on its log fd (--log-fd), never in the job's
// stderr. The report never does either.
test("confine's own lines and the report stay out of the job's output", async () => {
  const r = await run(python, ['-c', 'import sys; sys.stderr.write("job says\\n")'], { ...base, memory: '256M', bestEffort: true });
  assert.equal(r.stderr, 'job says\n');
  assert.equal(r.stdout, '');
  assertSchemaValid(r.report);
  for (const line of r.log) assert.ok(!r.stderr.includes(line));
  // Each warning of the report is one line on the log (where a host lacks nothing, there are none).
  for (const w of r.report.warnings) {
    assert.ok(r.log.includes(`confine: warning: ${w}`), `warning not on the log: ${w}\nlog: ${JSON.stringify(r.log)}`);
    assert.ok(!r.stderr.includes(w.slice(0, 40)), `warning in stderr: ${w}`);
  }
});

test('arguments reach the job exactly, never through a shell', async () => {
  const args = ['$HOME', '; rm -rf /', '`id`', "'quoted'", '-n', '--', 'two words', 'ünïcødé', ''];
  const r = await run(python, ['-c', 'import json, sys; print(json.dumps(sys.argv[1:]))', ...args], base);
  assert.deepEqual(JSON.parse(r.stdout), args);
});

test('env, cwd and a read-write directory reach the job', async (t) => {
  const dir = tempDir(t, 'rw');
  const r = await run(python, ['-c', 'import os; open("out.txt", "w").write(os.environ["GREETING"]); print(os.getcwd())'], {
    ...base,
    rw: [dir],
    cwd: dir,
    env: { GREETING: 'hi there' },
  });
  assert.equal(r.stdout.trim(), dir);
  const { readFileSync } = await import('node:fs');
  assert.equal(readFileSync(path.join(dir, 'out.txt'), 'utf8'), 'hi there');
});

// The output area (`output`): the input read-only as the working dir, the results written to
// /out and delivered by confine into a new host directory; a symlink planted there is refused.
test('output: the job writes to /out, confine delivers the regular files and lists the refused', async (t) => {
  const dir = tempDir(t, 'area', 0o755);
  const input = path.join(dir, 'in');
  const delivered = path.join(dir, 'out');
  const { lstatSync, mkdirSync, readFileSync } = await import('node:fs');
  mkdirSync(input, { mode: 0o755 });
  writeFileSync(path.join(input, 'data.txt'), 'three words here\n', { mode: 0o644 });
  const script =
    'import os\n' +
    'words = open("data.txt").read().split()\n' +
    'open("/out/count.txt", "w").write(str(len(words)))\n' +
    'os.symlink("/etc/passwd", "/out/link")\n' +
    'try:\n    open("data.txt", "a")\nexcept OSError as e:\n    print(e.strerror)\n';
  const r = await run(python, ['-c', script], { ...base, ro: [input], cwd: input, output: delivered });
  // The input is not writable (EACCES for a file the sandbox's uid does not own, else EROFS).
  assert.match(r.stdout, /^(Permission denied|Read-only file system)\n$/);
  assert.equal(readFileSync(path.join(delivered, 'count.txt'), 'utf8'), '3');
  assert.throws(() => lstatSync(path.join(delivered, 'link')), { code: 'ENOENT' });
  assertSchemaValid(r.report);
  const area = r.report.output_area;
  assert.ok(area, 'the report has output_area');
  assert.equal(area.host, delivered);
  assert.deepEqual(area.copied.map((c) => c.name), ['count.txt']);
  assert.deepEqual(area.refused.map((x) => [x.name, x.reason]), [['link', 'symlink']]);
});
