#!/usr/bin/env bash
# Passive authentication through the real stack: a test PKI from 'mic pki
# init', a sample card from 'mic-vcard new --sample --pki' (EF.CERT issued
# over the key the card generated, EF.SOD signed by the document signer),
# served through pcscd + vpcd, and 'mic card verify' as a terminal runs it.
# Then what must fail: a card of another PKI (untrusted signer) and a card
# made without a PKI (placeholder EF.SOD, a format error).
#
# Ports 36500-36599 belong to this test.
set -uo pipefail

V="$MIC_BUILD_DIR/tools/mic-vcard/mic-vcard"
mic="$MIC_BUILD_DIR/tools/mic"
stack_wait="$MIC_BUILD_DIR/tools/mic-vcard/mic-stack-wait"
tmp="$MIC_TEST_TMP/pa"
dir="$MIC_TEST_TMP/stack-pa"        # scripts/test stops stack-* on a crash
port=36500     # reader 0: the stack's own card; reader 1: ours
reader1="Virtual PCD 00 01"
failures=0
checks=0
card_pid=

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

cleanup() {
	[[ -n $card_pid ]] && kill -TERM "$card_pid" 2>/dev/null
	"$MIC_READER_STACK" stop --dir "$dir" >/dev/null 2>&1
}
trap cleanup EXIT

start_card() { # start_card IMAGE
	"$V" run "$1" --port "$((port + 1))" 2>>"$tmp/card.log" &
	card_pid=$!
	"$stack_wait" wait --timeout 10000 --present "$reader1" >/dev/null
}

stop_card() {
	kill -TERM "$card_pid" 2>/dev/null
	wait "$card_pid" 2>/dev/null
	card_pid=
	"$stack_wait" wait --timeout 10000 --absent "$reader1" >/dev/null
}

rm -rf "$tmp"
mkdir -p "$tmp"

"$mic" pki init --dir "$tmp/pki" >"$tmp/pki.log" 2>&1 ||
	{ cat "$tmp/pki.log"; exit 1; }
"$mic" pki init --dir "$tmp/foreign" >>"$tmp/pki.log" 2>&1 ||
	{ cat "$tmp/pki.log"; exit 1; }

out=$("$V" new --out "$tmp/card.img" --sample --pki "$tmp/pki" --serial PA0001 2>&1); rc=$?
check "new --sample --pki exits 0 ($out)" test "$rc" -eq 0
out=$("$V" new --out "$tmp/foreign.img" --sample --pki "$tmp/foreign" --serial PA0002 2>&1); rc=$?
check "new --sample --pki of another PKI exits 0 ($out)" test "$rc" -eq 0
out=$("$V" new --out "$tmp/plain.img" --sample --serial PA0003 2>&1); rc=$?
check "new --sample without --pki exits 0 ($out)" test "$rc" -eq 0

"$MIC_READER_STACK" start --dir "$dir" --port "$port" --readers 2 --cards 1 \
	--build "$MIC_BUILD_DIR" >"$tmp/stack.log" 2>&1 ||
	{ cat "$tmp/stack.log"; exit 1; }
eval "$("$MIC_READER_STACK" env --dir "$dir")"

# The genuine card, against the PKI directory and against its trust/.
start_card "$tmp/card.img"
out=$("$mic" card verify -r "$reader1" --trust "$tmp/pki" 2>&1); rc=$?
echo "$out"
check "verify: exit 0" test "$rc" -eq 0
check "verify: OK" contains "$out" "passive authentication: OK"
out=$("$mic" card verify -r 1 --trust "$tmp/pki/trust" 2>&1); rc=$?
check "verify --trust DIR/trust: OK ($out)" contains "$out" "passive authentication: OK"
out=$("$mic" card verify -r "$reader1" --trust "$tmp/foreign" 2>&1); rc=$?
echo "$out"
check "verify against a foreign trust store: exit 1" test "$rc" -eq 1
check "... untrusted" contains "$out" "MIC_ERR_CERT_UNTRUSTED"
out=$("$mic" card verify -r "$reader1" 2>&1); rc=$?
check "verify without --trust is a usage error" test "$rc" -eq 2
stop_card

# A card signed by another PKI: its document signer is not trusted here.
start_card "$tmp/foreign.img"
out=$("$mic" card verify -r "$reader1" --trust "$tmp/pki" 2>&1); rc=$?
echo "$out"
check "foreign card: exit 1" test "$rc" -eq 1
check "foreign card: untrusted" contains "$out" "FAILED: EF.SOD: .*MIC_ERR_CERT_UNTRUSTED"
stop_card

# A card without a PKI: EF.SOD is the placeholder, no security object.
start_card "$tmp/plain.img"
out=$("$mic" card verify -r "$reader1" --trust "$tmp/pki" 2>&1); rc=$?
echo "$out"
check "placeholder card: exit 1" test "$rc" -eq 1
check "placeholder card: SOD format" contains "$out" "FAILED: EF.SOD: .*MIC_ERR_SOD_FORMAT"
stop_card

echo "$((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
