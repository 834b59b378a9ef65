# Shared build helpers for Loom's modules.

if(LOOM_SANITIZE)
  string(REPLACE "," ";" _loom_sanitizers "${LOOM_SANITIZE}")
  foreach(_s IN LISTS _loom_sanitizers)
    add_compile_options(-fsanitize=${_s})
    add_link_options(-fsanitize=${_s})
  endforeach()
  add_compile_options(-fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  # Sanitized code at -O2 -g compiles ~4x slower than Release; -Og -g1 (line tables: stack traces
  # still name file and line) compiles about as fast as Release and runs the suite in minutes.
  # The Sanitize build type (setup.sh --sanitize) carries them; other types keep their own.
  add_compile_definitions(LOOM_SANITIZED=1)
endif()

# Libraries resolve every symbol at link time (--no-undefined), except under clang's sanitizers:
# their runtime lives in the executable, so a sanitized module leaves it undefined.
if(LOOM_SANITIZE AND CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  set(LOOM_NO_UNDEFINED "")
else()
  set(LOOM_NO_UNDEFINED -Wl,--no-undefined)
endif()

# Warnings for our own C++ targets (not generated code).
function(loom_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
      -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
      -Wimplicit-fallthrough -Wno-missing-field-initializers
      # GCC 12 false positive on std::string concatenation at -O2 (GCC bug 105329).
      $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>>)
  if(LOOM_WERROR)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
  endif()
endfunction()

# loom_module(<name> SHARED|STATIC SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...]
#             [HEADERS ...] [HEADER_DIR dir])  — headers install under include/loom/<dir or name>
# Creates target loom_<name> with alias loom::<name>; public headers are included by module
# path (#include "bus/channel.hpp"), so the include root is the source tree root.
function(loom_module name kind)
  cmake_parse_arguments(M "" "HEADER_DIR" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS;HEADERS" ${ARGN})
  if(NOT M_HEADER_DIR)
    set(M_HEADER_DIR ${name})
  endif()
  add_library(loom_${name} ${kind} ${M_SOURCES})
  add_library(loom::${name} ALIAS loom_${name})
  # Installed to lib: the libraries it needs are beside it.
  set_target_properties(loom_${name} PROPERTIES OUTPUT_NAME loom_${name} EXPORT_NAME ${name}
    VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}
    INSTALL_RPATH "$ORIGIN")
  target_include_directories(loom_${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}> $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/generated>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/loom>)
  target_link_libraries(loom_${name} PUBLIC ${M_PUBLIC_DEPS} PRIVATE ${M_PRIVATE_DEPS})
  loom_warnings(loom_${name})
  # A module of many files parses its own headers (and through them its dependencies') once:
  # precompiled (issue 11: most of a file's compile here is headers).
  list(LENGTH M_SOURCES _loom_sources)
  if(M_HEADERS AND _loom_sources GREATER 3)
    list(TRANSFORM M_HEADERS PREPEND ${CMAKE_CURRENT_SOURCE_DIR}/ OUTPUT_VARIABLE _loom_pch)
    target_precompile_headers(loom_${name} PRIVATE ${_loom_pch})
  endif()
  install(TARGETS loom_${name} EXPORT LoomTargets
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  if(M_HEADERS)
    install(FILES ${M_HEADERS} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/loom/${M_HEADER_DIR})
  endif()
endfunction()

# loom_component(<target> SOURCES ... LIBS ... [NO_INSTALL]) — a component library (DESIGN.md
# §2): a MODULE loaded by the kernel, exporting only its entry symbol, with every symbol resolved
# at link time; installed under lib/loom unless NO_INSTALL.
function(loom_component target)
  cmake_parse_arguments(C "NO_INSTALL" "" "SOURCES;LIBS" ${ARGN})
  add_library(${target} MODULE ${C_SOURCES})
  target_link_libraries(${target} PRIVATE ${C_LIBS} loom::kernel)
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR}/generated)
  # Installed to lib/loom: Loom's libraries are one level up.
  set_target_properties(${target} PROPERTIES CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON INSTALL_RPATH "$ORIGIN/..")
  target_link_options(${target} PRIVATE -Wl,--exclude-libs,ALL ${LOOM_NO_UNDEFINED})
  loom_warnings(${target})
  if(NOT C_NO_INSTALL)
    install(TARGETS ${target} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/loom)
  endif()
endfunction()

# loom_test(<name> [EXHAUSTIVE] SOURCES ... LIBS ... LABELS ...) — a GoogleTest binary; each
# test case is a ctest test carrying the given labels. Test binaries are not installed.
# EXHAUSTIVE marks exhaustive value tables (every op's shape inference, every kernel's values) and
# long end-to-end repeats of paths other tests cover: built unless LOOM_EXHAUSTIVE_TESTS is OFF,
# the sanitizer tree's default — there the same code runs under the sanitizers through the
# conformance sweeps and the shared-model checks, and the tree is built for the modules that own
# memory, threads and untrusted bytes (DESIGN.md §8, issue 11).
function(loom_test name)
  cmake_parse_arguments(T "EXHAUSTIVE" "TIMEOUT;COST" "SOURCES;LIBS;LABELS" ${ARGN})
  if(T_EXHAUSTIVE AND NOT LOOM_EXHAUSTIVE_TESTS)
    return()
  endif()
  add_executable(${name} ${T_SOURCES})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main)
  # Test code itself needs no -O3 (what it tests is built as configured): -O1 halves its compile.
  target_compile_options(${name} PRIVATE $<$<CONFIG:Release>:-O1>)
  # GoogleTest's header is most of a small test file's compile: precompiled once per binary.
  list(LENGTH T_SOURCES _loom_test_sources)
  if(_loom_test_sources GREATER 1)
    target_precompile_headers(${name} PRIVATE <gtest/gtest.h>)
  endif()
  loom_warnings(${name})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  # COST: ctest starts costlier tests first; a cold run (CI) has no timings of its own, and a
  # minute-long test started last is the whole run's tail.
  if(NOT T_COST)
    set(T_COST 0)
  endif()
  # Properties are applied by a file ctest includes after discovery: passed through
  # gtest_discover_tests(PROPERTIES) a list (several labels, two environment entries) is split.
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST TEST_LIST ${name}_TESTS)
  set(props "${CMAKE_CURRENT_BINARY_DIR}/${name}_properties.cmake")
  # Under AddressSanitizer, LeakSanitizer's exit-time scan of thread-local storage crashes ("Tracer
  # caught signal 11") once OpenMP threads ran oneDNN code from a dlopen-ed device plugin (their
  # dynamic TLS); it scans everything but TLS, with the loader's own records suppressed.
  set(lsan "")
  if(LOOM_SANITIZE MATCHES "address")
    set(lsan
      ";LSAN_OPTIONS=use_tls=0:print_suppressions=0:suppressions=${PROJECT_SOURCE_DIR}/cmake/lsan.supp")
  endif()
  file(WRITE ${props} "if(${name}_TESTS)\n  set_tests_properties(\${${name}_TESTS} PROPERTIES "
    "LABELS \"${T_LABELS}\" TIMEOUT ${T_TIMEOUT} COST ${T_COST} ENVIRONMENT \"LOOM_SHARED_DIR=${LOOM_SHARED_DIR};"
    "LOOM_BUILD_DIR=${CMAKE_BINARY_DIR}${lsan}\")\nendif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${props})
endfunction()

# loom_extension(): cmake/LoomExtension.cmake, installed with the package (one definition).
include(${CMAKE_CURRENT_LIST_DIR}/LoomExtension.cmake)
