#!/usr/bin/env bash
# Writes bittern.pc, the pkg-config file for libbittern, into OUT_DIR.
#
#   cargo build --release -p bittern-ffi       # target/release/libbittern.{so,a}
#   ffi/install-pc.sh                          # target/release/pkgconfig/bittern.pc
#   export PKG_CONFIG_PATH=$PWD/target/release/pkgconfig
#   cc app.c $(pkg-config --cflags --libs bittern)
#   LD_LIBRARY_PATH=$PWD/target/release ./a.out
#
# Usage: ffi/install-pc.sh [OUT_DIR]   (default: <target dir>/release/pkgconfig)
# By default the file points at the build tree (target/release and include/); set LIBDIR and
# INCLUDEDIR to point it elsewhere, e.g. after copying the library and header for an install:
#   LIBDIR=/usr/local/lib INCLUDEDIR=/usr/local/include ffi/install-pc.sh /usr/local/lib/pkgconfig
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
case $target in /*) ;; *) target=$root/$target ;; esac
libdir=${LIBDIR:-$target/release}
includedir=${INCLUDEDIR:-$root/include}
out_dir=${1:-$target/release/pkgconfig}
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)

mkdir -p "$out_dir"
sed -e "s|@LIBDIR@|$libdir|" -e "s|@INCLUDEDIR@|$includedir|" -e "s|@VERSION@|$version|" \
    "$root/ffi/bittern.pc.in" >"$out_dir/bittern.pc"
echo "$out_dir/bittern.pc"
