#!/bin/bash
# make demo: boots a guest and shows a session jumping paths.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
exec "$repo/tools/vm/jvpn-vm" --timeout 300 -- "$repo/tests/demo/guest.sh"
