# sockfault_add_fuzz_target: a fuzz target of yours whose input is a fault schedule
# (<sockfault/fuzz.h>) and then your own bytes, with ctest tests that replay its corpus and
# fuzz it briefly, the shim preloaded.
#
#   sockfault_add_fuzz_target(NAME <name> SOURCES <src>...
#     [LIBS <lib>...]          libraries the target links (the code under test)
#     [CORPUS <dir>...]        inputs replayed by <name>_replay and seeds of <name>_smoke
#     [DICT <file>]            a libFuzzer / AFL++ dictionary for the smoke run
#     [SMOKE_SECONDS <s>]      length of <name>_smoke (default 5; 0: no smoke test)
#     [LABELS <label>...])     ctest labels (default: sockfault-fuzz)
#
# The engine follows the C compiler: clang builds a libFuzzer target (-fsanitize=fuzzer),
# afl-clang-fast an AFL++ persistent-mode target (its -fsanitize=fuzzer links libAFLDriver),
# any other compiler a replay-only program (SockFault::fuzz_main: runs each input once), so
# the corpus is replayed in every build. SOURCES are instrumented for coverage; instrument a
# library under test with target_compile_options(lib PRIVATE ${SOCKFAULT_FUZZ_COVERAGE_FLAGS}).
# SOCKFAULT_FUZZ_ENGINE says which engine (libfuzzer, afl or none). Sanitizers are yours to
# add (CMAKE_C_FLAGS=-fsanitize=address,undefined).
#
# Tests: <name>_replay runs the target once on every file of CORPUS (no fuzzing: a fixed
# crash stays fixed); <name>_smoke fuzzes for SMOKE_SECONDS from CORPUS into a scratch
# directory (libFuzzer: -max_total_time; AFL++: afl-fuzz -V, found beside the compiler or as
# SOCKFAULT_AFL_FUZZ) and fails unless the fuzzer ran inputs and found no crash, printing the
# `sockfault run -e …` reproducer of one. The replay-only build has no smoke test. Both
# preload the shim (LD_PRELOAD=$<TARGET_FILE:SockFault::shim>; AFL++: AFL_PRELOAD).
# A longer campaign: sockfault-fuzz $<TARGET_FILE:<name>> (installed beside sockfault).
include_guard(GLOBAL)
include(${CMAKE_CURRENT_LIST_DIR}/SockFaultExplore.cmake) # _sockfault_check_args

set(_SOCKFAULT_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})

# The engine, once per project: from the compiler, checked by a test link.
function(_sockfault_fuzz_engine out)
  if(DEFINED SOCKFAULT_FUZZ_ENGINE)
    set(${out} ${SOCKFAULT_FUZZ_ENGINE} PARENT_SCOPE)
    return()
  endif()
  set(engine none)
  get_filename_component(cc "${CMAKE_C_COMPILER}" NAME)
  if(CMAKE_C_COMPILER_ID MATCHES "Clang")
    include(CheckCSourceCompiles)
    set(CMAKE_REQUIRED_FLAGS -fsanitize=fuzzer)
    check_c_source_compiles(
      "#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }"
      SOCKFAULT_FUZZ_LINKS)
    unset(CMAKE_REQUIRED_FLAGS)
    if(SOCKFAULT_FUZZ_LINKS)
      set(engine libfuzzer)
      if(cc MATCHES "^afl-")
        set(engine afl)
      endif()
    endif()
  endif()
  set(SOCKFAULT_FUZZ_ENGINE ${engine} CACHE STRING "Fuzzing engine of sockfault_add_fuzz_target (libfuzzer, afl, none)")
  if(engine STREQUAL "none")
    set(SOCKFAULT_FUZZ_COVERAGE_FLAGS "" CACHE STRING "Coverage flags for code under fuzz")
  else()
    set(SOCKFAULT_FUZZ_COVERAGE_FLAGS -fsanitize=fuzzer-no-link CACHE STRING "Coverage flags for code under fuzz")
  endif()
  message(STATUS "sockfault fuzz targets: engine ${engine} (${cc})")
  set(${out} ${engine} PARENT_SCOPE)
endfunction()
get_property(_sf_langs GLOBAL PROPERTY ENABLED_LANGUAGES)
if("C" IN_LIST _sf_langs) # cached after the first configure
  _sockfault_fuzz_engine(_sf_engine)
endif()

