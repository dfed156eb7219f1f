# Sourced by the integration scripts: one way to count checks and say the
# result, so every script ends with the same "N passed, N failed" line.
# shellcheck shell=bash

failures=0
checks=0

check() { # check NAME COMMAND... : the command must succeed
	local name=$1
	shift
	checks=$((checks + 1))
	if ! "$@"; then
		echo "FAIL: $name" >&2
		failures=$((failures + 1))
	fi
}
contains() { grep -q -- "$2" <<<"$1"; }
lacks() { ! grep -q -- "$2" <<<"$1"; }
# jget EXPR: EXPR of the JSON on standard input, as d (python3).
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {}, {"d": d}))' "$1"; }

# The closing line; the script's status: 0 only when no check failed.
finish() {
	echo "$((checks - failures)) passed, $failures failed"
	[ "$failures" -eq 0 ]
}
