#!/usr/bin/env bash
# 'mic pay' proves the card genuine, in chip and in data, before the PIN,
# through the real stack (pcscd + vpcd): a genuine card pays; the keyless
# replay card of issue 10 (replay_card.py: the genuine card's FCI, files,
# chip certificate and a recorded answer of the chip) is refused for its
# chip, exit 4; a card whose EF.HOLDER was altered after personalization
# (a card image edited, its checksum redone) is refused for its data,
# exit 5: chip authentication alone took it for genuine. Neither is asked
# for the PIN, neither pays, neither leaves anything pending.
#
# Ports 37300-37309 belong to this test.
set -uo pipefail

V="$MIC_BUILD_DIR/tools/mic-vcard/mic-vcard"
here=$(cd "$(dirname "$0")" && pwd)
mic="$MIC_BUILD_DIR/tools/mic"
stack_wait="$MIC_BUILD_DIR/tools/mic-vcard/mic-stack-wait"
tmp="$MIC_TEST_TMP/pos-genuine"
dir="$MIC_TEST_TMP/stack-pos-genuine"   # scripts/test stops stack-* on a crash
port=37300     # reader 0: the stack's own card; reader 1: ours
reader1="Virtual PCD 00 01"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/card1.sh"

field() { "$V" show "$1" 2>/dev/null | sed -n "s/^$2: //p"; }

day="$tmp/day.jsonl"
# The PIN on standard input is not read when the card is refused first;
# MIC_PIN is a wrong one, so a PIN sent to a card would show.
pay() { # pay [options]
	MIC_PIN=000000 "$mic" pay -r "$reader1" --terminal "$tmp/pos" \
		--settle "$day" --id POS00042 --amount 30 "$@" 2>&1
}

rm -rf "$tmp"
mkdir -p "$tmp"
"$mic" pki init --dir "$tmp/pki" >"$tmp/pki.log" 2>&1 ||
	{ cat "$tmp/pki.log"; exit 1; }
"$mic" pki export-terminal --dir "$tmp/pki" --name hospital-pos \
	--out "$tmp/pos" >>"$tmp/pki.log" 2>&1 || { cat "$tmp/pki.log"; exit 1; }
for c in card tampered; do
	"$V" new --out "$tmp/$c.img" --sample --pki "$tmp/pki" \
		--serial "GEN-$c" >>"$tmp/card.log" 2>&1 ||
		{ cat "$tmp/card.log"; exit 1; }
done

# The holder's name, 张三, becomes 张四 (both 3 bytes in UTF-8) in the card
# state, and the image's SHA-256 is redone: the card serves the altered
# EF.HOLDER as its own, and nothing in the chip knows.
python3 - "$tmp/tampered.img" <<'PY'
import hashlib, sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
n = int.from_bytes(b[12:16], "big")
nv = bytes(b[16:16 + n])
old, new = "张三".encode(), "张四".encode()
if nv.count(old) != 1:
    sys.exit("the holder's name is not in the card state once")
nv = nv.replace(old, new)
out = b[:16] + nv
open(p, "wb").write(out + hashlib.sha256(out).digest())
PY
check "tampered: the image edited" test "$?" -eq 0
check "tampered: the holder's name changed" test "$(field "$tmp/tampered.img" name)" = "张四"

"$MIC_READER_STACK" start --dir "$dir" --port "$port" --readers 2 --cards 1 \
	--build "$MIC_BUILD_DIR" >"$tmp/stack.log" 2>&1 ||
	{ cat "$tmp/stack.log"; exit 1; }
eval "$("$MIC_READER_STACK" env --dir "$dir")"

# --- the genuine card pays ---------------------------------------------------
start_card "$tmp/card.img"
out=$(MIC_PIN=123456 "$mic" pay -r "$reader1" --terminal "$tmp/pos" \
	--settle "$day" --id POS00042 --amount 30 2>&1); rc=$?
echo "$out"
check "genuine: exit 0" test "$rc" -eq 0
check "genuine: PAID" contains "$out" "^PAID 30.00 yuan; balance 970.00 yuan"
# Its dump, as any reader can make it (test_pa.sh), for the replay card.
g=6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C2964FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5
{
	echo "00 A4 04 00 09 D1 56 00 00 01 4D 49 43 01 00"
	echo "80 88 01 13 53 A6 0D 90 02 11 00 95 01 3C 80 01 88 81 01 10 5F 49 41 04 $g 00"
	echo "80 CA BF 21 00"
	echo "00 B0 81 00 80"
	echo "00 B0 82 00 A0"
	echo "00 B0 83 00 40"
	echo "00 B0 86 00 30"
	echo "00 B0 85 00 00"
	for o in 01 02 03; do echo "00 B0 $o 00 00"; done
	echo "00 B0 84 00 00"
	for o in 01 02 03 04 05 06 07; do echo "00 B0 $o 00 00"; done
} >"$tmp/dump.apdu"
"$mic" apdu -r "$reader1" -f "$tmp/dump.apdu" >"$tmp/dump.out" 2>&1
check "dump: mic apdu exits 0" test "$?" -eq 0
stop_card
lines=$(wc -l <"$day")

# --- the keyless replay card: refused for its chip -----------------------------
python3 "$here/replay_card.py" dump <"$tmp/dump.out" >"$tmp/dump.json"
check "replay: dump parsed" test "$?" -eq 0
python3 "$here/replay_card.py" serve --port "$((port + 1))" "$tmp/dump.json" \
	2>>"$tmp/card.log" &
card_pid=$!
"$stack_wait" wait --timeout 10000 --present "$reader1" >/dev/null
out=$(pay); rc=$?
echo "$out"
check "replay: exit 4" test "$rc" -eq 4
check "replay: refused for its chip" contains "$out" "^REFUSED: card not genuine: chip authentication failed: the chip's key (SCP11): "
check "replay: no PIN tried" lacks "$out" "PIN"
check "replay: nothing pending" test ! -e "$day.pending"
check "replay: nothing settled" test "$(wc -l <"$day")" -eq "$lines"
out=$(pay --json); rc=$?
check "replay --json: exit 4" test "$rc" -eq 4
check "replay --json: not_genuine chip" test "$(jget 'd["not_genuine"]' <<<"$out")" = chip
check "replay --json: refused" test "$(jget 'd["result"]' <<<"$out")" = refused
stop_card

# --- the altered card: its chip is genuine, its data not -----------------------
start_card "$tmp/tampered.img"
out=$(pay); rc=$?
echo "$out"
check "tampered: exit 5" test "$rc" -eq 5
check "tampered: refused for its data" contains "$out" "^REFUSED: card not genuine: its data failed passive authentication: EF.SOD: .*(MIC_ERR_SOD_"
check "tampered: no PIN tried" lacks "$out" "PIN"
check "tampered: the altered name not shown" lacks "$out" "张四"
check "tampered: nothing pending" test ! -e "$day.pending"
check "tampered: nothing settled" test "$(wc -l <"$day")" -eq "$lines"
out=$(pay --json); rc=$?
check "tampered --json: exit 5" test "$rc" -eq 5
check "tampered --json: not_genuine data" test "$(jget 'd["not_genuine"]' <<<"$out")" = data
stop_card
check "tampered: the balance untouched" test "$(field "$tmp/tampered.img" balance)" = "100000 fen (1000.00 CNY)"

finish
