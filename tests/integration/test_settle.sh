#!/usr/bin/env bash
# Settlement through the real stack: a test PKI from 'mic pki init', a
# sample card from 'mic-vcard new --sample --pki' served through pcscd +
# vpcd, DEBITs inside SCP11a channels of the PKI's hospital terminal
# (scp_apdu: VERIFY, then DEBIT, as the card profile's 3.11 says), each
# receipt appended to a settlement file by libmic (settle_append), and
# 'mic settle verify' / 'mic receipt verify' on the file, on a tampered
# copy, on a duplicate upload, on a file missing a receipt, and on the
# receipts of a copy of the chip (a clone alarm).
#
# Ports 37100-37149 belong to this test.
set -uo pipefail

V="$MIC_BUILD_DIR/tools/mic-vcard/mic-vcard"
mic="$MIC_BUILD_DIR/tools/mic"
stack_wait="$MIC_BUILD_DIR/tools/mic-vcard/mic-stack-wait"
scp="$MIC_BUILD_DIR/tests/integration/scp_apdu"
append="$MIC_BUILD_DIR/tests/integration/settle_append"
tmp="$MIC_TEST_TMP/settle"
dir="$MIC_TEST_TMP/stack-settle"    # scripts/test stops stack-* on a crash
port=37100     # reader 0: the stack's own card; reader 1: ours
reader1="Virtual PCD 00 01"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/card1.sh"

# The 40 bytes of DEBIT data: amount, 2026-12-06 09:30:00, terminal
# "POS00042", reference, payer 00 (the holder).
debit_data() { printf '%016X20261206093000504F533030303432%032X00' "$1" "$2"; }

# pay AMOUNT REF FILE: VERIFY and DEBIT in one SCP11a channel as the
# hospital's terminal, then the receipt into FILE.
pay() {
	local data out rsp
	data=$(debit_data "$1" "$2")
	out=$("$scp" pcsc "$reader1" "$tmp/pki" hospital-pos \
		'00 20 00 81 08 26 12 34 56 FF FF FF FF' "80 54 00 00 28 $data 00" 2>&1) ||
		{ echo "$out" >&2; return 1; }
	rsp=$(grep '^< ' <<<"$out" | tail -1 | sed 's/^< //; s/ //g')
	[[ ${rsp: -4} == 9000 ]] || { echo "$out" >&2; return 1; }
	"$append" "$reader1" "$data" "${rsp:0:${#rsp}-4}" "$3" >/dev/null
}

rm -rf "$tmp"
mkdir -p "$tmp"
"$mic" pki init --dir "$tmp/pki" >"$tmp/pki.log" 2>&1 ||
	{ cat "$tmp/pki.log"; exit 1; }
"$mic" pki init --dir "$tmp/foreign" >>"$tmp/pki.log" 2>&1 ||
	{ cat "$tmp/pki.log"; exit 1; }
out=$("$V" new --out "$tmp/card.img" --sample --pki "$tmp/pki" --serial ST0001 2>&1)
check "new --sample --pki exits 0 ($out)" test "$?" -eq 0
# The chip copied whole, keys included, before it paid anything.
cp "$tmp/card.img" "$tmp/clone.img"

"$MIC_READER_STACK" start --dir "$dir" --port "$port" --readers 2 --cards 1 \
	--build "$MIC_BUILD_DIR" >"$tmp/stack.log" 2>&1 ||
	{ cat "$tmp/stack.log"; exit 1; }
eval "$("$MIC_READER_STACK" env --dir "$dir")"

day="$tmp/day.jsonl"
start_card "$tmp/card.img"
check "debit 1 and its receipt" pay 1250 1 "$day"
check "debit 2 and its receipt" pay 300 2 "$day"
check "debit 3 and its receipt" pay 99 3 "$day"
stop_card
check "settlement file is 0600" test "$(stat -c %a "$day")" = 600
check "three lines" test "$(wc -l <"$day")" -eq 3

