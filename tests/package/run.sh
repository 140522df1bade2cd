#!/usr/bin/env bash
# Builds tests/package/consumer against coconut twice: once after `cmake --install`
# through find_package(coconut CONFIG REQUIRED), once through add_subdirectory.
# Usage: run.sh SOURCE_DIR WORK_DIR
set -euo pipefail
src=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

echo "== install coconut into $work/prefix"
cmake -S "$src" -B "$work/lib" -DCOCONUT_BUILD_TESTS=OFF -DCOCONUT_BUILD_EXAMPLES=OFF \
      -DCOCONUT_BUILD_BENCH=OFF -DCMAKE_INSTALL_PREFIX="$work/prefix" > "$work/lib.log"
cmake --install "$work/lib" >> "$work/lib.log"
test -f "$work/prefix/include/coconut/coconut.hpp"

echo "== consumer via find_package"
cmake -S "$src/tests/package/consumer" -B "$work/found" -DCMAKE_PREFIX_PATH="$work/prefix" "${launcher[@]}" > "$work/found.log"
cmake --build "$work/found" -j 2 >> "$work/found.log"
"$work/found/consumer"

echo "== consumer via add_subdirectory"
cmake -S "$src/tests/package/consumer" -B "$work/sub" -DCOCONUT_SOURCE_DIR="$src" "${launcher[@]}" > "$work/sub.log"
cmake --build "$work/sub" -j 2 >> "$work/sub.log"
"$work/sub/consumer"
echo "package test passed"
