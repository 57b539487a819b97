// Where the JSON report goes: --report FILE and/or --report-fd FD. Opened and checked before
// anything runs, so a bad destination fails the run up front instead of losing the report.
#pragma once

#include <optional>
#include <string>

#include "confine/error.h"
#include "confine/fd.h"
#include "confine/report.h"

namespace confine::cli {

class ReportSink {
 public:
  [[nodiscard]] static Expected<ReportSink> open(const std::optional<std::string>& file,
                                                 std::optional<int> fd);
  // Writes the report to every destination; returns the first failure.
  [[nodiscard]] Expected<void> write(const report::Report& report);

 private:
  UniqueFd file_;
  int borrowed_file_ = -1;  // --report - or /dev/stdout and the like: one of confine's own
  int fd_ = -1;  // borrowed from the caller; not closed by us
};

}  // namespace confine::cli
