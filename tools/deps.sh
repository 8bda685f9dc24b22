#!/bin/sh
# Installs the Debian 12 packages jvpn needs to build, test, demo and
# benchmark.  Idempotent: does nothing when everything is present.
# Runs as root (CI and the README's set-up commands do).
set -eu

PKGS="build-essential pkg-config kmod cpio bc flex bison libelf-dev libssl-dev
linux-image-amd64 linux-headers-amd64 linux-source-6.1 dkms
libnl-3-dev libnl-genl-3-dev libmnl-dev libsodium-dev
qemu-system-x86 busybox-static iproute2 iputils-ping iperf3 nftables
wireguard-tools tcpdump conntrack jq python3 gnuplot-nox xz-utils procps"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing (run as root to install)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
