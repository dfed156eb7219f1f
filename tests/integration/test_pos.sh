#!/usr/bin/env bash
# The point of sale through the real stack: a test PKI from 'mic pki init',
# sample cards from 'mic-vcard new --sample --pki' served through pcscd +
# vpcd, 'mic pay' as the PKI's hospital terminal and 'mic credit' as its
# agency, the receipts in a settlement file checked by 'mic settle verify';
# every rule of the counter; a family member paying; and a power cut right
# before and right after the DEBIT (mic-vcard run --tear-after-apdus),
# resumed with 'mic pay --resume': exactly one debit, and the balance, the
# counter, the log and the settlement file agree.
#
# Ports 37200-37249 belong to this test.
set -uo pipefail

V="$MIC_BUILD_DIR/tools/mic-vcard/mic-vcard"
mic="$MIC_BUILD_DIR/tools/mic"
stack_wait="$MIC_BUILD_DIR/tools/mic-vcard/mic-stack-wait"
scp="$MIC_BUILD_DIR/tests/integration/scp_apdu"
tmp="$MIC_TEST_TMP/pos"
dir="$MIC_TEST_TMP/stack-pos"    # scripts/test stops stack-* on a crash
port=37200     # reader 0: the stack's own card; reader 1: ours
reader1="Virtual PCD 00 01"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/card1.sh"

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

field() { "$V" show "$1" 2>/dev/null | sed -n "s/^$2: //p"; }

day="$tmp/day.jsonl"
pay() { # pay [options]: mic pay as the hospital, PIN from MIC_PIN
	MIC_PIN=${PIN:-123456} "$mic" pay -r "$reader1" --terminal "$tmp/pos" \
		--settle "${SETTLE:-$day}" "$@" 2>&1
}
pay_new() { # pay_new AMOUNT [options]
	local amount=$1
	shift
	pay --id POS00042 --amount "$amount" "$@"
}

# An EF.FAMILY record (128 bytes): kinship 20, a valid number, a name,
# may-pay MAY, bound 2026-03-01.
member() { # member SSN MAY
	python3 - "$1" "$2" <<'PY'
import sys
ssn, may = sys.argv[1].encode(), int(sys.argv[2])
name = "李小四".encode()
body = (b"\x80\x02" + b"20" + b"\x81\x12" + ssn + b"\x5f\x20" +
        bytes([len(name)]) + name + b"\x82\x01" + bytes([may]) +
        b"\x83\x04\x20\x26\x03\x01")
rec = b"\xe3" + bytes([len(body)]) + body
print((rec + bytes(128 - len(rec))).hex())
PY
}

rm -rf "$tmp"
mkdir -p "$tmp"
"$mic" pki init --dir "$tmp/pki" >"$tmp/pki.log" 2>&1 ||
	{ cat "$tmp/pki.log"; exit 1; }
for t in hospital-pos:pos agency:agency; do
	"$mic" pki export-terminal --dir "$tmp/pki" --name "${t%%:*}" \
		--out "$tmp/${t##*:}" >>"$tmp/pki.log" 2>&1 ||
		{ cat "$tmp/pki.log"; exit 1; }
done
"$V" new --out "$tmp/card.img" --sample --pki "$tmp/pki" --serial POS0001 \
	>>"$tmp/card.log" 2>&1 || { cat "$tmp/card.log"; exit 1; }
"$V" new --out "$tmp/blank.img" --pki "$tmp/pki" --serial POS0002 \
	>>"$tmp/card.log" 2>&1 || { cat "$tmp/card.log"; exit 1; }
for c in lockpin blocked terminated tear every; do
	"$V" new --out "$tmp/$c.img" --sample --pki "$tmp/pki" \
		--serial "POS-$c" >>"$tmp/card.log" 2>&1 ||
		{ cat "$tmp/card.log"; exit 1; }
done

"$MIC_READER_STACK" start --dir "$dir" --port "$port" --readers 2 --cards 1 \
	--build "$MIC_BUILD_DIR" >"$tmp/stack.log" 2>&1 ||
	{ cat "$tmp/stack.log"; exit 1; }
eval "$("$MIC_READER_STACK" env --dir "$dir")"

# --- the bank binds two family members: record 1 may pay, record 2 not ---
start_card "$tmp/card.img"
out=$("$scp" pcsc "$reader1" "$tmp/pki" bank \
	"00 DC 01 3C 80 $(member 110105201001010029 1)" \
	"00 DC 02 3C 80 $(member 110105198202020034 0)" 2>&1)
check "the bank binds two members ($out)" test "$?" -eq 0

