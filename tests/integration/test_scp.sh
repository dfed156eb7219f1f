#!/usr/bin/env bash
# SCP11 through the real stack: a test PKI from 'mic pki init', a sample
# card made by 'mic-vcard new --sample --pki' (the chip factory's keys,
# personalized, activated and credited through real SCP11a channels), then
# served through pcscd + vpcd and driven by scp_client with libmic's host
# side: SCP11b, SCP11a with the bank, the pharmacy (refused a CREDIT) and
# the agency, a failed re-open that leaves the transport lost, and a
# terminal of a foreign PKI (refused); MUTUAL AUTHENTICATE by hand, right
# after the chain and with a command in between (refused). Also: a card
# without --pki refuses SCP11 with 6A88, and mic-vcard has no option that
# would make a card act as if a channel were open.
#
# Ports 36400-36499 belong to this test.
set -uo pipefail

V="$MIC_BUILD_DIR/tools/mic-vcard/mic-vcard"
mic="$MIC_BUILD_DIR/tools/mic"
client="$MIC_BUILD_DIR/tests/integration/scp_client"
stack_wait="$MIC_BUILD_DIR/tools/mic-vcard/mic-stack-wait"
tmp="$MIC_TEST_TMP/scp"
dir="$MIC_TEST_TMP/stack-scp"       # scripts/test stops stack-* on a crash
port=36400     # reader 0: the stack's own card; reader 1: ours
reader1="Virtual PCD 00 01"
select='00 A4 04 0C 09 D1 56 00 00 01 4D 49 43 01'
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/card1.sh"

rm -rf "$tmp"
mkdir -p "$tmp"

"$mic" pki init --dir "$tmp/pki" >"$tmp/pki.log" 2>&1 ||
	{ cat "$tmp/pki.log"; exit 1; }
"$mic" pki init --dir "$tmp/foreign" >>"$tmp/pki.log" 2>&1 ||
	{ cat "$tmp/pki.log"; exit 1; }

out=$("$V" new --out "$tmp/card.img" --sample --pki "$tmp/pki" --serial SCP0001 2>&1); rc=$?
check "new --sample --pki exits 0 ($out)" test "$rc" -eq 0
check "the sample is active" contains "$("$V" show "$tmp/card.img")" "state: active"
out=$("$V" new --out "$tmp/blank.img" --pki "$tmp/pki" 2>&1); rc=$?
check "new --pki: a blank card with SCP11 keys" contains "$out" "blank card with SCP11 keys"
out=$("$V" new --out "$tmp/nokeys.img" --pki "$tmp/nothing" 2>&1); rc=$?
check "new --pki of no PKI fails" test "$rc" -ne 0
check "... and says why" contains "$out" "no root certificate"
"$V" new --out "$tmp/plain.img" --sample >/dev/null 2>&1

"$MIC_READER_STACK" start --dir "$dir" --port "$port" --readers 2 --cards 1 \
	--build "$MIC_BUILD_DIR" >"$tmp/stack.log" 2>&1 ||
	{ cat "$tmp/stack.log"; exit 1; }
eval "$("$MIC_READER_STACK" env --dir "$dir")"

"$V" run "$tmp/card.img" --port "$((port + 1))" 2>"$tmp/card.log" &
card_pid=$!
"$stack_wait" wait --timeout 10000 --present "$reader1" >/dev/null
out=$("$client" "$reader1" "$tmp/pki" "$tmp/foreign" 2>&1); rc=$?
echo "$out"
check "scp_client through pcscd" test "$rc" -eq 0
check "SCP11a agency CREDIT went through" contains "$out" "ok: SCP11a agency: CREDIT accepted"

# MUTUAL AUTHENTICATE only right after the verified chain (card profile
# 4.5): by hand, with the bank's chain and the base point as the ephemeral
# key (the card answers before anyone checks the receipt).
der() { openssl x509 -in "$1" -outform DER | od -An -tx1 | tr -d ' \n'; }
pso() { printf '80 2A 01 %s 00 %04X %s' "$1" "$((${#2} / 2))" "$2"; }
issuer=$(der "$tmp/pki/trust/intermediates/issuer.pem")
leaf=$(der "$tmp/pki/terminals/bank/cert.pem")
auth='80 82 01 11 53 A6 0D 90 02 11 01 95 01 3C 80 01 88 81 01 10 5F 49 41 04
6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296
4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5 00'
auth=${auth//$'\n'/ }
out=$("$mic" apdu -r 1 "$select" "$(pso 90 "$issuer")" "$(pso 10 "$leaf")" "$auth" 2>&1)
check "MUTUAL AUTHENTICATE right after the chain: 9000" contains "$(tail -1 <<<"$out")" "9000"
out=$("$mic" apdu -r 1 "$select" "$(pso 90 "$issuer")" "$(pso 10 "$leaf")" \
	'80 CA BF 21 00' "$auth" 2>&1)
check "a command in between discards the chain: 6982" contains "$(tail -1 <<<"$out")" "6982"
stop_card
check "the credit is in the image" contains "$("$V" show "$tmp/card.img")" "balance: 100001 fen"

# A card without factory keys: 6A88 to GET DATA BF21 and INTERNAL AUTHENTICATE.
"$V" run "$tmp/plain.img" --port "$((port + 1))" 2>"$tmp/plain.log" &
card_pid=$!
"$stack_wait" wait --timeout 10000 --present "$reader1" >/dev/null
out=$("$mic" apdu -r 1 "$select" '80 CA BF 21 00' 2>&1)
check "no --pki: GET DATA BF21 is 6A88" contains "$out" "6A88"
stop_card

# No stand-in for a channel: the old --test-role is an unknown option.
for cmd in run hopper; do
	out=$("$V" "$cmd" --test-role bank --port "$((port + 1))" 2>&1); rc=$?
	check "$cmd --test-role is a usage error" test "$rc" -eq 2
	check "$cmd --help says nothing of a test role" lacks "$("$V" "$cmd" --help)" "role"
done
out=$("$MIC_READER_STACK" start --dir "$tmp/nostack" --test-role bank 2>&1); rc=$?
check "reader-stack --test-role is a usage error" test "$rc" -eq 2
check "reader-stack --help says nothing of a test role" lacks "$("$MIC_READER_STACK" --help 2>&1)" "role"

finish