out=$("$mic" settle verify --trust "$tmp/pki" "$day" 2>&1); rc=$?
echo "$out"
check "settle verify: exit 0" test "$rc" -eq 0
check "settle verify: OK" contains "$out" "settlement: OK: 3 receipts verified, 0 duplicates"
check "totals per terminal" contains "$out" "POS00042 *3 debits 16.49 yuan, 0 credits 0.00 yuan"
check "totals per day" contains "$out" "20261206 *3 debits 16.49 yuan"
out=$("$mic" settle verify --json --trust "$tmp/pki/trust" "$day" 2>&1); rc=$?
check "settle verify --json: exit 0" test "$rc" -eq 0
check "settle verify --json: ok" contains "$out" '"ok": true'
check "settle verify --json: debit total in fen" contains "$out" '"debit_total": 1649'
out=$("$mic" receipt verify --trust "$tmp/pki" "$day" 2 2>&1); rc=$?
echo "$out"
check "receipt verify line 2: exit 0" test "$rc" -eq 0
check "receipt verify line 2: the amount" contains "$out" "debit of 3.00 yuan"
check "receipt verify line 2: OK" contains "$out" "^receipt: OK"
# One receipt given as hex, with its card certificate in DER.
hex=$(python3 -c 'import json,sys; o=json.loads(open(sys.argv[1]).readline()); open(sys.argv[2],"wb").write(bytes.fromhex(o["cert"])); print(o["receipt"])' "$day" "$tmp/cert.der")
out=$("$mic" receipt verify --trust "$tmp/pki" --json --cert "$tmp/cert.der" "$hex" 2>&1); rc=$?
check "receipt verify HEX --cert: exit 0 ($out)" test "$rc" -eq 0
check "receipt verify HEX --cert: amount in fen" contains "$out" '"amount": 1250'
check "receipt verify HEX --cert: ok" contains "$out" '"result": "ok"'
out=$("$mic" receipt verify --trust "$tmp/pki" --cert "$tmp/cert.der" "${hex:0:100}" 2>&1); rc=$?
check "receipt verify of a cut receipt: exit 1" test "$rc" -eq 1
check "... malformed" contains "$out" "MIC_ERR_RECEIPT_FORMAT\|malformed"
out=$("$mic" settle verify --trust "$tmp/foreign" "$day" 2>&1); rc=$?
check "another PKI's trust store: exit 1" test "$rc" -eq 1
check "... untrusted" contains "$out" "MIC_ERR_CERT_UNTRUSTED"

# A tampered copy: line 2's amount (byte 48 of the receipt) from 300 fen
# (01 2C) to 0x2D.
bad="$tmp/tampered.jsonl"
python3 - "$day" "$bad" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
o = json.loads(lines[1])
r = bytearray(bytes.fromhex(o["receipt"]))
assert r[47:49] == b"\x01\x2c", r[41:49].hex()
r[48] = 0x2D
o["receipt"] = r.hex()
lines[1] = json.dumps(o, separators=(",", ":"))
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
PY
out=$("$mic" settle verify --trust "$tmp/pki" "$bad" 2>&1); rc=$?
echo "$out"
check "tampered: exit 1" test "$rc" -eq 1
check "tampered: line 2 fails its signature" contains "$out" "tampered.jsonl:2: FAILED: .*MIC_ERR_RECEIPT_SIGNATURE"
out=$("$mic" receipt verify --trust "$tmp/pki" "$bad" 2 2>&1); rc=$?
check "receipt verify tampered: exit 1" test "$rc" -eq 1
check "receipt verify tampered: FAILED" contains "$out" "^receipt: FAILED: .*MIC_ERR_RECEIPT_SIGNATURE"

# A duplicate upload is said, and not an alarm; a missing receipt is a gap.
cat "$day" "$day" >"$tmp/twice.jsonl"
out=$("$mic" settle verify --trust "$tmp/pki" "$tmp/twice.jsonl" 2>&1); rc=$?
check "duplicate upload: exit 0 ($out)" test "$rc" -eq 0
check "duplicate upload: said" contains "$out" "^duplicate: .*twice.jsonl:4 is the same receipt as .*twice.jsonl:1"
check "duplicate upload: counted once" contains "$out" "3 debits 16.49 yuan"
sed -n '1p;3p' "$day" >"$tmp/gap.jsonl"
out=$("$mic" settle verify --trust "$tmp/pki" "$tmp/gap.jsonl" 2>&1); rc=$?
check "gap: exit 1 ($out)" test "$rc" -eq 1
check "gap: said" contains "$out" "^GAP: card .*(MIC_ERR_COUNTER_GAP)"
printf 'garbage\n' >>"$tmp/gap.jsonl"
out=$("$mic" settle verify --trust "$tmp/pki" "$tmp/gap.jsonl" 2>&1)
check "malformed line named by number" contains "$out" "gap.jsonl:3: FAILED: not JSON"

out=$("$mic" settle verify --trust "$tmp/pki" "$day" "$tmp/none.jsonl" 2>&1); rc=$?
check "a missing file: exit 1" test "$rc" -eq 1
check "a missing file: named" contains "$out" "none.jsonl: FAILED: no such file (MIC_ERR_NOT_FOUND)"

# The copy of the chip pays elsewhere: its receipt is genuine, and takes a
# counter the original already used.
clone="$tmp/clone.jsonl"
start_card "$tmp/clone.img"
check "the clone's debit" pay 5000 77 "$clone"
stop_card
out=$("$mic" settle verify --trust "$tmp/pki" "$clone" 2>&1); rc=$?
check "the clone's file alone verifies" test "$rc" -eq 0
out=$("$mic" settle verify --trust "$tmp/pki" "$day" "$clone" 2>&1); rc=$?
echo "$out"
check "clone: exit 1" test "$rc" -eq 1
check "clone: alarm" contains "$out" "^CLONE ALARM: card .*day.jsonl:1 and .*clone.jsonl:1 .*(MIC_ERR_CLONE)"
out=$("$mic" settle verify --json --trust "$tmp/pki" "$day" "$clone" 2>&1)
check "clone --json" contains "$out" '"kind": "clone"'
check "clone --json: its mic_rc" contains "$out" '"result": "MIC_ERR_CLONE"'

finish