# --- a payment -------------------------------------------------------------
out=$(pay_new 30.00 --ref 000102030405060708090A0B0C0D0E0F); rc=$?
echo "$out"
check "pay: exit 0" test "$rc" -eq 0
check "pay: the holder's name" contains "$out" "^name: ."
check "pay: card state" contains "$out" "^card state: active"
check "pay: the verdict" contains "$out" "^PAID 30.00 yuan; balance 970.00 yuan"
check "pay: no pending left" test ! -e "$day.pending"
check "settlement file is 0600" test "$(stat -c %a "$day")" = 600
out=$(pay_new 1.5 --json); rc=$?
check "pay --json: exit 0" test "$rc" -eq 0
check "pay --json: done" test "$(jget 'd["result"]' <<<"$out")" = done
check "pay --json: amount in fen" test "$(jget 'd["amount"]' <<<"$out")" = 150
check "pay --json: balance in fen" test "$(jget 'd["balance"]' <<<"$out")" = 96850

# --- a family member who may pay; the rules -------------------------------
out=$(pay_new 2 --payer 1); rc=$?
check "member 1 pays: exit 0 ($out)" test "$rc" -eq 0
check "member 1 pays: named" contains "$out" "^payer: family member 1, 李小四"
out=$(pay_new 2 --payer 2); rc=$?
check "member 2 may not pay: exit 1" test "$rc" -eq 1
check "member 2 may not pay: said ($out)" contains "$out" "^REFUSED: this family member .*may not pay"
out=$(pay_new 2 --payer 3 --json); rc=$?
check "record 3 not bound: exit 1" test "$rc" -eq 1
check "record 3 not bound: its code" test "$(jget 'd["error"]' <<<"$out")" = MIC_ERR_PAYER_NOT_BOUND
out=$(pay_new 5000); rc=$?
check "insufficient balance: exit 1" test "$rc" -eq 1
check "insufficient balance: said ($out)" contains "$out" "^REFUSED: insufficient balance"
check "insufficient balance: the balance shown" contains "$out" "^balance: 966.50 yuan"
for a in 0 -5 0.00 99999999999999999.99 184467440737095516.16; do
	out=$(pay_new "$a"); rc=$?
	check "amount $a: exit 1 ($out)" test "$rc" -eq 1
	check "amount $a: invalid amount" contains "$out" "invalid amount"
done
out=$(pay_new 1.234); rc=$?
check "amount with 3 decimals: usage" test "$rc" -eq 2
out=$(PIN=654321 pay_new 2); rc=$?
check "wrong PIN: exit 1" test "$rc" -eq 1
check "wrong PIN: tries left" contains "$out" "^REFUSED: wrong PIN, 2 tries left"
check "wrong PIN: the balance shown" contains "$out" "^balance: 966.50 yuan"
out=$(PIN=654321 pay_new 2 --json); rc=$?
check "wrong PIN --json: tries" test "$(jget 'd["tries_left"]' <<<"$out")" = 1
check "wrong PIN --json: code" test "$(jget 'd["error"]' <<<"$out")" = MIC_ERR_PIN_WRONG
out=$(env -u MIC_PIN "$mic" pay -r "$reader1" --terminal "$tmp/pos" --settle "$day" \
	--id POS00042 --amount 0.01 <<<"123456" 2>&1); rc=$?
check "PIN from stdin: paid ($out)" test "$rc" -eq 0
# The reader's PIN pad: vpcd has none, so --pinpad is refused before any
# VERIFY or DEBIT and no PIN is read from the environment or stdin.
out=$(MIC_PIN=123456 "$mic" pay -r "$reader1" --terminal "$tmp/pos" --settle "$day" \
	--id POS00042 --amount 0.01 --pinpad 2>&1 </dev/null); rc=$?
check "--pinpad without a pad: exit 1 ($rc)" test "$rc" -eq 1
check "--pinpad without a pad: said" contains "$out" "the reader has no PIN pad"
check "--pinpad without a pad: nothing pending" test ! -e "$day.pending"
out=$("$mic" credit -r "$reader1" --terminal "$tmp/pos" --settle "$day" \
	--id POS00042 --amount 1 --pinpad 2>&1); rc=$?
check "credit --pinpad: usage (exit 2)" test "$rc" -eq 2
out=$("$mic" log -r "$reader1" --terminal "$tmp/pos"); rc=$?
echo "$out"
check "log: exit 0" test "$rc" -eq 0
check "log: balance" contains "$out" "^balance: 966.49 yuan"
check "log: counter" contains "$out" "^counter: 5"
check "log: newest first" contains "$(sed -n 3p <<<"$out")" "^ *5 .*debit *0.01 yuan  POS00042  payer 0"
check "log: the member's payment" contains "$out" "^ *4 .*debit *2.00 yuan  POS00042  payer 1"
out=$(MIC_PIN=123456 "$mic" log -r "$reader1" --pin --json); rc=$?
check "log --pin --json: exit 0" test "$rc" -eq 0
check "log --json: 5 records" test "$(jget 'len(d["log"])' <<<"$out")" = 5
check "log --json: balance in fen" test "$(jget 'd["balance"]' <<<"$out")" = 96649

