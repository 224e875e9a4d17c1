# sockfault_add_explore_test: one ctest test that runs `sockfault explore` on a program of
# yours, so a regression in its socket error handling fails CI.
#
#   sockfault_add_explore_test(NAME <name> COMMAND <prog> [<arg>...]
#     [CHECK <cmd> [<arg>...]]     a server's health check, run by `sh -c` ({port} filled in)
#     [ERRNOS <errno>... | core]   errnos to inject (default: each call's documented ones)
#     [CALLS <call>...]            calls to fail (default: every call the program makes)
#     [FAIL_ON <class>...]         outcome classes that fail the test (default: explore's)
#     [TIMEOUT <s>] [JOBS <n>] [MAX_PER_CALL <n>] [BY_SITE] [DEPTH <n>] [BUDGET <n>]
#     [EXPECT_STATUS <n>]          PROG's normal exit status, when it is not a server
#     [REQUIRE_POINTS <n>]         fail when explore finds fewer failure points (default 1:
#                                  a program that made none of the calls tested nothing)
#     [QUIET]                      no matrix in the test's output
#     [EXPLORE_ARGS <arg>...]      any other `sockfault explore` options, verbatim
#     [REPORT_DIR <dir>]           where <name>.json and <name>.junit.xml go
#                                  (default: ${CMAKE_CURRENT_BINARY_DIR}/sockfault)
#     [WORKING_DIRECTORY <dir>] [LABELS <label>...] [TEST_TIMEOUT <s>])
#
# <prog> and the first word of CHECK may be target names: they become the targets' files.
# In <arg>s and CHECK, {port} is the loopback port explore chose for the run. CHECK with one
# word is a shell command as written ("curl -sf http://127.0.0.1:{port}/"); with several,
# each word is one argument and is quoted for the shell. The test passes when explore exits
# 0 (no findings) and fails on findings (1) or when explore could not judge (2 and above:
# 8 most points not reached, 9 fewer points than REQUIRE_POINTS);
# the reports stay in REPORT_DIR for CI to publish (the JUnit file per test, the JSON for
# `sockfault replay`). Needs SOCKFAULT_EXECUTABLE (find_package(SockFault) sets it).
include_guard(GLOBAL)

# One word for `sh -c`: kept as is when it is plainly safe, else in single quotes.
function(_sockfault_shell_quote out word)
  if(word MATCHES "^[A-Za-z0-9_./:=,+@%{}-]+$")
    set(${out} "${word}" PARENT_SCOPE)
  else()
    string(REPLACE "'" "'\\''" word "${word}")
    set(${out} "'${word}'" PARENT_SCOPE)
  endif()
endfunction()

# After cmake_parse_arguments(… SF …) in FN: no unknown argument, every REQUIRED one given.
macro(_sockfault_check_args fn)
  if(SF_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "${fn}: unknown arguments: ${SF_UNPARSED_ARGUMENTS}")
  endif()
  foreach(_sf_req ${ARGN})
    if(NOT SF_${_sf_req})
      string(REPLACE ";" " and " _sf_all "${ARGN}")
      message(FATAL_ERROR "${fn}: ${_sf_all} are required")
    endif()
  endforeach()
endmacro()

