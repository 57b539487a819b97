// For a worker run as a systemd service with Delegate=yes (systemd/confine-worker@.service):
// the service's cgroup subtree is the worker's, so the jobs' cgroups can live inside it, where
// the unit's own limits (MemoryMax=, TasksMax=, CPUQuota=) cap all of them together and
// `systemctl stop` reaches every one of them.
//
// cgroup v2 lets a cgroup give controllers to its children only while it holds no process of
// its own. So the worker moves itself (and with it every confine it starts later) into the leaf
// <service>/supervisor; confine, finding itself in a leaf right below a delegated cgroup, puts
// each job's cgroup beside it in <service> (docs/cgroups.md, "Where the leaves go"). systemd 254
// and later do the move themselves with DelegateSubgroup=supervisor; Debian 12 has systemd 252.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Where the cgroup2 hierarchy is mounted, from /proc/self/mountinfo; null if nowhere. */
export function cgroup2Mount(mountinfo: string): string | null {
  for (const line of mountinfo.split('\n')) {
    const [before, after] = line.split(' - ');
    if (after?.startsWith('cgroup2 ')) return before?.split(' ')[4] ?? null;
  }
  return null;
}

/** The leaf the worker moves into, from /proc/self/cgroup and /proc/self/mountinfo. */
export function supervisorCgroup(procSelfCgroup: string, mountinfo: string): string {
  const own = procSelfCgroup.split('\n').find((l) => l.startsWith('0::'))?.slice(3);
  const mount = cgroup2Mount(mountinfo);
  if (!own || !mount) throw new Error('no cgroup v2 hierarchy: a delegated cgroup needs a unified (cgroup v2) host');
  if (own === '/') throw new Error('the worker runs in the root cgroup: start it as a systemd service with Delegate=yes');
  // Already there (DelegateSubgroup=supervisor, or moved before).
  if (path.basename(own) === 'supervisor') return path.join(mount, own);
  return path.join(mount, own, 'supervisor');
}

/** Moves this process into <service>/supervisor; returns that cgroup's path. */
export function enterSupervisorCgroup(): string {
  const leaf = supervisorCgroup(readFileSync('/proc/self/cgroup', 'utf8'), readFileSync('/proc/self/mountinfo', 'utf8'));
  mkdirSync(leaf, { recursive: true });
  writeFileSync(path.join(leaf, 'cgroup.procs'), String(process.pid));
  return leaf;
}
