#!/bin/sh
# Prints the path of an extracted Debian linux-source-6.1 tree (for
# checkpatch.pl, kunit.py and kselftest headers), extracting it once into
# a cache outside the repository.
set -eu
cache=${JVPN_CACHE:-/var/cache/jvpn}
tree=$cache/linux-source-6.1
if [ ! -f "$tree/scripts/checkpatch.pl" ]; then
	tarball=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n 1)
	[ -n "$tarball" ] || { echo "linux-source-6.1 is not installed" >&2; exit 1; }
	mkdir -p "$cache"
	tar -C "$cache" -xf "$tarball"
fi
echo "$tree"
