#include "report_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>

#include "confine/safe_path.h"

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

// The descriptor `name` means without opening anything: "-" (stdout), /dev/stdout, /dev/stderr,
// /dev/fd/N and /proc/self/fd/N. Opening those paths would go through /proc's magic links.
std::optional<int> own_descriptor(const std::string& name) {
  if (name == "-" || name == "/dev/stdout") return 1;
  if (name == "/dev/stderr") return 2;
  for (const char* prefix : {"/dev/fd/", "/proc/self/fd/"}) {
    const std::string p(prefix);
    if (name.size() > p.size() && name.compare(0, p.size(), p) == 0) {
      const std::string digits = name.substr(p.size());
      if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
      return std::stoi(digits);
    }
  }
  return std::nullopt;
}

}  // namespace

Expected<ReportSink> ReportSink::open(const std::optional<std::string>& file, std::optional<int> fd, Format format) {
  ReportSink sink;
  sink.format_ = format;
  if (file) {
    // "-" and the names of confine's own descriptors write there, as most tools read them.
    if (auto own = own_descriptor(*file)) {
      if (::fcntl(*own, F_GETFL) < 0) return fail(ErrorCode::kInvalidArgument, "--report " + *file + ": fd " + std::to_string(*own) + " is not open");
      sink.borrowed_file_ = *own;
    } else {
      // Opened before anything runs, and never through a symlink or directory another user
      // could have planted: a report path inside an old job directory must not let that job
      // choose where root writes (safe_path.h). A FIFO without a reader fails instead of
      // hanging confine before the run.
      auto opened = safe_path::open_for_writing(*file, 0644);
      if (!opened) return unexpected(std::move(opened.error()).add_context("open report file " + *file));
      sink.file_ = std::move(*opened);
    }
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
  // No --report and no --report-fd: nothing to render. Rendering the JSON anyway cost every
  // plain `confine run` about as much as parsing its command line.
  if (!file_ && borrowed_file_ < 0 && fd_ < 0) return {};
  const std::string text =
      format_ == Format::kText ? report::to_text(report) : report::to_json_text(report, /*pretty=*/false) + "\n";
  if (file_) {
    if (auto r = write_all(file_.get(), text); !r) return r;
  }
  if (borrowed_file_ >= 0) {
    if (auto r = write_all(borrowed_file_, text); !r) return r;
  }
  if (fd_ >= 0) {
    if (auto r = write_all(fd_, text); !r) return r;
  }
  return {};
}

}  // namespace confine::cli
