// floor_plus.c: the kernel floor of a launch (../shared/bench/floor.c) plus, one flag at a time,
// the kernel work of the protections confine's default policy adds to it. It answers "how much of
// confine's gap to the floor is the kernel doing what the policy asks, and how much is confine?"
// (issue 16). A benchmark tool: it launches, it asserts nothing; scripts/bench-floor-plus.sh
// times it with each protection added in turn, side by side.
//
// Like floor.c: clone3 into user, mount, pid, net, ipc, uts and cgroup namespaces, id maps, a
// tmpfs root with /usr read-only, the usual symlinks, /tmp, /dev binds, a fresh /proc,
// pivot_root, capabilities dropped, no_new_privs, an 80-rule filter, execve, wait. Then:
//   --cgroup PARENT  a new cgroup leaf per launch (mkdir, clone3 CLONE_INTO_CGROUP, rmdir after)
//   --init           pid 1 stays and forks the target (confine's init, which reaps and kills)
//   --lo             loopback up in the new network namespace
//   --etc            /etc/ld.so.cache and /etc/alternatives bound read-only, /proc/{acpi,keys,
//                    interrupts,timer_list} masked (default.toml's extra mounts)
//   --landlock       a Landlock ruleset over the new root (what the mounts allow), restrict_self
//   --bpf FILE       this filter (raw struct sock_filter, e.g. confine's compiled default)
//                    instead of the 80 rules
//   --repeat N       N launches from this one process, as a batch worker makes them; prints the
//                    median launch in microseconds
//   --notify         the filter is installed with a listener the target hands to this process
//                    over a socket; its SECCOMP_RET_USER_NOTIF calls (confine's exit_group and
//                    execve) are answered "continue" here, as confine's reaper does
// Build: gcc -O2 -static -o floor_plus bench/floor_plus.c
// Run:   floor_plus [flags] CMD [ARG...]
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *m) { perror(m); _exit(125); }
static void wr(const char *p, const char *s) {
  int fd = open(p, O_WRONLY);
  if (fd < 0 || write(fd, s, strlen(s)) < 0) die(p);
  close(fd);
}
static void bind_ro(const char *src, const char *dst) {
  if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL)) die(src);
  if (mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_REC, NULL)) die(dst);
}

static int sync_pipe[2];
static int handoff[2];  // the listener travels from the target to this process
static char **argv_cmd;
static int opt_init, opt_lo, opt_etc, opt_landlock, opt_notify;
static struct sock_filter *bpf;
static unsigned short bpf_len;
enum { kHandoffFd = 1023 };

static void landlock(void) {
  const __u64 read = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
  const __u64 write = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
                      LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SYM;
  struct landlock_ruleset_attr attr = {.handled_access_fs = read | write};
  int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
  if (rs < 0) die("landlock_create_ruleset");
  const struct { const char *path; __u64 access; } rules[] = {
      {"/usr", read}, {"/etc", LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR},
      {"/tmp", read | write}, {"/dev", LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE},
      {"/proc", LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR}};
  for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
    struct landlock_path_beneath_attr pb = {.allowed_access = rules[i].access};
    pb.parent_fd = open(rules[i].path, O_PATH | O_CLOEXEC);
    if (pb.parent_fd < 0) die(rules[i].path);
    if (syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0)) die("landlock_add_rule");
    close(pb.parent_fd);
  }
  if (syscall(SYS_landlock_restrict_self, rs, 0)) die("landlock_restrict_self");
  close(rs);
}

// The target's last steps: the filter (and its listener handed over), then execve.
static void target(void) {
  struct sock_filter *f = bpf;
  unsigned short len = bpf_len;
  if (!f) {  // floor.c's filter: 80 compares against numbers /bin/true never uses, then allow
    f = calloc(80 * 2 + 2, sizeof *f);
    int k = 0;
    f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    for (int i = 0; i < 80; i++) {
      f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1000 + i, 0, 1);
      f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    }
    f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    len = (unsigned short)k;
  }
  struct sock_fprog prog = {.len = len, .filter = f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) die("nnp");
  if (opt_landlock) landlock();
  long listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, opt_notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0, &prog);
  if (listener < 0) die("seccomp");
  if (opt_notify) {
    char data = 0;
    char control[CMSG_SPACE(sizeof(int))] = {0};
    struct iovec iov = {&data, 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    int fd = (int)listener;
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    if (sendmsg(kHandoffFd, &msg, 0) != 1) die("sendmsg listener");
    close(fd);
    close(kHandoffFd);
  }
  execv(argv_cmd[0], argv_cmd);
  die("execv");
}

