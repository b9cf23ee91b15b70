# Helpers that keep every directory's CMakeLists.txt to a list of sources and dependencies.

# oriel_library(<name> SRCS <files> DEPS <targets>): one static library per src/ directory.
function(oriel_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SRCS})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# oriel_test(<name> SRCS <files> DEPS <targets>): a GoogleTest binary, its cases collected by ctest.
function(oriel_test name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  # PRE_TEST: list the cases when ctest runs, so that the build does not run every test binary.
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST
    PROPERTIES ENVIRONMENT "ORIEL_BINARY=${PROJECT_BINARY_DIR}/oriel"
               # A second variable through ENVIRONMENT would be split at its ';' by
               # gtest_discover_tests, so it goes through ENVIRONMENT_MODIFICATION.
               ENVIRONMENT_MODIFICATION "ORIEL_SHARED_DIR=set:${ORIEL_SHARED_DIR}"
               LABELS "${ARG_LABELS}")
endfunction()

# oriel_fuzz(<name> SRCS <files> DEPS <targets>): a libFuzzer target (LLVMFuzzerTestOneInput).
# With clang and -DORIEL_FUZZ=ON (`make fuzz`) it links libFuzzer and ASan/UBSan; otherwise it is
# built with a small driver that runs the function over the seed files in fuzz/<name>/, so every
# fuzz target stays compiled and its seeds run in ctest.
option(ORIEL_FUZZ "build fuzz targets with libFuzzer (needs clang)" OFF)
function(oriel_fuzz name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  if(ORIEL_FUZZ)
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  else()
    target_sources(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support/fuzz_driver.cc)
    set(seeds ${PROJECT_SOURCE_DIR}/fuzz/${name})
    if(EXISTS ${seeds})
      add_test(NAME ${name}_seeds COMMAND ${name} ${seeds})
    endif()
  endif()
endfunction()
