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

# Numeric code is built for the machine it runs on (as llama.cpp's GGML_NATIVE does): the README
# builds from source, so -march=native gives Eigen's GEMM AVX2/FMA. Turn off for portable packages;
# runtime-dispatched kernels (kernels/) still pick SIMD variants by CPU feature.
option(QUANTSCOPE_NATIVE "Optimise for the build machine's CPU (-march=native)" ON)
if(QUANTSCOPE_NATIVE)
  target_compile_options(quantscope_build_policy INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-march=native>)
endif()
