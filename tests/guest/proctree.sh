#!/bin/bash
# Process-tree helper shared by the guest runner (run-all.sh) and the
# test library (lib.sh).  Sourced, not run.

# descendants PID: every process below PID, deepest first.
descendants() {
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		descendants "$c"
		echo "$c"
	done
}
