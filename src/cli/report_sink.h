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
  enum class Format { kJson, kText };
  [[nodiscard]] static Expected<ReportSink> open(const std::optional<std::string>& file,
                                                 std::optional<int> fd, Format format = Format::kJson);
  // Writes the report to every destination (JSON, or report::to_text for a person); returns the
  // first failure.
  [[nodiscard]] Expected<void> write(const report::Report& report);

 private:
  UniqueFd file_;
  int borrowed_file_ = -1;  // --report - or /dev/stdout and the like: one of confine's own
  int fd_ = -1;  // borrowed from the caller; not closed by us
  Format format_ = Format::kJson;
};

}  // namespace confine::cli
