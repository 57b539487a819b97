// sandboxed(fn, options): call a function in a new `node` process under confine.
//
// The function is not serialised: its module is imported again inside the sandbox (by the
// runner, sandboxed-child.ts), where the same sandboxed() call registers the function instead
// of wrapping it, and the runner calls it. Arguments go in as JSON on the job's stdin; the
// return value (or what it threw) comes back as JSON on its stdout after a marker line with a
// per-call nonce; everything else the function prints reaches onStdout as usual.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AbortError, FunctionError, ResourceLimitError, SandboxError, type RemoteErrorInfo, type RunDetails } from './errors.js';
import { sizeInBytes, type RunOptions, type Size } from './options.js';
import { run } from './run.js';

export const REGISTRY = Symbol.for('confine.sandboxed.registry');
export const RESULT_MARK = '\n\x1econfine-result:';

/** The runner's registry: the functions a module registered while the runner imported it. */
export type Registry = Map<string, (...args: unknown[]) => unknown>;

export interface SandboxedOptions extends Omit<RunOptions, 'stdin' | 'reject'> {
  /**
   * The module that defines the function (a file URL or path). Default: the module that called
   * sandboxed(). It is imported again inside the sandbox, so keep its top level free of side
   * effects (start servers and the like from another module).
   */
  module?: string | URL;
  /** The name the function is registered under in its module. Default: `fn.name`. */
  name?: string;
  /** The node binary inside the sandbox. Default: this process's own (process.execPath). */
  nodePath?: string;
  /** Extra flags for node, before the runner script. */
  nodeArgs?: string[];
  /**
   * node's own heap limit (--max-old-space-size). Default: three quarters of `memory` when that
   * is set, so a function that allocates too much ends with V8's heap limit, which sandboxed()
   * reports as ResourceLimitError('memory'), before the sandbox's limit kills it harder.
   */
  heapLimit?: Size;
}

/** Per-call options: cancellation and output streaming. */
export interface CallOptions {
  signal?: AbortSignal;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
}

export interface SandboxedFunction<A extends unknown[], R> {
  (...args: A): Promise<Awaited<R>>;
  /** The same call with per-call options: `fn.run([a, b], { signal })`. */
  run(args: A, options?: CallOptions): Promise<Awaited<R>>;
  /** Where the sandbox finds the function. */
  readonly moduleUrl: string;
  readonly functionName: string;
}

/** The module (file URL) of the code that called `fn`'s caller, from V8's structured stack. */
function callerModule(below: Function): string | null {
  const original = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = (_error, sites) => sites;
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, below);
    const sites = holder.stack as NodeJS.CallSite[] | undefined;
    const file = sites?.[0]?.getFileName();
    if (!file) return null;
    return file.startsWith('file:') ? file : pathToFileURL(file).href;
  } finally {
    Error.prepareStackTrace = original;
  }
}

function registryKey(moduleUrl: string, name: string): string {
  return `${moduleUrl}#${name}`;
}

/** The nearest directory at or above `dir` that holds a package.json; `dir` itself if none. */
export function packageRoot(dir: string): string {
  for (let d = dir; ; d = path.dirname(d)) {
    if (existsSync(path.join(d, 'package.json'))) return d;
    if (path.dirname(d) === d) return dir;
  }
}

/** This package's own directory (the runner lives in it). */
const clientRoot = packageRoot(path.dirname(fileURLToPath(import.meta.url)));
const runnerPath = fileURLToPath(new URL('./sandboxed-child.js', import.meta.url));

/** Splits the job's stdout into the function's own output and the result frame after the marker. */
export class FrameSplitter {
  private held = Buffer.alloc(0);
  private frameChunks: Buffer[] = [];
  private frameBytes = 0;
  found = false;
  overflow = false;
  constructor(
    private readonly marker: Buffer,
    private readonly output: (chunk: Buffer) => void,
    private readonly maxFrame: number,
  ) {}
  push(chunk: Buffer): void {
    if (this.found) return this.keep(chunk);
    const buf = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk;
    const at = buf.indexOf(this.marker);
    if (at >= 0) {
      if (at > 0) this.output(buf.subarray(0, at));
      this.found = true;
      this.held = Buffer.alloc(0);
      this.keep(buf.subarray(at + this.marker.length));
      return;
    }
    // The marker may straddle two chunks: hold back what could be its beginning.
    const hold = Math.min(buf.length, this.marker.length - 1);
    if (buf.length > hold) this.output(buf.subarray(0, buf.length - hold));
    this.held = Buffer.from(buf.subarray(buf.length - hold));
  }
  end(): void {
    if (!this.found && this.held.length > 0) this.output(this.held);
    this.held = Buffer.alloc(0);
  }
  frame(): string | null {
    return this.found ? Buffer.concat(this.frameChunks).toString('utf8') : null;
  }
  private keep(chunk: Buffer): void {
    if (this.frameBytes + chunk.length > this.maxFrame) {
      this.overflow = true;
      return;
    }
    this.frameChunks.push(chunk);
    this.frameBytes += chunk.length;
  }
}

interface Frame {
  ok: boolean;
  value?: unknown;
  error?: RemoteErrorInfo;
}

// V8's own words when a heap limit (ours, or the address-space limit under it) stops node.
const V8_OUT_OF_MEMORY = /JavaScript heap out of memory|Fatal process out of memory|Fatal process OOM/;

