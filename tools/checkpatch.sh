#!/bin/sh
# Kernel style: every kernel source file through checkpatch.pl from
# Debian's linux-source-6.1.  One TAP line per file.
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
tree=$("$repo/tools/linux-source.sh") || exit 1
n=0 failed=0
for f in "$repo"/kmod/*.[ch] "$repo"/include/uapi/linux/jvpn.h "$repo"/tests/kunit/*.c; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	rel=${f#"$repo"/}
	if out=$("$tree/scripts/checkpatch.pl" --no-tree --terse -f "$f" 2>&1); then
		echo "ok $n - checkpatch: $rel"
	else
		failed=$((failed + 1))
		echo "not ok $n - checkpatch: $rel"
		echo "$out" | sed 's/^/# /'
	fi
done
echo "1..$n"
[ "$failed" -eq 0 ]
