// The runner of sandboxed(): the script node runs inside the sandbox. It reads the call from
// stdin ({ module, name, nonce, args } as JSON), imports the function's module (whose
// sandboxed() call registers the function here instead of wrapping it), calls it, and writes
// the result or the error after the marker line on stdout. Then it exits: timers or handles the
// function left behind do not keep the job alive.
import { REGISTRY, RESULT_MARK, type Registry } from './sandboxed.js';
import type { RemoteErrorInfo } from './errors.js';

interface Call {
  module: string;
  name: string;
  nonce: string;
  args: unknown[];
}

function serializeError(e: unknown): RemoteErrorInfo {
  if (e instanceof Error) {
    const properties: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(e)) {
      if (k === 'stack' || k === 'message' || k === 'name') continue;
      try {
        properties[k] = JSON.parse(JSON.stringify(v)) as unknown;
      } catch {
        properties[k] = String(v);
      }
    }
    const code = (e as { code?: unknown }).code;
    return { name: e.name, message: e.message, stack: e.stack ?? null, code: typeof code === 'string' ? code : null, properties };
  }
  return { name: 'NonError', message: String(e), stack: null, code: null, properties: { value: safeJson(e) } };
}

function safeJson(v: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(v) ?? 'null') as unknown;
  } catch {
    return String(v);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(): Promise<void> {
  const registry: Registry = new Map();
  (globalThis as Record<symbol, unknown>)[REGISTRY] = registry;
  const call = JSON.parse(await readStdin()) as Call;
  let result: { ok: true; value: unknown } | { ok: false; error: RemoteErrorInfo };
  try {
    const mod = (await import(call.module)) as Record<string, unknown>;
    let fn = registry.get(`${call.module}#${call.name}`);
    if (!fn) {
      const byName = [...registry.entries()].filter(([key]) => key.endsWith(`#${call.name}`));
      if (byName.length === 1) fn = byName[0]?.[1];
    }
    const exported = mod[call.name];
    if (!fn && typeof exported === 'function') fn = exported as (...args: unknown[]) => unknown;
    if (!fn) throw new Error(`${call.module} registers no sandboxed function named ${call.name}`);
    result = { ok: true, value: await fn(...call.args) };
  } catch (e) {
    result = { ok: false, error: serializeError(e) };
  }
  let text: string;
  try {
    text = JSON.stringify(result.ok ? { ok: true, value: result.value ?? null } : result);
  } catch (e) {
    result = { ok: false, error: serializeError(new TypeError(`the result cannot cross as JSON: ${(e as Error).message}`)) };
    text = JSON.stringify(result);
  }
  const status = result.ok ? 0 : 1;
  process.stdout.write(`${RESULT_MARK}${call.nonce}:${text}\n`, () => process.exit(status));
}

await main();
