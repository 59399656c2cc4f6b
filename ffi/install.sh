#!/usr/bin/env bash
# Installs libbittern from the release build into PREFIX, ready to ship: PREFIX/include/bittern.h,
# PREFIX/lib/libbittern.{so,a} and PREFIX/lib/pkgconfig/bittern.pc.
#
#   cargo build --release -p bittern-ffi
#   ffi/install.sh /usr/local        # or any folder: PKG_CONFIG_PATH=PREFIX/lib/pkgconfig
#
# The archive is installed without debug info: the release profile gives bittern's own code
# none, but a staticlib carries the Rust standard library's (about a quarter of its size), which
# only `strip --strip-debug` removes. Environment: CARGO_TARGET_DIR, STRIP (default strip).
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: ffi/install.sh PREFIX" >&2; exit 2; }
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
case $target in /*) ;; *) target=$root/$target ;; esac
prefix=$1
case $prefix in /*) ;; *) prefix=$PWD/$prefix ;; esac
for lib in libbittern.so libbittern.a; do
    [ -f "$target/release/$lib" ] || {
        echo "ffi/install.sh: $target/release/$lib is missing (cargo build --release -p bittern-ffi)" >&2
        exit 1
    }
done

mkdir -p "$prefix/include" "$prefix/lib"
install -m 644 "$root/include/bittern.h" "$prefix/include/bittern.h"
install -m 755 "$target/release/libbittern.so" "$prefix/lib/libbittern.so"
install -m 644 "$target/release/libbittern.a" "$prefix/lib/libbittern.a"
"${STRIP:-strip}" --strip-debug "$prefix/lib/libbittern.a"
LIBDIR=$prefix/lib INCLUDEDIR=$prefix/include "$root/ffi/install-pc.sh" "$prefix/lib/pkgconfig" >/dev/null
echo "installed libbittern into $prefix (pkg-config: PKG_CONFIG_PATH=$prefix/lib/pkgconfig)"
