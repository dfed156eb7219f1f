#!/usr/bin/env bash
# examples/pos_checkout through the real stack (pcscd + vpcd): it waits
# for the card by PnP notification (started before any card is in the
# reader), proves it genuine, pays and prints the receipt; a card that
# tears itself during the checks (before any payment) or right after the
# DEBIT (mic-vcard run --tear-after-apdus) is waited for again, and the
# interrupted DEBIT is resumed from the state file: paid once. A state
# file left by a program that was killed is resumed by the next run, with
# the stored amount, not the new one.
#
# Ports 37320-37329 belong to this test.
set -uo pipefail

V="$MIC_BUILD_DIR/tools/mic-vcard/mic-vcard"
mic="$MIC_BUILD_DIR/tools/mic"
ex="$MIC_BUILD_DIR/examples/example_pos_checkout"
stack_wait="$MIC_BUILD_DIR/tools/mic-vcard/mic-stack-wait"
tmp="$MIC_TEST_TMP/pos-checkout"
dir="$MIC_TEST_TMP/stack-pos-checkout"   # scripts/test stops stack-* on a crash
port=37320     # reader 0: the stack's own card; reader 1: ours
reader1="Virtual PCD 00 01"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/card1.sh"
card_pid= ex_pid=

cleanup() {
	[[ -n $card_pid ]] && kill -TERM "$card_pid" 2>/dev/null
	[[ -n $ex_pid ]] && kill -TERM "$ex_pid" 2>/dev/null
	"$MIC_READER_STACK" stop --dir "$dir" >/dev/null 2>&1
}
trap cleanup EXIT

start_card() { # start_card IMAGE [run options]
	local img=$1
	shift
	"$V" run "$img" --port "$((port + 1))" "$@" 2>>"${CARDLOG:-$tmp/card.log}" &
	card_pid=$!
	"$stack_wait" wait --timeout 10000 --present "$reader1" >/dev/null
}

# A card that tore itself: it leaves by itself.
reap_card() {
	wait "$card_pid" 2>/dev/null
	card_pid=
	"$stack_wait" wait --timeout 10000 --absent "$reader1" >/dev/null
}

# start_ex AMOUNT OUT: the example in the background, waiting for a card.
start_ex() {
	MIC_PIN=123456 "$ex" "$tmp/pos" POS00042 "$1" "$state" "$reader1" \
		>"$2" 2>&1 &
	ex_pid=$!
	waiting_for "$2" 1
}

# waiting_for OUT N: the example said "waiting for a card" N times.
waiting_for() {
	for _ in $(seq 100); do
		(($(grep -c '^waiting for a card$' "$1") >= $2)) && return 0
		sleep 0.1
	done
	return 1
}

end_ex() { # end_ex: its exit status
	local rc
	wait "$ex_pid"
	rc=$?
	ex_pid=
	return "$rc"
}

field() { "$V" show "$1" 2>/dev/null | sed -n "s/^$2: //p"; }

rm -rf "$tmp"
mkdir -p "$tmp"
state="$tmp/checkout.state"
"$mic" pki init --dir "$tmp/pki" >"$tmp/pki.log" 2>&1 ||
	{ cat "$tmp/pki.log"; exit 1; }
"$mic" pki export-terminal --dir "$tmp/pki" --name hospital-pos \
	--out "$tmp/pos" >>"$tmp/pki.log" 2>&1 || { cat "$tmp/pki.log"; exit 1; }
"$V" new --out "$tmp/card.img" --sample --pki "$tmp/pki" --serial CHK0001 \
	>>"$tmp/card.log" 2>&1 || { cat "$tmp/card.log"; exit 1; }

"$MIC_READER_STACK" start --dir "$dir" --port "$port" --readers 2 --cards 1 \
	--build "$MIC_BUILD_DIR" >"$tmp/stack.log" 2>&1 ||
	{ cat "$tmp/stack.log"; exit 1; }
eval "$("$MIC_READER_STACK" env --dir "$dir")"

