# One place for warnings and flags: every target links quantscope_build_policy.
option(QUANTSCOPE_WERROR "Treat warnings as errors (on by default under CI)" OFF)
if(DEFINED ENV{CI})
  set(QUANTSCOPE_WERROR ON)
endif()

add_library(quantscope_build_policy INTERFACE)
target_compile_options(quantscope_build_policy INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wnon-virtual-dtor -Woverloaded-virtual
    -Wcast-qual -Wformat=2 -Wimplicit-fallthrough -Wmissing-declarations>)
if(QUANTSCOPE_WERROR)
  target_compile_options(quantscope_build_policy INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
endif()
target_compile_definitions(quantscope_build_policy INTERFACE
  QT_NO_CAST_FROM_ASCII QT_NO_CAST_TO_ASCII QT_NO_URL_CAST_FROM_STRING QT_USE_QSTRINGBUILDER
  QT_NO_KEYWORDS QCUSTOMPLOT_USE_LIBRARY)

# Instruction set: a fixed baseline, not the build machine's. x86-64-v3 (AVX2, FMA, F16C) where the
# build machine runs it — Eigen's GEMM gets 256-bit lanes — else plain x86-64 (or the compiler's
# default elsewhere). Wider or newer instructions (AVX-512, VNNI) are chosen at run time by the
# kernels in core/kernels, which keep a scalar twin, so one build behaves the same on every CPU of
# its baseline and no -march=native decides what a binary does (or which warnings GCC emits).
# QUANTSCOPE_NATIVE=ON still builds for the build machine only, for local experiments.
option(QUANTSCOPE_NATIVE "Optimise for the build machine's CPU (-march=native) instead of the baseline" OFF)
set(QUANTSCOPE_ARCH_FLAGS "")
if(QUANTSCOPE_NATIVE)
  set(QUANTSCOPE_ARCH_FLAGS -march=native)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  include(CheckCXXSourceRuns)
  set(CMAKE_REQUIRED_FLAGS -march=x86-64-v3)
  check_cxx_source_runs("int main() { __builtin_cpu_init(); return __builtin_cpu_supports(\"avx2\") && __builtin_cpu_supports(\"fma\") && __builtin_cpu_supports(\"f16c\") ? 0 : 1; }" QUANTSCOPE_CPU_X86_64_V3)
  unset(CMAKE_REQUIRED_FLAGS)
  if(QUANTSCOPE_CPU_X86_64_V3)
    set(QUANTSCOPE_ARCH_FLAGS -march=x86-64-v3)
  endif()
endif()
message(STATUS "QuantScope: baseline instruction set ${QUANTSCOPE_ARCH_FLAGS}")
if(QUANTSCOPE_ARCH_FLAGS)
  target_compile_options(quantscope_build_policy INTERFACE $<$<COMPILE_LANGUAGE:CXX>:${QUANTSCOPE_ARCH_FLAGS}>)
endif()

# Sanitized builds (scripts/sanitize.sh): QUANTSCOPE_SANITIZE=address,undefined or thread adds the
# sanitizers to every target at -O1 with frame pointers, and makes any UBSan report fatal, so a
# suite fails on the first finding instead of printing it and passing.
set(QUANTSCOPE_SANITIZE "" CACHE STRING "Sanitizers for every target: address,undefined | thread | empty")
if(QUANTSCOPE_SANITIZE)
  set(qs_san_flags -fsanitize=${QUANTSCOPE_SANITIZE} -fno-omit-frame-pointer -O1 -g)
  if(QUANTSCOPE_SANITIZE MATCHES "undefined")
    list(APPEND qs_san_flags -fno-sanitize-recover=undefined)
  endif()
  target_compile_options(quantscope_build_policy INTERFACE $<$<COMPILE_LANGUAGE:CXX>:${qs_san_flags}>)
  target_link_options(quantscope_build_policy INTERFACE -fsanitize=${QUANTSCOPE_SANITIZE})
  message(STATUS "QuantScope: sanitizers ${QUANTSCOPE_SANITIZE}")
endif()
