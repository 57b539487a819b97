/* confine-learn-probe: a static binary (no ELF interpreter, no libc opens of its own) for the
 * `confine learn` tests. Each step prints one line; the test reads them and the learned policy.
 *   open-at DIR NAME   openat(open(DIR), NAME): a path relative to a directory descriptor
 *   probe PATH         stat(PATH), expected to fail with ENOENT
 *   thread-open PATH   open(PATH) from a second thread
 *   io-uring           io_uring_setup: "io_uring ENOSYS" when refused
 *   fork-storm N       N forks and pipes with a SIGCHLD handler without SA_RESTART, as a shell
 *                      has, the children exiting meanwhile: "fork-storm eintr=E" (E of the forks
 *                      and pipes failed with EINTR, which fails the step)
 * Exit 0 when every step did what it says. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char* thread_path;
static int thread_result = -1;

static void* thread_main(void* arg) {
  (void)arg;
  int fd = open(thread_path, O_RDONLY | O_CLOEXEC);
  thread_result = fd >= 0 ? 0 : errno;
  if (fd >= 0) close(fd);
  return NULL;
}

static void on_child(int sig) { (void)sig; }

/* Forks with children left to exit on their own (reaped now and then), so SIGCHLD keeps
 * arriving while the next fork or pipe is made; returns how many of those failed with EINTR. */
static int fork_storm(int n) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_child;
  action.sa_flags = 0; /* no SA_RESTART: an interrupted call fails with EINTR */
  sigaction(SIGCHLD, &action, NULL);
  int eintr = 0, running = 0;
  for (int i = 0; i < n; ++i) {
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    if (pid < 0) {
      eintr += errno == EINTR;
    } else {
      ++running;
    }
    int fds[2];
    if (pipe(fds) == 0) {
      close(fds[0]);
      close(fds[1]);
    } else {
      eintr += errno == EINTR;
    }
    while (waitpid(-1, NULL, WNOHANG) > 0) --running;
    while (running > 32) {
      if (wait(NULL) > 0) {
        --running;
      } else if (errno != EINTR) {
        break;
      }
    }
  }
  while (wait(NULL) > 0 || errno == EINTR) {
  }
  signal(SIGCHLD, SIG_DFL);
  return eintr;
}

int main(int argc, char** argv) {
  int failed = 0;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "open-at") == 0 && i + 2 < argc) {
      int dir = open(argv[i + 1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      int fd = dir >= 0 ? openat(dir, argv[i + 2], O_RDONLY | O_CLOEXEC) : -1;
      printf("open-at %s\n", fd >= 0 ? "ok" : strerror(errno));
      failed |= fd < 0;
      if (fd >= 0) close(fd);
      if (dir >= 0) close(dir);
      i += 2;
    } else if (strcmp(argv[i], "probe") == 0 && i + 1 < argc) {
      struct stat st;
      int rc = stat(argv[i + 1], &st);
      printf("probe %s\n", rc == 0 ? "exists" : strerror(errno));
      failed |= rc == 0;
      i += 1;
    } else if (strcmp(argv[i], "thread-open") == 0 && i + 1 < argc) {
      pthread_t t;
      thread_path = argv[i + 1];
      if (pthread_create(&t, NULL, thread_main, NULL) != 0 || pthread_join(t, NULL) != 0) thread_result = -1;
      printf("thread-open %s\n", thread_result == 0 ? "ok" : "failed");
      failed |= thread_result != 0;
      i += 1;
    } else if (strcmp(argv[i], "fork-storm") == 0 && i + 1 < argc) {
      int eintr = fork_storm(atoi(argv[i + 1]));
      printf("fork-storm eintr=%d\n", eintr);
      failed |= eintr != 0;
      i += 1;
    } else if (strcmp(argv[i], "io-uring") == 0) {
      unsigned char params[120];
      memset(params, 0, sizeof params);
      long fd = syscall(SYS_io_uring_setup, 1, params);
      printf("io_uring %s\n", fd >= 0 ? "allowed" : errno == ENOSYS ? "ENOSYS" : strerror(errno));
      if (fd >= 0) close((int)fd);
    } else {
      fprintf(stderr, "confine-learn-probe: unknown step %s\n", argv[i]);
      return 2;
    }
  }
  fflush(stdout);
  return failed;
}
