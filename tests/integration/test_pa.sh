#!/usr/bin/env bash
# Is a card genuine, through the real stack: a test PKI from 'mic pki
# init', a sample card from 'mic-vcard new --sample --pki' (CERT.SD.ECKA
# from the chip factory, EF.CERT issued over the key the card generated,
# EF.SOD signed by the document signer), served through pcscd + vpcd, and
# 'mic card verify' as a terminal runs it: chip authentication, then
# passive authentication. Then what must fail: a card of another PKI
# (untrusted chip), a card made without a PKI (no chip key), and the clone
# of issue 10: a keyless card (replay_card.py) that serves the genuine
# card's dumped FCI, files, chip certificate and a recorded answer of the
# chip, which passive authentication alone took for genuine. Anonymous
# verification checks the public files and says it could not check the
# holder's.
#
# Ports 36500-36599 belong to this test.
set -uo pipefail

V="$MIC_BUILD_DIR/tools/mic-vcard/mic-vcard"
here=$(cd "$(dirname "$0")" && pwd)
mic="$MIC_BUILD_DIR/tools/mic"
stack_wait="$MIC_BUILD_DIR/tools/mic-vcard/mic-stack-wait"
tmp="$MIC_TEST_TMP/pa"
dir="$MIC_TEST_TMP/stack-pa"        # scripts/test stops stack-* on a crash
port=36500     # reader 0: the stack's own card; reader 1: ours
reader1="Virtual PCD 00 01"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/card1.sh"

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
check "verify: chip OK" contains "$out" "chip authentication: OK"
# Anonymous (SCP11b): the holder's files are not its to read or check.
check "verify: names what it checked" contains "$out" "^checked: EF.CARD, EF.CERT against EF.SOD$"
check "verify: names what it could not check" contains "$out" "^not checked: EF.HOLDER, EF.INSURANCE"
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
check "foreign card: untrusted chip" contains "$out" "chip authentication: FAILED: CERT.SD.ECKA: .*MIC_ERR_CERT_UNTRUSTED"
stop_card

# A card without a PKI: no chip key (and the placeholder EF.SOD).
start_card "$tmp/plain.img"
out=$("$mic" card verify -r "$reader1" --trust "$tmp/pki" 2>&1); rc=$?
echo "$out"
check "placeholder card: exit 1" test "$rc" -eq 1
check "placeholder card: no chip key" contains "$out" "chip authentication: FAILED: CERT.SD.ECKA: .*MIC_SW_REFDATA_NOT_FOUND"
stop_card

# The keyless replay card. First the dump, as any reader can make it: the
# FCI, one INTERNAL AUTHENTICATE (an ephemeral key: the base point), the
# chip's certificate, and every byte of the public files. EF.HOLDER,
# EF.INSURANCE and EF.ACTIVATION answer 6982 in plain (card profile 4.3),
# so the dump has none of them and the clone cannot serve them.
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
start_card "$tmp/card.img"
"$mic" apdu -r "$reader1" -f "$tmp/dump.apdu" >"$tmp/dump.out" 2>&1
check "dump: mic apdu exits 0" test "$?" -eq 0
check "dump: the holder's files refused" test "$(grep -c '^< 6982' "$tmp/dump.out")" -eq 3
genuine=$("$mic" card read -r "$reader1" 2>&1)
stop_card
python3 "$here/replay_card.py" dump <"$tmp/dump.out" >"$tmp/dump.json"
check "dump: parsed" test "$?" -eq 0
python3 "$here/replay_card.py" serve --port "$((port + 1))" "$tmp/dump.json" \
	2>>"$tmp/card.log" &
card_pid=$!
"$stack_wait" wait --timeout 10000 --present "$reader1" >/dev/null
# It is the card as far as its data goes ...
out=$("$mic" card read -r "$reader1" 2>&1); rc=$?
check "replay card: read exits 0 ($out)" test "$rc" -eq 0
check "replay card: reads as the genuine card" test "$out" = "$genuine"
# ... but the chip cannot prove it is the chip of that serial.
out=$("$mic" card verify -r "$reader1" --trust "$tmp/pki" 2>&1); rc=$?
echo "$out"
check "replay card: exit 1" test "$rc" -eq 1
check "replay card: chip authentication fails on the chip's key" contains "$out" "chip authentication: FAILED: the chip's key (SCP11): .*MIC_ERR_SM_AUTH"
check "replay card: never passes" bash -c "! grep -q 'passive authentication: OK' <<<\"\$1\"" _ "$out"
stop_card

finish