# --- the agency's allocation ---------------------------------------------
out=$("$mic" credit -r "$reader1" --terminal "$tmp/agency" --settle "$day" \
	--id AGENCY01 --amount 500 2>&1); rc=$?
check "credit: exit 0 ($out)" test "$rc" -eq 0
check "credit: the verdict" contains "$out" "^CREDITED 500.00 yuan; balance 1466.49 yuan"
out=$(pay_new 1 --terminal "$tmp/agency" 2>&1); rc=$?
check "the agency may not take a payment" test "$rc" -eq 1
stop_card

out=$("$mic" settle verify --trust "$tmp/pki" "$day" 2>&1); rc=$?
echo "$out"
check "settle verify: exit 0" test "$rc" -eq 0
check "settle verify: every receipt" contains "$out" "settlement: OK: 5 receipts verified"
check "settle verify: totals" contains "$out" "POS00042 *4 debits 33.51 yuan"

# --- states ----------------------------------------------------------------
start_card "$tmp/blank.img"
out=$(pay_new 1); rc=$?
check "a blank card: exit 1" test "$rc" -eq 1
check "a blank card: not active ($out)" contains "$out" "^REFUSED: card not active"
stop_card
start_card "$tmp/blocked.img"
"$scp" pcsc "$reader1" "$tmp/pki" bank '00 04 00 00 01 01' >/dev/null 2>&1
out=$(pay_new 1); rc=$?
check "a blocked card: exit 1" test "$rc" -eq 1
check "a blocked card: said ($out)" contains "$out" "^REFUSED: card blocked"
check "a blocked card: its state" contains "$out" "^card state: blocked"
stop_card
start_card "$tmp/terminated.img"
"$scp" pcsc "$reader1" "$tmp/pki" bank '00 E6 00 00 01 01' >/dev/null 2>&1
out=$(pay_new 1 --json); rc=$?
check "a terminated card: exit 1" test "$rc" -eq 1
check "a terminated card: its code ($out)" test "$(jget 'd["error"]' <<<"$out")" = MIC_ERR_CARD_TERMINATED
stop_card
start_card "$tmp/lockpin.img"
PIN=111111 pay_new 1 >/dev/null
PIN=111111 pay_new 1 >/dev/null
out=$(PIN=111111 pay_new 1); rc=$?
check "third wrong PIN: exit 1" test "$rc" -eq 1
check "third wrong PIN: blocked ($out)" contains "$out" "^REFUSED: PIN blocked"
out=$(pay_new 1 --json); rc=$?
check "the right PIN after: still blocked" test "$(jget 'd["error"]' <<<"$out")" = MIC_ERR_PIN_BLOCKED
stop_card
check "no receipt from refusals" test "$(wc -l <"$day")" -eq 5

# --- a power cut right after, then right before, the DEBIT ----------------
# Learn the DEBIT's place in the flow (the same every time) from the
# card's trace: the protected DEBIT is "84 54".
cp "$tmp/tear.img" "$tmp/learn.img"
CARDLOG="$tmp/learn.log" start_card "$tmp/learn.img" -v
SETTLE="$tmp/learn.jsonl" pay_new 1 >/dev/null
stop_card
n=$(grep -o '> [0-9A-F][0-9A-F] [0-9A-F][0-9A-F]' "$tmp/learn.log" |
	grep -n '> 84 54' | head -1 | cut -d: -f1)
tear="$tmp/tear.jsonl"
check "the DEBIT's place is found (${n:-none})" test "${n:-0}" -ge 5