# --- waiting first, the card after: paid -----------------------------------
start_ex 100 "$tmp/a.out"
check "a: waits for the card" test "$?" -eq 0
CARDLOG="$tmp/learn.log" start_card "$tmp/card.img" -v
end_ex; rc=$?
stop_card
out=$(cat "$tmp/a.out")
echo "$out"
check "a: exit 0" test "$rc" -eq 0
check "a: the holder" contains "$out" "^holder: 张三$"
check "a: the receipt" contains "$out" "^receipt: paid 1.00 yuan at .*, terminal POS00042, balance 999.00 yuan$"
check "a: PAID" contains "$out" "^PAID$"
check "a: no state left" test ! -e "$state"
check "a: the image debited" test "$(field "$tmp/card.img" balance)" = "99900 fen (999.00 CNY)"
# The DEBIT's place in the checkout, from the card's trace ("84 54").
n=$(grep -o '> [0-9A-F][0-9A-F] [0-9A-F][0-9A-F]' "$tmp/learn.log" |
	grep -n '> 84 54' | head -1 | cut -d: -f1)
check "the DEBIT's place is found (${n:-none})" test "${n:-0}" -ge 5
n=${n:-5}

# --- the card gone during the checks, before any payment ---------------------
start_ex 200 "$tmp/b.out"
start_card "$tmp/card.img" --tear-after-apdus 3:after
reap_card
waiting_for "$tmp/b.out" 2
check "b: waits again after the card left" test "$?" -eq 0
check "b: nothing kept before the payment" test ! -e "$state"
start_card "$tmp/card.img"
end_ex; rc=$?
stop_card
out=$(cat "$tmp/b.out")
echo "$out"
check "b: exit 0" test "$rc" -eq 0
check "b: said the card left" contains "$out" "^card removed or not answering"
check "b: a new payment, not a resumed one" lacks "$out" "resuming"
check "b: paid once" test "$(field "$tmp/card.img" balance)" = "99700 fen (997.00 CNY)"

# --- the card gone right after the DEBIT: resumed, paid once -----------------
start_ex 300 "$tmp/c.out"
start_card "$tmp/card.img" --tear-after-apdus "$n:after"
reap_card
waiting_for "$tmp/c.out" 2
check "c: waits again after the card left" test "$?" -eq 0
check "c: the payment kept" test -s "$state"
check "c: the card did debit" test "$(field "$tmp/card.img" balance)" = "99400 fen (994.00 CNY)"
start_card "$tmp/card.img"
end_ex; rc=$?
stop_card
out=$(cat "$tmp/c.out")
echo "$out"
check "c: exit 0" test "$rc" -eq 0
check "c: resumed" contains "$out" "^resuming the interrupted payment of card "
check "c: the receipt of the one debit" contains "$out" "^receipt: paid 3.00 yuan at .*, balance 994.00 yuan$"
check "c: debited once" test "$(field "$tmp/card.img" balance)" = "99400 fen (994.00 CNY)"
check "c: no state left" test ! -e "$state"

# --- the program killed with the DEBIT unsent: the next run resumes it -------
start_ex 400 "$tmp/d.out"
start_card "$tmp/card.img" --tear-after-apdus "$n:before"
reap_card
waiting_for "$tmp/d.out" 2
check "d: the payment kept" test -s "$state"
kill -TERM "$ex_pid"
wait "$ex_pid" 2>/dev/null
ex_pid=
check "d: nothing debited" test "$(field "$tmp/card.img" balance)" = "99400 fen (994.00 CNY)"
start_ex 999 "$tmp/e.out"
start_card "$tmp/card.img"
end_ex; rc=$?
stop_card
out=$(cat "$tmp/e.out")
echo "$out"
check "e: exit 0" test "$rc" -eq 0
check "e: resumed" contains "$out" "^resuming the interrupted payment"
check "e: the stored amount, not the new one" contains "$out" "^receipt: paid 4.00 yuan at .*, balance 990.00 yuan$"
check "e: debited once" test "$(field "$tmp/card.img" balance)" = "99000 fen (990.00 CNY)"
check "e: no state left" test ! -e "$state"

finish
