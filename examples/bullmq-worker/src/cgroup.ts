// For a worker run as a systemd service with Delegate=yes (systemd/confine-worker@.service):
// the service's cgroup is the worker's to manage, so the jobs' cgroups can live inside it, where
// the unit's own limits (MemoryMax=, TasksMax=, CPUQuota=) cap all of them together and
// `systemctl stop` reaches every one of them.
//
// cgroup v2 allows controllers to be enabled for child cgroups only in a cgroup that holds no
// processes. So the worker moves itself (and with it every confine it starts later) into
// <service>/worker, and points confine at <service>/jobs for the jobs' leaves
// (CONFINE_CGROUP_PARENT, read by confine when it runs as root; docs/cgroups.md).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface DelegatedLayout {
  /** The cgroup the worker moves into, and the parent of the jobs' leaves (absolute paths). */
  worker: string;
  jobs: string;
}

/** Where the cgroup2 hierarchy is mounted, from /proc/self/mountinfo; null if nowhere. */
export function cgroup2Mount(mountinfo: string): string | null {
  for (const line of mountinfo.split('\n')) {
    const [before, after] = line.split(' - ');
    if (after?.startsWith('cgroup2 ')) return before?.split(' ')[4] ?? null;
  }
  return null;
}

/** The layout inside the worker's own cgroup, from /proc/self/cgroup and /proc/self/mountinfo. */
export function delegatedLayout(procSelfCgroup: string, mountinfo: string): DelegatedLayout {
  const own = procSelfCgroup.split('\n').find((l) => l.startsWith('0::'))?.slice(3);
  const mount = cgroup2Mount(mountinfo);
  if (!own || !mount) throw new Error('no cgroup v2 hierarchy: a delegated cgroup needs a unified (cgroup v2) host');
  if (own === '/') throw new Error('the worker runs in the root cgroup: start it as a systemd service with Delegate=yes');
  // Already inside <service>/worker (adopted once before): the service is the parent.
  const service = path.basename(own) === 'worker' ? path.dirname(own) : own;
  return { worker: path.join(mount, service, 'worker'), jobs: path.join(mount, service, 'jobs') };
}

/** Moves this process into <service>/worker and sets CONFINE_CGROUP_PARENT for its confines. */
export function adoptDelegatedCgroup(): DelegatedLayout {
  const layout = delegatedLayout(readFileSync('/proc/self/cgroup', 'utf8'), readFileSync('/proc/self/mountinfo', 'utf8'));
  mkdirSync(layout.worker, { recursive: true });
  writeFileSync(path.join(layout.worker, 'cgroup.procs'), String(process.pid));
  process.env['CONFINE_CGROUP_PARENT'] = layout.jobs;
  return layout;
}
