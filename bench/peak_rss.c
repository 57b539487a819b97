// peak_rss: runs CMD (stdin from FILE when given) and prints its peak RSS in KiB, from wait4:
// the largest of CMD and every descendant it waited for. A small static program, because a
// child's ru_maxrss starts from its parent's RSS at fork (exec keeps the high-water mark), so a
// large parent such as Python would report itself. Build: gcc -O2 -static -o peak_rss peak_rss.c
// Usage: peak_rss [-i FILE] CMD [ARG...]
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  int first = 1;
  const char* input = NULL;
  if (argc > 3 && strcmp(argv[1], "-i") == 0) {
    input = argv[2];
    first = 3;
  }
  if (first >= argc) return 2;
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDWR);
    int in = input ? open(input, O_RDONLY) : devnull;
    if (in < 0 || devnull < 0) _exit(127);
    dup2(in, 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execv(argv[first], argv + first);
    _exit(127);
  }
  int status = 0;
  struct rusage ru;
  if (pid < 0 || wait4(pid, &status, 0, &ru) != pid) return 1;
  printf("%ld\n", ru.ru_maxrss);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
