#!/bin/bash
# DKMS round trip against the installed Debian kernel headers: add, build,
# install, check, remove.  Runs on the host (building needs no module
# loading).  TAP output.
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
kver=$("$repo/tools/kver")
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$repo/dkms.conf")
src=/usr/src/jvpn-$ver
n=0 failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

step() {
	local desc=$1
	shift
	n=$((n + 1))
	if "$@" >"$log" 2>&1; then
		echo "ok $n - dkms: $desc"
	else
		failed=$((failed + 1))
		echo "not ok $n - dkms: $desc"
		sed 's/^/# /' "$log" | tail -n 30
	fi
}

cleanup() {
	dkms remove -m jvpn -v "$ver" --all >/dev/null 2>&1
	rm -rf "$src"
}

stage_source() {
	mkdir -p "$src" &&
	cp -r "$repo/Kbuild" "$repo/dkms.conf" "$repo/kmod" "$repo/include" "$src/" &&
	find "$src" \( -name '*.o' -o -name '*.ko' -o -name '.*.cmd' -o -name '*.mod*' \) -delete
}

installed_ko() {
	local ko
	ko=$(find "/lib/modules/$kver" -path '*dkms*' -name 'jvpn.ko*' | head -n 1)
	[ -n "$ko" ] && modinfo "$ko" | grep -q '^alias: *rtnl-link-jvpn'
}

cleanup
step "stage source in $src" stage_source
step "add" dkms add -m jvpn -v "$ver"
step "build for $kver" dkms build -m jvpn -v "$ver" -k "$kver"
step "install for $kver" dkms install -m jvpn -v "$ver" -k "$kver"
step "module installed with its aliases" installed_ko
step "status shows installed" sh -c "dkms status -m jvpn -v $ver | grep -q installed"
step "remove" dkms remove -m jvpn -v "$ver" --all
cleanup
echo "1..$n"
[ "$failed" -eq 0 ]