static int child(void) {
  char c;
  close(sync_pipe[1]);
  if (read(sync_pipe[0], &c, 1) != 0) {}
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0)) die("keepcaps");
  if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) die("setres");
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  if (syscall(SYS_capget, &h, d)) die("capget");
  d[0].effective = d[0].permitted;
  d[1].effective = d[1].permitted;
  if (syscall(SYS_capset, &h, d)) die("capset");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) die("private");
  if (mount("tmpfs", "/tmp", "tmpfs", 0, "size=1m")) die("root tmpfs");
  const char *root = "/tmp";
  char p[256];
  const char *dirs[] = {"usr", "tmp", "dev", "proc", "etc", NULL};
  for (int i = 0; dirs[i]; i++) {
    snprintf(p, sizeof p, "%s/%s", root, dirs[i]);
    mkdir(p, 0755);
  }
  snprintf(p, sizeof p, "%s/usr", root);
  bind_ro("/usr", p);
  const char *links[][2] = {{"usr/bin", "bin"}, {"usr/lib", "lib"}, {"usr/lib64", "lib64"}, {"usr/sbin", "sbin"}};
  for (int i = 0; i < 4; i++) {
    snprintf(p, sizeof p, "%s/%s", root, links[i][1]);
    if (symlink(links[i][0], p)) die("symlink");
  }
  snprintf(p, sizeof p, "%s/tmp", root);
  if (mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV, "size=64m")) die("tmp");
  const char *devs[] = {"null", "zero", "urandom", NULL};
  for (int i = 0; devs[i]; i++) {
    char s[64];
    snprintf(s, sizeof s, "/dev/%s", devs[i]);
    snprintf(p, sizeof p, "%s/dev/%s", root, devs[i]);
    int fd = open(p, O_CREAT | O_WRONLY, 0644);
    if (fd < 0) die(p);
    close(fd);
    if (mount(s, p, NULL, MS_BIND, NULL)) die(s);
  }
  snprintf(p, sizeof p, "%s/proc", root);
  if (mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) die("proc");
  if (opt_etc) {
    snprintf(p, sizeof p, "%s/etc/ld.so.cache", root);
    int fd = open(p, O_CREAT | O_WRONLY, 0644);
    if (fd < 0) die(p);
    close(fd);
    bind_ro("/etc/ld.so.cache", p);
    snprintf(p, sizeof p, "%s/etc/alternatives", root);
    mkdir(p, 0755);
    bind_ro("/etc/alternatives", p);
    snprintf(p, sizeof p, "%s/proc/acpi", root);
    if (mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0,mode=000")) die("mask acpi");
    const char *files[] = {"keys", "interrupts", "timer_list", NULL};
    for (int i = 0; files[i]; i++) {
      snprintf(p, sizeof p, "%s/proc/%s", root, files[i]);
      if (mount("/dev/null", p, NULL, MS_BIND, NULL)) die(p);
      if (mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL)) die(p);
    }
  }
  if (chdir(root)) die("chdir");
  if (syscall(SYS_pivot_root, ".", ".")) die("pivot_root");
  if (umount2(".", MNT_DETACH)) die("umount old");
  if (chdir("/")) die("chdir /");
  if (sethostname("sandbox", 7)) die("hostname");
  if (opt_lo) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {0};
    strcpy(ifr.ifr_name, "lo");
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr)) die("lo flags");
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr)) die("lo up");
    close(s);
  }
  memset(d, 0, sizeof d);
  if (syscall(SYS_capset, &h, d)) die("capset drop");
  if (!opt_init) target();
  // pid 1: forks the target, waits for it, ends with its status (the namespace goes with it).
  pid_t t = fork();
  if (t < 0) die("fork target");
  if (t == 0) target();
  int st;
  if (waitpid(t, &st, 0) < 0) die("wait target");
  _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

// Answers every notification "continue" until the job ends (confine's reaper decides each one).
static void supervise(int listener, int pidfd) {
  struct seccomp_notif_sizes sizes;
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes)) die("notif sizes");
  struct seccomp_notif *req = calloc(1, sizes.seccomp_notif);
  struct seccomp_notif_resp *resp = calloc(1, sizes.seccomp_notif_resp);
  for (;;) {
    struct pollfd fds[2] = {{listener, POLLIN, 0}, {pidfd, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) die("poll");
    if (fds[0].revents & POLLIN) {
      memset(req, 0, sizes.seccomp_notif);
      if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) == 0) {
        memset(resp, 0, sizes.seccomp_notif_resp);
        resp->id = req->id;
        resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        (void)ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
      }
    }
    if ((fds[0].revents & (POLLHUP | POLLERR)) || (fds[1].revents & POLLIN)) return;
  }
}

