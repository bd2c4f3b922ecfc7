#!/usr/bin/env bash
# Peers' f32 GEMMs beside ours on the prefill's linears (scripts/gemm-yardstick.cpp): Debian 12's OpenBLAS
# (0.3.21, pthread build; its SkylakeX AVX-512 kernels) and BLIS (0.9.0) are fetched with `apt-get
# download` into a folder outside the repository (nothing is installed), the harness is built against this
# build's kernels library and run with each BLAS, one thread, at 128 tokens (the forward's piece on a
# 1B-shaped model) and 512. Neither library knows Zen 5: OpenBLAS is given its SkylakeX kernels, BLIS its
# haswell ones (on an AMD EPYC Zen 5 core its default fell back to generic code, 26 GFLOP/s; skx and zen3
# ran below haswell). The f32 FMA peak of one core comes from `bench kernels` in the same run.
#   scripts/gemm-yardstick.sh [WORK_DIR]      (default /tmp/qs-gemm-yardstick; needs the Debian mirror)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${QUANTSCOPE_BUILD_DIR:-$root/build}"
work="${1:-/tmp/qs-gemm-yardstick}"
mkdir -p "$work"
cd "$work"
for pkg in libopenblas0-pthread libblis4-pthread; do
  ls ${pkg}_*.deb > /dev/null 2>&1 || apt-get download "$pkg"
  dpkg-deb -x ${pkg}_*.deb "$work/$pkg"
done
openblas="$work/libopenblas0-pthread/usr/lib/x86_64-linux-gnu/openblas-pthread"
blis="$work/libblis4-pthread/usr/lib/x86_64-linux-gnu/blis-pthread"
qt="$(pkg-config --cflags --libs Qt6Core)"
for lib in openblas blis; do
  dir=$openblas
  file=libopenblas.so.0
  [ $lib = blis ] && dir=$blis && file=libblas.so.3
  # shellcheck disable=SC2086
  g++ -O2 -std=c++20 -I"$root/core" "$root/scripts/gemm-yardstick.cpp" "$build/core/libqs_kernels.a" \
    "$build/core/libqs_util.a" $qt -L"$dir" -l:$file -Wl,-rpath,"$dir" -o "$work/yardstick-$lib"
done
"$build/app/quantscope-cli" bench kernels --formats f32 --threads 1 2> /dev/null |
  python3 -c 'import json, sys; print(json.dumps({"compute_peak": json.load(sys.stdin)["compute_peak"]}))'
for n in 128 512; do
  OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=SkylakeX "$work/yardstick-openblas" "$n" 4 | sed "s/blas-sgemm/openblas-sgemm/"
  BLIS_NUM_THREADS=1 BLIS_ARCH_TYPE=haswell "$work/yardstick-blis" "$n" 4 | sed 's/blas-sgemm/blis-sgemm/'
done