start_card "$tmp/tear.img" --tear-after-apdus "$n:after"
out=$(SETTLE=$tear pay_new 12.34 --ref A0A1A2A3A4A5A6A7A8A9AAABACADAEAF); rc=$?
reap_card
check "torn after the DEBIT: exit 3 ($out)" test "$rc" -eq 3
check "torn: NOT FINISHED said" contains "$out" "^NOT FINISHED: .*--resume"
check "torn: the card debited" contains "$(field "$tmp/tear.img" balance)" "^98766 fen"
check "torn: the payment waits" test -s "$tear.pending"
check "torn: nothing settled yet" test ! -s "$tear"
start_card "$tmp/tear.img"
out=$(SETTLE=$tear pay_new 1); rc=$?
check "a new payment before the resume: refused ($out)" contains "$out" "unfinished payment .*A0A1A2"
check "... exit 1" test "$rc" -eq 1
out=$(SETTLE=$tear pay --resume=00000000000000000000000000000000); rc=$?
check "resume of another reference: refused" test "$rc" -eq 1
out=$(SETTLE=$tear pay --resume=A0A1A2A3A4A5A6A7A8A9AAABACADAEAF); rc=$?
echo "$out"
check "resumed: exit 0" test "$rc" -eq 0
check "resumed: the same payment" contains "$out" "^PAID 12.34 yuan; balance 987.66 yuan (receipt 2 "
check "resumed: pending gone" test ! -e "$tear.pending"
out=$("$mic" log -r "$reader1" --terminal "$tmp/pos"); rc=$?
check "resumed: one debit in the log" test "$(grep -c ' debit ' <<<"$out")" -eq 1
check "resumed: counter 2" contains "$out" "^counter: 2"
check "resumed: balance" contains "$out" "^balance: 987.66 yuan"
stop_card
check "resumed: the image agrees" contains "$(field "$tmp/tear.img" balance)" "^98766 fen"
check "resumed: image counter" test "$(field "$tmp/tear.img" counter)" = 2

# Cut before the DEBIT reached the card: the resume is its only debit.
start_card "$tmp/tear.img" --tear-after-apdus "$n:before"
out=$(SETTLE=$tear pay_new 0.66); rc=$?
reap_card
check "torn before the DEBIT: exit 3 ($out)" test "$rc" -eq 3
check "torn before: nothing debited" contains "$(field "$tmp/tear.img" balance)" "^98766 fen"
start_card "$tmp/tear.img"
out=$(SETTLE=$tear pay --resume); rc=$?
check "resumed before: exit 0 ($out)" test "$rc" -eq 0
check "resumed before: paid once" contains "$out" "^PAID 0.66 yuan; balance 987.00 yuan (receipt 3 "
stop_card
check "resumed before: image counter" test "$(field "$tmp/tear.img" counter)" = 3
out=$("$mic" settle verify --trust "$tmp/pki" "$tear" 2>&1); rc=$?
echo "$out"
check "settle verify after the tears: exit 0" test "$rc" -eq 0
check "settle verify after the tears: 2 receipts, no gap" contains "$out" "settlement: OK: 2 receipts verified"

# A power cut after every APDU of a checkout, up to the DEBIT's answer:
# before the DEBIT nothing is pending and the checkout starts again; after
# it, --resume. Each checkout pays 0.01 yuan exactly once.
echo "the DEBIT is APDU $n of a checkout"
every="$tmp/every.jsonl"
for ((i = 1; i <= n; i++)); do
	start_card "$tmp/every.img" --tear-after-apdus "$i:after"
	out=$(SETTLE=$every pay_new 0.01); rc=$?
	reap_card
	start_card "$tmp/every.img"
	if ((i < n)); then
		check "cut after APDU $i: refused, nothing pending ($rc)" test "$rc" -eq 1 -a ! -e "$every.pending"
		out=$(SETTLE=$every pay_new 0.01); rc=$?
	else
		check "cut after APDU $i: not finished ($rc)" test "$rc" -eq 3
		out=$(SETTLE=$every pay --resume); rc=$?
	fi
	check "cut after APDU $i: then paid once ($out)" contains "$out" "^PAID 0.01 yuan; balance $(printf '%d.%02d' $(((100000 - i) / 100)) $(((100000 - i) % 100))) yuan (receipt $((i + 1)) "
	stop_card
done
check "every cut: the image's counter" test "$(field "$tmp/every.img" counter)" = "$((n + 1))"
check "every cut: the image's balance" contains "$(field "$tmp/every.img" balance)" "^$((100000 - n)) fen"
out=$("$mic" settle verify --trust "$tmp/pki" "$every" 2>&1); rc=$?
check "every cut: settle verify ($out)" test "$rc" -eq 0
check "every cut: $n receipts, no gap" contains "$out" "settlement: OK: $n receipts verified, 0 duplicates"

# A pending file that is not one (edited, truncated): nothing is paid
# until a person looks at it.
echo '{"type":"debit","amount":-1}' >"$tmp/odd.jsonl.pending"
start_card "$tmp/tear.img"
out=$(SETTLE="$tmp/odd.jsonl" pay_new 1); rc=$?
check "an unreadable pending file: exit 1" test "$rc" -eq 1
check "an unreadable pending file: said ($out)" contains "$out" "odd.jsonl.pending: unreadable"
out=$(SETTLE="$tmp/odd.jsonl" pay --resume); rc=$?
check "an unreadable pending file: no resume" test "$rc" -eq 1
stop_card
check "an unreadable pending file: nothing debited" test "$(field "$tmp/tear.img" counter)" = 3

finish