export function sandboxed<A extends unknown[], R>(
  fn: (...args: A) => R,
  options: SandboxedOptions = {},
): SandboxedFunction<A, R> {
  if (typeof fn !== 'function') throw new TypeError('sandboxed: expected a function');
  const name = options.name ?? fn.name;
  if (!name) throw new TypeError('sandboxed: the function has no name; give it one or pass options.name');
  const moduleUrl =
    options.module !== undefined
      ? options.module instanceof URL || String(options.module).startsWith('file:')
        ? new URL(String(options.module)).href
        : pathToFileURL(path.resolve(String(options.module))).href
      : callerModule(sandboxed);
  if (moduleUrl === null) throw new TypeError('sandboxed: cannot tell which module called it; pass options.module');

  // Inside the sandbox the runner is importing this module: register, and run the function
  // itself when the module calls it directly.
  const registry = (globalThis as Record<symbol, unknown>)[REGISTRY] as Registry | undefined;
  if (registry) {
    registry.set(registryKey(callerModule(sandboxed) ?? moduleUrl, name), fn as (...args: unknown[]) => unknown);
    const direct = ((...args: A) => Promise.resolve(fn(...args))) as SandboxedFunction<A, R>;
    direct.run = (args: A) => Promise.resolve(fn(...args)) as Promise<Awaited<R>>;
    return Object.assign(direct, { moduleUrl, functionName: name });
  }

  const { module: _module, name: _name, nodePath, nodeArgs, heapLimit, ...runOptions } = options;
  const moduleFile = fileURLToPath(moduleUrl);
  const ro = [...(options.ro ?? [packageRoot(path.dirname(moduleFile))])];
  if (!ro.some((p) => clientRoot === p || clientRoot.startsWith(p.endsWith('/') ? p : p + '/'))) ro.push(clientRoot);
  const memoryBytes = options.memory !== undefined ? sizeInBytes(options.memory) : null;
  const heapBytes = heapLimit !== undefined ? sizeInBytes(heapLimit) : memoryBytes !== null ? Math.floor((memoryBytes * 3) / 4) : null;
  const nodeFlags = [...(heapBytes !== null ? [`--max-old-space-size=${Math.max(16, Math.floor(heapBytes / 2 ** 20))}`] : []), ...(nodeArgs ?? [])];

  const call = async (args: A, callOptions: CallOptions = {}): Promise<Awaited<R>> => {
    const nonce = randomBytes(16).toString('hex');
    const onStdout = callOptions.onStdout ?? runOptions.onStdout;
    const onStderr = callOptions.onStderr ?? runOptions.onStderr;
    const printed: Buffer[] = [];
    let printedBytes = 0;
    const maxBuffer = runOptions.maxBuffer ?? 16 * 1024 * 1024;
    const splitter = new FrameSplitter(
      Buffer.from(`${RESULT_MARK}${nonce}:`),
      (chunk) => {
        if (printedBytes < maxBuffer) {
          printed.push(chunk.subarray(0, maxBuffer - printedBytes));
          printedBytes += chunk.length;
        }
        onStdout?.(chunk);
      },
      maxBuffer,
    );
    let stderrTail = '';
    const input = JSON.stringify({ module: moduleUrl, name, nonce, args });
    const settled = await run(nodePath ?? process.execPath, [...nodeFlags, runnerPath], {
      policy: 'node',
      ...runOptions,
      ro,
      stdin: input,
      ...(callOptions.signal !== undefined ? { signal: callOptions.signal } : {}),
      onStdout: (chunk) => splitter.push(chunk),
      onStderr: (chunk) => {
        stderrTail = (stderrTail + chunk.toString('utf8')).slice(-16384);
        onStderr?.(chunk);
      },
      reject: false,
    });
    splitter.end();
    const details: RunDetails = {
      report: settled.report,
      exitCode: settled.exitCode,
      stdout: Buffer.concat(printed).toString('utf8'),
      stderr: settled.stderr,
      command: [`${name} (${moduleUrl})`],
      confineArgv: settled.confineArgv,
      log: settled.log,
    };
    const text = splitter.frame();
    let frame: Frame | null = null;
    if (text !== null && !splitter.overflow) {
      try {
        frame = JSON.parse(text) as Frame;
      } catch {
        frame = null;
      }
    }
    const outcome = settled.report?.outcome;
    if (frame && !frame.ok && frame.error && (outcome === 'exit_nonzero' || outcome === 'ok') && !(settled.error instanceof AbortError)) {
      throw new FunctionError(details, frame.error);
    }
    if (settled.error !== null) {
      const e = settled.error;
      if (
        frame === null &&
        (outcome === 'signaled' || outcome === 'exit_nonzero') &&
        V8_OUT_OF_MEMORY.test(stderrTail)
      ) {
        throw new ResourceLimitError(`${name}: ran out of memory (node's heap limit)`, details, 'memory');
      }
      // run() names the command that ran (node and the runner); name the function instead.
      const ran = settled.report?.command.join(' ');
      if (ran && e.message.startsWith(ran)) e.message = `${name}${e.message.slice(ran.length)}`;
      throw e;
    }
    if (splitter.overflow) throw new SandboxError(`${name}: its result is larger than maxBuffer (${maxBuffer} bytes)`, details);
    if (frame === null) throw new SandboxError(`${name}: the process ended without returning a result (did it call process.exit?)`, details);
    return frame.value as Awaited<R>;
  };

  const wrapper = ((...args: A) => call(args)) as SandboxedFunction<A, R>;
  wrapper.run = call;
  return Object.assign(wrapper, { moduleUrl, functionName: name });
}
