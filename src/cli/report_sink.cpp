#include "report_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace confine::cli {
namespace {

Expected<void> write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno(errno, "write report");
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace

Expected<ReportSink> ReportSink::open(const std::optional<std::string>& file, std::optional<int> fd) {
  ReportSink sink;
  if (file) {
    // O_NOFOLLOW: a symlink planted at the report path must not redirect confine's write.
    int f = ::open(file->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (f < 0) return fail_errno(errno, "open report file " + *file);
    sink.file_.reset(f);
  }
  if (fd) {
    if (*fd < 0 || ::fcntl(*fd, F_GETFL) < 0) {
      return fail(ErrorCode::kInvalidArgument, "--report-fd " + std::to_string(*fd) + " is not an open file descriptor");
    }
    // The report fd must not leak into the sandbox; the child closes every fd above 2 anyway,
    // and close-on-exec also keeps it from any other program confine might start. Not on 0, 1
    // or 2: the flag belongs to the caller's descriptor, which `--report-fd 1` shares with
    // confine's own stdout.
    if (*fd > 2) (void)::fcntl(*fd, F_SETFD, FD_CLOEXEC);
    sink.fd_ = *fd;
  }
  return sink;
}

Expected<void> ReportSink::write(const report::Report& report) {
  const std::string text = report::to_json_text(report, /*pretty=*/false) + "\n";
  if (file_) {
    if (auto r = write_all(file_.get(), text); !r) return r;
  }
  if (fd_ >= 0) {
    if (auto r = write_all(fd_, text); !r) return r;
  }
  return {};
}

}  // namespace confine::cli