static int receive_fd(int sock) {
  char data;
  char control[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {&data, 1};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1) return -1;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

static int by_value(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

// One launch: the namespaces and the child's setup, the maps, the supervisor, the wait.
static int launch_once(const char *cgroup_parent) {
  if (pipe2(sync_pipe, O_CLOEXEC)) die("pipe");
  if (opt_notify) {
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, handoff)) die("socketpair");
    if (dup3(handoff[1], kHandoffFd, 0) < 0) die("dup3 handoff");  // inherited, closed by the target
    close(handoff[1]);
  }
  char leaf[512] = "";
  int leaf_fd = -1;
  if (cgroup_parent) {
    mkdir(cgroup_parent, 0755);
    snprintf(leaf, sizeof leaf, "%s/fp-%d", cgroup_parent, getpid());
    if (mkdir(leaf, 0755)) die(leaf);
    leaf_fd = open(leaf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (leaf_fd < 0) die(leaf);
  }
  struct clone_args ca = {0};
  int pidfd = -1;
  ca.flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP | CLONE_NEWNET |
             CLONE_PIDFD | (leaf_fd >= 0 ? CLONE_INTO_CGROUP : 0);
  ca.pidfd = (__u64)(uintptr_t)&pidfd;
  ca.cgroup = leaf_fd >= 0 ? (__u64)leaf_fd : 0;
  ca.exit_signal = SIGCHLD;
  long pid = syscall(SYS_clone3, &ca, sizeof ca);
  if (pid < 0) die("clone3");
  if (pid == 0) _exit(child());
  if (opt_notify) close(kHandoffFd);
  char p[64], m[64];
  snprintf(p, sizeof p, "/proc/%ld/setgroups", pid);
  wr(p, "deny");
  snprintf(p, sizeof p, "/proc/%ld/uid_map", pid);
  snprintf(m, sizeof m, "1000 %d 1\n", getuid() ? (int)getuid() : 65534);
  wr(p, m);
  snprintf(p, sizeof p, "/proc/%ld/gid_map", pid);
  snprintf(m, sizeof m, "1000 %d 1\n", getgid() ? (int)getgid() : 65534);
  wr(p, m);
  close(sync_pipe[1]);
  if (opt_notify) {
    int listener = receive_fd(handoff[0]);
    if (listener < 0) die("receive listener");
    supervise(listener, pidfd);
    close(listener);
  }
  int st;
  if (waitpid((pid_t)pid, &st, 0) < 0) die("wait");
  if (leaf_fd >= 0) {
    close(leaf_fd);
    while (rmdir(leaf) && errno == EBUSY) usleep(100);
  }
  close(sync_pipe[0]);
  close(pidfd);
  if (opt_notify) close(handoff[0]);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv) {
  const char *cgroup_parent = NULL;
  int repeat = 0;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (!strcmp(argv[i], "--cgroup") && i + 1 < argc) cgroup_parent = argv[++i];
    else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) repeat = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--init")) opt_init = 1;
    else if (!strcmp(argv[i], "--lo")) opt_lo = 1;
    else if (!strcmp(argv[i], "--etc")) opt_etc = 1;
    else if (!strcmp(argv[i], "--landlock")) opt_landlock = 1;
    else if (!strcmp(argv[i], "--notify")) opt_notify = 1;
    else if (!strcmp(argv[i], "--bpf") && i + 1 < argc) {
      int fd = open(argv[++i], O_RDONLY);
      struct stat st;
      if (fd < 0 || fstat(fd, &st) || st.st_size == 0 || st.st_size % sizeof(struct sock_filter)) die("bpf file");
      bpf = malloc((size_t)st.st_size);
      if (read(fd, bpf, (size_t)st.st_size) != st.st_size) die("bpf read");
      bpf_len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
      close(fd);
    } else {
      fprintf(stderr, "floor_plus: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  if (i >= argc) {
    fprintf(stderr, "usage: floor_plus [--cgroup PARENT] [--init] [--lo] [--etc] [--landlock] [--bpf FILE] [--notify] CMD...\n");
    return 2;
  }
  argv_cmd = argv + i;
  if (repeat <= 0) return launch_once(cgroup_parent);
  // --repeat N: N launches from this one process, as a batch worker makes them (no launcher
  // exec per launch); prints the median launch in microseconds.
  double *us = calloc((size_t)repeat, sizeof *us);
  for (int r = 0; r < repeat; r++) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int rc = launch_once(cgroup_parent);
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (rc != 0) {
      fprintf(stderr, "floor_plus: launch %d ended %d\n", r, rc);
      return rc;
    }
    us[r] = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
  }
  qsort(us, (size_t)repeat, sizeof *us, by_value);
  printf("%.0f\n", us[repeat / 2]);
  return 0;
}
