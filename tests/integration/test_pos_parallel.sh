#!/usr/bin/env bash
# Two readers used at once through the real stack (pcscd + vpcd): two
# sample cards of one PKI, and pay_parallel pays 12.34 yuan on each from
# its own thread, with its own PC/SC context, both SCP11a channels and
# transactions open together. Each card is debited once, by its own
# amount, and its receipt verifies; the card images agree afterwards.
#
# Ports 37310-37319 belong to this test.
set -uo pipefail

V="$MIC_BUILD_DIR/tools/mic-vcard/mic-vcard"
mic="$MIC_BUILD_DIR/tools/mic"
par="$MIC_BUILD_DIR/tests/integration/pay_parallel"
tmp="$MIC_TEST_TMP/pos-parallel"
dir="$MIC_TEST_TMP/stack-pos-parallel"   # scripts/test stops stack-* on a crash
port=37310
r0="Virtual PCD 00 00"
r1="Virtual PCD 00 01"
. "$(dirname "$0")/lib.sh"

cleanup() { "$MIC_READER_STACK" stop --dir "$dir" >/dev/null 2>&1; }
trap cleanup EXIT

field() { "$V" show "$1" 2>/dev/null | sed -n "s/^$2: //p"; }

rm -rf "$tmp"
mkdir -p "$tmp"
"$mic" pki init --dir "$tmp/pki" >"$tmp/pki.log" 2>&1 ||
	{ cat "$tmp/pki.log"; exit 1; }
"$mic" pki export-terminal --dir "$tmp/pki" --name hospital-pos \
	--out "$tmp/pos" >>"$tmp/pki.log" 2>&1 || { cat "$tmp/pki.log"; exit 1; }
"$MIC_READER_STACK" start --dir "$dir" --port "$port" --readers 2 --cards 2 \
	--pki "$tmp/pki" --build "$MIC_BUILD_DIR" >"$tmp/stack.log" 2>&1 ||
	{ cat "$tmp/stack.log"; exit 1; }
eval "$("$MIC_READER_STACK" env --dir "$dir")"

id0=$(field "$dir/cards/card-0.img" "card id")
id1=$(field "$dir/cards/card-1.img" "card id")
check "two cards of their own ($id0, $id1)" test -n "$id0" -a -n "$id1" -a "$id0" != "$id1"

out=$("$par" "$tmp/pos" 1234 123456 "$r0" "$r1" 2>&1); rc=$?
echo "$out"
check "pay_parallel: exit 0" test "$rc" -eq 0
check "reader 0: its card paid once" contains "$out" "^$r0: $id0 paid 1234 balance 98766 counter 2$"
check "reader 1: its card paid once" contains "$out" "^$r1: $id1 paid 1234 balance 98766 counter 2$"

# Again, so each card's second receipt follows its first.
out=$("$par" "$tmp/pos" 100 123456 "$r0" "$r1" 2>&1); rc=$?
echo "$out"
check "again: exit 0" test "$rc" -eq 0
check "again: reader 0" contains "$out" "^$r0: $id0 paid 100 balance 98666 counter 3$"
check "again: reader 1" contains "$out" "^$r1: $id1 paid 100 balance 98666 counter 3$"

# A wrong PIN on both at once: neither pays, both say why.
out=$("$par" "$tmp/pos" 100 000000 "$r0" "$r1" 2>&1); rc=$?
echo "$out"
check "wrong PIN: exit 1" test "$rc" -eq 1
check "wrong PIN: reader 0 refused" contains "$out" "^$r0: verifying the PIN: .*MIC_ERR_PIN_WRONG"
check "wrong PIN: reader 1 refused" contains "$out" "^$r1: verifying the PIN: .*MIC_ERR_PIN_WRONG"

for i in 0 1; do
	"$MIC_READER_STACK" eject "$i" --dir "$dir" >>"$tmp/stack.log" 2>&1
	check "card $i: image balance" test "$(field "$dir/cards/card-$i.img" balance)" = "98666 fen (986.66 CNY)"
	check "card $i: image counter" test "$(field "$dir/cards/card-$i.img" counter)" = 3
done

finish