function(sockfault_add_explore_test)
  cmake_parse_arguments(PARSE_ARGV 0 SF "BY_SITE;QUIET"
    "NAME;TIMEOUT;JOBS;MAX_PER_CALL;DEPTH;BUDGET;EXPECT_STATUS;REQUIRE_POINTS;REPORT_DIR;WORKING_DIRECTORY;TEST_TIMEOUT"
    "COMMAND;CHECK;ERRNOS;CALLS;FAIL_ON;EXPLORE_ARGS;LABELS")
  _sockfault_check_args(sockfault_add_explore_test NAME COMMAND)
  if(NOT SOCKFAULT_EXECUTABLE)
    message(FATAL_ERROR "sockfault_add_explore_test(${SF_NAME}): SOCKFAULT_EXECUTABLE is not "
                        "set; call find_package(SockFault REQUIRED) first")
  endif()
  if(NOT SF_REPORT_DIR)
    set(SF_REPORT_DIR ${CMAKE_CURRENT_BINARY_DIR}/sockfault)
  endif()
  file(MAKE_DIRECTORY ${SF_REPORT_DIR})

  set(argv ${SOCKFAULT_EXECUTABLE} explore)
  if(SF_CHECK)
    list(GET SF_CHECK 0 first)
    list(LENGTH SF_CHECK nwords)
    if(TARGET "${first}")
      # A target's file lies in the build tree: quoted only if the tree's path needs it.
      _sockfault_shell_quote(q "${CMAKE_BINARY_DIR}")
      if("${q}" STREQUAL "${CMAKE_BINARY_DIR}")
        set(first "$<TARGET_FILE:${first}>")
      else()
        set(first "'$<TARGET_FILE:${first}>'")
      endif()
    elseif(nwords GREATER 1)
      _sockfault_shell_quote(first "${first}")
    endif()
    set(check "${first}")
    if(nwords GREATER 1)
      list(SUBLIST SF_CHECK 1 -1 rest)
      foreach(word IN LISTS rest)
        _sockfault_shell_quote(q "${word}")
        string(APPEND check " ${q}")
      endforeach()
    endif()
    list(APPEND argv --check "${check}")
  endif()
  # Said explicitly, so that the test never passes on an exploration of nothing, whatever
  # the default of the sockfault it runs.
  if(NOT DEFINED SF_REQUIRE_POINTS)
    set(SF_REQUIRE_POINTS 1)
  endif()
  foreach(opt TIMEOUT JOBS MAX_PER_CALL DEPTH BUDGET EXPECT_STATUS REQUIRE_POINTS)
    if(DEFINED SF_${opt})
      string(TOLOWER "${opt}" flag)
      string(REPLACE "_" "-" flag "${flag}")
      list(APPEND argv --${flag} ${SF_${opt}})
    endif()
  endforeach()
  foreach(opt ERRNOS CALLS FAIL_ON)
    if(SF_${opt})
      string(TOLOWER "${opt}" flag)
      string(REPLACE "_" "-" flag "${flag}")
      string(REPLACE ";" "," value "${SF_${opt}}")
      list(APPEND argv --${flag} ${value})
    endif()
  endforeach()
  if(SF_BY_SITE)
    list(APPEND argv --by-site)
  endif()
  if(SF_QUIET)
    list(APPEND argv --quiet)
  endif()
  list(APPEND argv ${SF_EXPLORE_ARGS}
       --json ${SF_REPORT_DIR}/${SF_NAME}.json
       --junit ${SF_REPORT_DIR}/${SF_NAME}.junit.xml)

  list(GET SF_COMMAND 0 prog)
  list(SUBLIST SF_COMMAND 1 -1 prog_args)
  if(TARGET "${prog}")
    set(prog "$<TARGET_FILE:${prog}>")
  endif()
  list(APPEND argv -- ${prog} ${prog_args})

  set(wd)
  if(SF_WORKING_DIRECTORY)
    set(wd WORKING_DIRECTORY ${SF_WORKING_DIRECTORY})
  endif()
  add_test(NAME ${SF_NAME} COMMAND ${argv} ${wd})

  if(NOT SF_LABELS)
    set(SF_LABELS sockfault)
  endif()
  if(NOT SF_TEST_TIMEOUT)
    set(SF_TEST_TIMEOUT 900)
  endif()
  set(procs 1)
  if(SF_JOBS)
    set(procs ${SF_JOBS})
  endif()
  set_tests_properties(${SF_NAME} PROPERTIES
    LABELS "${SF_LABELS}" TIMEOUT ${SF_TEST_TIMEOUT} PROCESSORS ${procs})
  # The shim that belongs to this sockfault, whatever the command would find beside itself.
  if(TARGET SockFault::shim)
    set_property(TEST ${SF_NAME} APPEND PROPERTY ENVIRONMENT
                 "SOCKFAULT_SHIM=$<TARGET_FILE:SockFault::shim>")
  endif()
endfunction()
