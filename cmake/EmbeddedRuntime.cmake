# The embedded runtime (docs/aot.md, "Embedded weights"): runtime/embedded.c
# compiled by clang-19 to LLVM bitcode for each supported triple, with the
# baseline CPU, and each bitcode file turned into a C byte array that libactc
# carries (so an installed actc has it).  aot.c links the bitcode for the
# object's triple into every object compiled with --embed-weights.
#
# Freestanding: -nostdlibinc keeps clang's own stddef.h/stdint.h/stdbool.h
# and drops the system's, so no sysroot of the target is needed; no
# -fsanitize or other flags of the host build reach it (the object must link
# with libc alone).

find_program(ACTC_CLANG_19 clang-19 HINTS ${LLVM_TOOLS_BINARY_DIR})
if(NOT ACTC_CLANG_19)
  message(FATAL_ERROR "clang-19 not found: install the Debian package 'clang-19' (or run scripts/install-deps.sh)")
endif()

# Keep in step with the table in compiler/codegen/aot.c (embedded_runtimes).
set(ACTC_EMBEDDED_TRIPLES x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu)

# actc_embedded_runtime(<var>): add the commands; <var> receives the
# generated C sources to compile into libactc.
function(actc_embedded_runtime out_var)
  set(src ${PROJECT_SOURCE_DIR}/runtime/embedded.c)
  set(dir ${PROJECT_BINARY_DIR}/generated)
  set(flags -std=c11 -O2 -fPIC -ffreestanding -nostdlibinc -fno-stack-protector -fno-ident -fno-math-errno
      -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wwrite-strings -Wundef
      -I${PROJECT_SOURCE_DIR}/include -I${PROJECT_SOURCE_DIR}/runtime)
  if(ACTC_WERROR)
    list(APPEND flags -Werror)
  endif()
  set(sources "")
  foreach(triple IN LISTS ACTC_EMBEDDED_TRIPLES)
    string(REGEX REPLACE "-.*" "" arch "${triple}")
    set(bc ${dir}/embedded_runtime_${arch}.bc)
    set(c ${dir}/embedded_runtime_${arch}.c)
    add_custom_command(
      OUTPUT ${bc}
      COMMAND ${ACTC_CLANG_19} --target=${triple} ${flags} -emit-llvm -c ${src} -o ${bc} -MD -MF ${bc}.d
      DEPENDS ${src} ${PROJECT_SOURCE_DIR}/runtime/run_checks.h ${PROJECT_SOURCE_DIR}/include/actc/runtime.h
              ${PROJECT_SOURCE_DIR}/include/actc/status.h
      DEPFILE ${bc}.d
      COMMENT "Compiling the embedded runtime to LLVM bitcode for ${triple}"
      VERBATIM)
    add_custom_command(
      OUTPUT ${c}
      COMMAND ${CMAKE_COMMAND} -DINPUT=${bc} -DOUTPUT=${c} -DNAME=actc_embedded_runtime_${arch}
              -P ${PROJECT_SOURCE_DIR}/cmake/EmbedBytes.cmake
      DEPENDS ${bc} ${PROJECT_SOURCE_DIR}/cmake/EmbedBytes.cmake
      COMMENT "Embedding the ${arch} runtime bitcode in libactc"
      VERBATIM)
    list(APPEND sources ${c})
  endforeach()
  set(${out_var} ${sources} PARENT_SCOPE)
endfunction()
