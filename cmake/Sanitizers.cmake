# Sanitizer builds: -DCONFINE_SANITIZE=address,undefined (any list -fsanitize= accepts; ON means
# address,undefined; empty or OFF builds none) and -DCONFINE_FUZZ=ON for the libFuzzer targets
# in fuzz/ (clang only). scripts/sanitize.sh and scripts/fuzz.sh configure these.
#
# Everything of ours is instrumented except two targets:
#  - confine_child, the child half of the clone. It runs in the clone without a C++ runtime it
#    may trust (STYLE.md) and starts the target with CLONE_VM|CLONE_VFORK on a static stack that
#    ASan never registered: instrumented code there would poison and check shadow memory the
#    parent shares and unpoison stack frames ASan does not know, and the sanitizer runtime it
#    would call is exactly the kind of library code the child must not run. Left uninstrumented,
#    tests/child_symbols_test still sees only the libc calls the child really makes.
#  - confine-probe, the stand-in for an untrusted target inside the sandbox: an ASan probe
#    would need the sanitizer runtime inside every test policy's root and reserve terabytes of
#    shadow memory under the memory and rlimit tests, testing ASan rather than confine.
# Both are still built with every warning and hardening flag; only -fsanitize is left out.
set(CONFINE_SANITIZE "" CACHE STRING
    "Sanitizers for -fsanitize=, e.g. address,undefined (empty: none)")
option(CONFINE_FUZZ "Build the libFuzzer targets in fuzz/ (needs clang)" OFF)

set(confine_sanitizers "${CONFINE_SANITIZE}")
if(confine_sanitizers STREQUAL "ON" OR confine_sanitizers STREQUAL "TRUE" OR confine_sanitizers STREQUAL "1")
  set(confine_sanitizers "address,undefined")
elseif(NOT confine_sanitizers)
  set(confine_sanitizers "")
endif()

set(confine_unsanitized "$<IN_LIST:$<TARGET_PROPERTY:NAME>,confine_child;confine-probe>")
set(confine_sanitize_compile "")
set(confine_sanitize_link "")
if(confine_sanitizers)
  # Every report is fatal (no recovery), stacks are readable, and _FORTIFY_SOURCE is off so
  # ASan sees the real memcpy/strcpy calls instead of their __*_chk wrappers.
  list(APPEND confine_sanitize_compile -fsanitize=${confine_sanitizers} -fno-sanitize-recover=all
       -fno-omit-frame-pointer -U_FORTIFY_SOURCE)
  list(APPEND confine_sanitize_link -fsanitize=${confine_sanitizers})
endif()
if(CONFINE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "CONFINE_FUZZ needs clang (libFuzzer): configure with CXX=clang++ CC=clang")
  endif()
  # Coverage feedback for the fuzzer in every library the targets link; fuzz/ adds the
  # libFuzzer driver itself (-fsanitize=fuzzer) to the fuzz executables only.
  list(APPEND confine_sanitize_compile -fsanitize=fuzzer-no-link)
endif()
if(confine_sanitize_compile)
  target_compile_options(confine_flags INTERFACE "$<$<NOT:${confine_unsanitized}>:${confine_sanitize_compile}>")
endif()
if(confine_sanitize_link)
  target_link_options(confine_flags INTERFACE "$<$<NOT:${confine_unsanitized}>:${confine_sanitize_link}>")
endif()
