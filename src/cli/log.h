// confine's own lines for a person: where they go and how they look.
//
// Every line starts with "confine: "; errors continue "error: ", warnings "warning: ". They go to
// confine's stderr (where the job's relayed stderr goes too), or with --log-fd N / --log-file
// PATH somewhere of their own, so a program capturing the job's stderr gets the job's bytes
// only. --quiet keeps errors only. The logger is synchronous and single-threaded: an async
// logger's thread would make the launcher refuse to clone (launch/run.cpp).
#pragma once

#include <string>

#include "commands.h"
#include "confine/error.h"

namespace confine::cli {

// Installs spdlog's default logger for `options`. Until it succeeds (and when it fails) lines go
// to stderr, so the error saying why the log destination is unusable is still seen.
[[nodiscard]] Expected<void> setup_logging(const LogOptions& options);

// The descriptor confine's lines go to now (a batch worker keeps requests from naming it).
[[nodiscard]] int log_descriptor();

// A line about what happened to the job, with no severity word ("confine: wall time limit 2s
// reached; job killed"): shown at the default level (kNotice; hidden by --quiet and --log-level
// error or off), or from --log-level info on (kInfo).
enum class Said { kNotice, kInfo };
void say(const std::string& text, Said level = Said::kNotice);

// An error of confine's own, shown unless --log-level off: "confine: error: TEXT".
void error(const std::string& text);
void warning(const std::string& text);

}  // namespace confine::cli
