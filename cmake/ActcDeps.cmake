# Find actc's dependencies; each failure names the Debian package to install
# (scripts/install-deps.sh installs them all).
find_package(PkgConfig)
if(NOT PkgConfig_FOUND)
  message(FATAL_ERROR "pkg-config not found: install the Debian package 'pkg-config' (or run scripts/install-deps.sh)")
endif()

find_package(BISON 3.8)
if(NOT BISON_FOUND)
  message(FATAL_ERROR "bison >= 3.8 not found: install the Debian package 'bison' (or run scripts/install-deps.sh)")
endif()
find_package(FLEX 2.6)
if(NOT FLEX_FOUND)
  message(FATAL_ERROR "flex not found: install the Debian package 'flex' (or run scripts/install-deps.sh)")
endif()

pkg_check_modules(JANSSON IMPORTED_TARGET jansson)
if(NOT JANSSON_FOUND)
  message(FATAL_ERROR "jansson not found: install the Debian package 'libjansson-dev' (or run scripts/install-deps.sh)")
endif()

if(ACTC_OPENMP)
  find_package(OpenMP REQUIRED COMPONENTS C)
  set(ACTC_OPENMP_LIB OpenMP::OpenMP_C)
else()
  set(ACTC_OPENMP_LIB "")
  add_compile_options(-Wno-unknown-pragmas)   # the runtime's omp pragmas are ignored
endif()

set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)

# LLVM 19 (design.md §7): ask llvm-config-19 where its CMake package is, and
# request 19.1 because LLVM's version file matches major.minor.
find_program(LLVM_CONFIG_19 llvm-config-19)
if(NOT LLVM_CONFIG_19)
  message(FATAL_ERROR "llvm-config-19 not found: install the Debian package 'llvm-19-dev' (or run scripts/install-deps.sh)")
endif()
execute_process(COMMAND ${LLVM_CONFIG_19} --cmakedir OUTPUT_VARIABLE ACTC_LLVM_CMAKEDIR
                OUTPUT_STRIP_TRAILING_WHITESPACE)
find_package(LLVM 19.1 CONFIG HINTS ${ACTC_LLVM_CMAKEDIR} NO_DEFAULT_PATH)
if(NOT LLVM_FOUND)
  message(FATAL_ERROR "LLVM 19.1 CMake package not found in ${ACTC_LLVM_CMAKEDIR}: install 'llvm-19-dev'")
endif()
message(STATUS "actc: LLVM ${LLVM_PACKAGE_VERSION} from ${LLVM_DIR}")

pkg_check_modules(MPFR IMPORTED_TARGET mpfr)
if(NOT MPFR_FOUND)
  message(FATAL_ERROR "MPFR not found: install the Debian package 'libmpfr-dev' (or run scripts/install-deps.sh)")
endif()

pkg_check_modules(CRITERION IMPORTED_TARGET criterion)
if(NOT CRITERION_FOUND)
  message(FATAL_ERROR "Criterion not found: install the Debian package 'libcriterion-dev' (or run scripts/install-deps.sh)")
endif()
