// The services the end-to-end test starts and stops itself: a redis-server (Debian's) on
// 127.0.0.1 on a free port, and worker processes (dist/src/worker.js), each in its own process
// group so that killing one takes its confine processes with it, as systemd does with a unit.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';

export const REDIS_SERVER = '/usr/bin/redis-server';
const workerScript = fileURLToPath(new URL('../src/worker.js', import.meta.url));

/** A port nobody listens on right now (the kernel's choice for port 0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export interface RedisServer {
  url: string;
  stop(): Promise<void>;
}

/** redis-server on 127.0.0.1, no persistence, its files in a temp dir removed on stop(). */
export async function startRedis(): Promise<RedisServer> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'confine-redis-'));
    const child = spawn(
      REDIS_SERVER,
      ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    child.stdout?.on('data', (c: Buffer) => (log += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (log += c.toString()));
    const url = `redis://127.0.0.1:${port}`;
    const stop = async () => {
      child.kill('SIGTERM');
      await exited(child);
      rmSync(dir, { recursive: true, force: true });
    };
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    let ready = false;
    for (let i = 0; i < 100 && child.exitCode === null; i++) {
      try {
        await client.connect();
        ready = (await client.ping()) === 'PONG';
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    client.disconnect();
    if (ready) return { url, stop };
    await stop();
    // Someone took the port between our probe and redis-server's bind: try another.
    if (attempt >= 3) throw new Error(`redis-server did not start: ${log}`);
  }
}

export interface WorkerProcess {
  name: string;
  child: ChildProcess;
  output: () => string;
  /** SIGTERM: the worker finishes its running jobs and exits. */
  stop(): Promise<void>;
  /** SIGKILL to the worker's whole process group: the worker and its confine processes. */
  kill(): Promise<void>;
}

export async function startWorkerProcess(name: string, env: NodeJS.ProcessEnv): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [workerScript], {
    env: { ...process.env, ...env, WORKER_NAME: name },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const deadline = Date.now() + 20_000;
  while (!output.includes(`worker ${name} ready`)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`worker ${name} did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const group = child.pid ?? 0;
  return {
    name,
    child,
    output: () => output,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => process.kill(-group, 'SIGKILL'), 30_000);
      await exited(child);
      clearTimeout(timer);
    },
    async kill() {
      process.kill(-group, 'SIGKILL');
      await exited(child);
    },
  };
}

/** Pids of processes whose argv mentions `marker` (other than this one). */
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

export const haveRedis = () => existsSync(REDIS_SERVER);