function(sockfault_add_fuzz_target)
  cmake_parse_arguments(PARSE_ARGV 0 SF "" "NAME;DICT;SMOKE_SECONDS" "SOURCES;LIBS;CORPUS;LABELS")
  _sockfault_check_args(sockfault_add_fuzz_target NAME SOURCES)
  # The package's targets, or sockfault's own inside its build tree.
  set(helper SockFault::fuzz)
  set(replay_main SockFault::fuzz_main)
  set(shim SockFault::shim)
  if(NOT TARGET SockFault::fuzz AND TARGET sockfault_fuzz)
    set(helper sockfault_fuzz)
    set(replay_main sockfault_fuzz_main)
    set(shim sockfault)
  endif()
  if(NOT TARGET ${helper} OR NOT TARGET ${shim})
    message(FATAL_ERROR "sockfault_add_fuzz_target(${SF_NAME}): SockFault::fuzz is not "
                        "defined; call find_package(SockFault REQUIRED) first")
  endif()
  foreach(dir IN LISTS SF_CORPUS)
    if(NOT IS_DIRECTORY "${dir}")
      message(FATAL_ERROR "sockfault_add_fuzz_target(${SF_NAME}): CORPUS ${dir} is not a directory")
    endif()
  endforeach()

  _sockfault_fuzz_engine(engine)
  add_executable(${SF_NAME} ${SF_SOURCES})
  target_link_libraries(${SF_NAME} PRIVATE ${SF_LIBS} ${helper})
  if(engine STREQUAL "none")
    target_link_libraries(${SF_NAME} PRIVATE ${replay_main})
  else()
    target_compile_options(${SF_NAME} PRIVATE -fsanitize=fuzzer)
    target_link_options(${SF_NAME} PRIVATE -fsanitize=fuzzer)
  endif()

  if(NOT SF_LABELS)
    set(SF_LABELS sockfault-fuzz)
  endif()
  set(env "LD_PRELOAD=$<TARGET_FILE:${shim}>")
  set(run ${CMAKE_COMMAND} -DEXE=$<TARGET_FILE:${SF_NAME}> -DENGINE=${engine} "-DCORPUS=${SF_CORPUS}")
  if(SF_CORPUS)
    add_test(NAME ${SF_NAME}_replay COMMAND ${run} -DMODE=replay -P ${_SOCKFAULT_FUZZ_DIR}/SockFaultFuzzRun.cmake)
    set_tests_properties(${SF_NAME}_replay PROPERTIES LABELS "${SF_LABELS}" TIMEOUT 300
                         ENVIRONMENT "${env}")
  endif()
  if(NOT DEFINED SF_SMOKE_SECONDS)
    set(SF_SMOKE_SECONDS 5)
  endif()
  if(NOT engine STREQUAL "none" AND SF_SMOKE_SECONDS GREATER 0)
    set(fuzzer)
    if(engine STREQUAL "afl") # afl-fuzz runs the target, with the shim in AFL_PRELOAD
      get_filename_component(ccdir "${CMAKE_C_COMPILER}" DIRECTORY)
      find_program(SOCKFAULT_AFL_FUZZ afl-fuzz HINTS ${ccdir})
      if(NOT SOCKFAULT_AFL_FUZZ)
        message(FATAL_ERROR "sockfault_add_fuzz_target(${SF_NAME}): afl-fuzz not found beside "
                            "${CMAKE_C_COMPILER} nor in PATH (set SOCKFAULT_AFL_FUZZ, or SMOKE_SECONDS 0)")
      endif()
      set(fuzzer -DAFL_FUZZ=${SOCKFAULT_AFL_FUZZ} -DSHIM=$<TARGET_FILE:${shim}>)
      set(env "")
    endif()
    add_test(NAME ${SF_NAME}_smoke COMMAND ${run} -DMODE=smoke -DSECONDS=${SF_SMOKE_SECONDS}
             -DDICT=${SF_DICT} -DWORK=${CMAKE_CURRENT_BINARY_DIR}/${SF_NAME}-smoke ${fuzzer}
             -P ${_SOCKFAULT_FUZZ_DIR}/SockFaultFuzzRun.cmake)
    math(EXPR limit "${SF_SMOKE_SECONDS} * 4 + 120")
    set_tests_properties(${SF_NAME}_smoke PROPERTIES LABELS "${SF_LABELS}" TIMEOUT ${limit}
                         ENVIRONMENT "${env}")
  endif()
endfunction()
