#!/usr/bin/env bash
# The hopper as the issuance line's tests use it, through the real pcscd:
# blank cards with the chip factory's SCP11 keys (--pki), the eject rule
# (a blank card pcscd only powered stays; a card that got any APDU leaves
# and is set aside), and --pull (a card yanked out at a chosen APDU). Also
# reader-stack's --pki for sample and blank image cards, and the usage
# errors of both.
#
# Ports 36600-36649 belong to this test.
set -uo pipefail

V="$MIC_BUILD_DIR/tools/mic-vcard/mic-vcard"
mic="$MIC_BUILD_DIR/tools/mic"
stack_wait="$MIC_BUILD_DIR/tools/mic-vcard/mic-stack-wait"
tmp="$MIC_TEST_TMP/hopper"
dir="$MIC_TEST_TMP/stack-hopper"        # scripts/test stops stack-* on a crash
kdir="$MIC_TEST_TMP/stack-hopper-kinds"
port=36600      # the hopper stack: reader 0 plain, reader 1 with --pull 1:2:3
kport=36610     # image cards made with --pki (blank, then sample at +10)
noport=36649    # nobody listens here
reader1="Virtual PCD 00 01"
select_fci='00 A4 04 00 09 D1 56 00 00 01 4D 49 43 01 00'
get_cert='80 CA BF 21 00'
. "$(dirname "$0")/lib.sh"

field() { "$V" show "$1" 2>/dev/null | sed -n "s/^$2: //p"; }

cleanup() {
	"$MIC_READER_STACK" stop --dir "$dir" >/dev/null 2>&1
	"$MIC_READER_STACK" stop --dir "$kdir" >/dev/null 2>&1
}
trap cleanup EXIT

# The chip serial (FCI A5/81) a card of serial $1 has, as 'mic apdu'
# prints bytes: the engine derives it from the serial alone.
chip_of() {
	"$V" new --out "$tmp/chip-$1.img" --serial "$1" >/dev/null 2>&1
	field "$tmp/chip-$1.img" serial | sed 's/../& /g; s/ $//'
}
# The chip serial in a SELECT response of 'mic apdu' output $1.
chip_in() {
	grep -oE '80 01 [0-9A-F]{2} 81 08( [0-9A-F]{2}){8}' <<<"$1" | head -1 | cut -c16-
}
# Wait, bounded, until reader $1 holds the card of chip serial $2: SELECT
# until it answers with that chip. Each try that reaches a card is one APDU
# to it; one to the card awaited.
wait_chip() {
	local t out
	for ((t = 0; t < 100; t++)); do
		out=$("$mic" apdu -r "$1" "$select_fci" 2>/dev/null)
		[[ $(chip_in "$out") == "$2" ]] && return 0
		sleep 0.1
	done
	return 1
}
wait_file() {
	local t
	for ((t = 0; t < 100; t++)); do
		[[ -e $1 ]] && return 0
		sleep 0.1
	done
	return 1
}
# Wait, bounded, until log $1 has more than $2 lines saying "powered off".
wait_power_offs() {
	local t
	for ((t = 0; t < 100; t++)); do
		(($(grep -c 'powered off' "$1") > $2)) && return 0
		sleep 0.1
	done
	return 1
}
# The data of the BF21 response in 'mic apdu' output $1, CERT.SD.ECKA in
# its BF21 template, written as DER to $2.
cert_der() {
	python3 -c '
import re, sys
for line in sys.stdin:
    m = re.match(r"< (BF 21 [0-9A-F ]+) 9000", line)
    if m:
        b = bytes.fromhex(m.group(1))
        n, off = b[2], 3
        if n & 0x80:
            k = n & 0x7F
            n, off = int.from_bytes(b[3:3 + k], "big"), 3 + k
        if len(b) != off + n:
            sys.exit(1)
        open(sys.argv[1], "wb").write(b[off:])
        sys.exit(0)
sys.exit(1)
' "$2" <<<"$1"
}
images() { compgen -G "$tmp/out/$1*.img" | wc -l; }

cleanup
rm -rf "$tmp" "$dir" "$kdir"
mkdir -p "$tmp/out" "$tmp/notpki"
"$mic" pki init --dir "$tmp/pki" >"$tmp/pki.log" 2>&1 ||
	{ cat "$tmp/pki.log"; exit 1; }

# --- usage and early failures -------------------------------------------------

out=$("$V" hopper --help)
check "hopper --help names --pki" contains "$out" "--pki DIR"
check "hopper --help names --pull" contains "$out" "--pull N:M"
check "hopper --help: set aside" contains "$out" "set aside"
for bad in 0:1 1:0 1 :3 2: a:b 1:2:3 -1:2; do
	out=$("$V" hopper --out "$tmp/out" --port "$noport" --pull "$bad" 2>&1); rc=$?
	check "hopper --pull $bad is a usage error (rc $rc)" test "$rc" -eq 2
done
out=$("$V" hopper --out "$tmp/out" --port "$noport" --pull 2:1 --pull 2:5 2>&1); rc=$?
check "hopper: the same card pulled twice is a usage error" test "$rc" -eq 2
out=$("$V" hopper --out "$tmp/out" --port "$noport" --pki "$tmp/nothing" 2>&1); rc=$?
check "hopper --pki of no PKI exits 1 (rc $rc)" test "$rc" -eq 1
check "... saying why" contains "$out" "no root certificate"
check "... before any vpcd" lacks "$out" "waiting for vpcd"
out=$("$V" hopper --out "$tmp/out" --port "$noport" --pki "$tmp/notpki" 2>&1); rc=$?
check "hopper --pki of a plain directory exits 1" test "$rc" -eq 1
check "no image after the failed starts" test "$(images "")" -eq 0

rs_start() { "$MIC_READER_STACK" start --dir "$dir" --build "$MIC_BUILD_DIR" --port "$port" "$@"; }
out=$(rs_start --pull 0:1:1 2>&1); rc=$?
check "reader-stack --pull without --hopper: usage error" test "$rc" -eq 2
out=$(rs_start --hopper "$tmp/out" --pull 0:1 2>&1); rc=$?
check "reader-stack --pull I:N: usage error" test "$rc" -eq 2
out=$(rs_start --hopper "$tmp/out" --cards 1 --pull 1:1:1 2>&1); rc=$?
check "reader-stack --pull of a reader without a hopper: usage error" test "$rc" -eq 2
out=$(rs_start --hopper "$tmp/out" --pull 0:2:1 --pull 00:2:7 2>&1); rc=$?
check "reader-stack --pull of one card twice: usage error" test "$rc" -eq 2
out=$(rs_start --hopper "$tmp/out" --pki "$tmp/nothing" 2>&1); rc=$?
check "reader-stack --pki of no directory fails (rc $rc)" test "$rc" -eq 1
out=$(rs_start --hopper "$tmp/out" --pki "$tmp/notpki" 2>&1); rc=$?
check "reader-stack --pki of no PKI fails (rc $rc)" test "$rc" -eq 1
check "... saying so" contains "$out" "cannot make a card"
check "... before pcscd started" test ! -e "$dir/pids/pcscd.pid"

# --- the hopper stack ---------------------------------------------------------

"$MIC_READER_STACK" start --dir "$dir" --port "$port" --readers 2 --cards 2 \
	--build "$MIC_BUILD_DIR" --hopper "$tmp/out" --pki "$tmp/pki" \
	--pull 1:2:3 >"$tmp/stack.log" 2>&1 || { cat "$tmp/stack.log"; exit 1; }
eval "$("$MIC_READER_STACK" env --dir "$dir")"
log0="$dir/logs/card-0.log"
log1="$dir/logs/card-1.log"

out=$("$MIC_READER_STACK" status --dir "$dir")
check "status names the PKI" contains "$out" "^pki: *$tmp/pki"
check "status: reader 1 pulls card 2 at its APDU 3" contains "$out" "^card 1: .*pulls card 2 at its APDU 3"
check "status: reader 0 pulls nothing" lacks "$out" "^card 0: .*pulls"
check "stack.conf records the pull" grep -q '^pull=1:2:3$' "$dir/stack.conf"
check "stack.conf records the PKI" grep -q "^pki=$tmp/pki$" "$dir/stack.conf"
check "hopper 1 got --pull 2:3" contains "$(tr '\0' ' ' <"/proc/$(<"$dir/pids/card-1.pid")/cmdline")" " --pull 2:3 "

# (b) A blank card pcscd only powered stays: pcscd powers a new card on and,
# idle, off again; then a terminal connects and resets it without an APDU.
c1=$(chip_of MIC0100000001)
c2=$(chip_of MIC0100000002)
check "chip serials differ by serial" test -n "$c1" -a "$c1" != "$c2"
check "pcscd powered the first card off" wait_power_offs "$log0" 0
offs=$(grep -c 'powered off' "$log0")
printf 'reset\n' | "$mic" apdu -r 0 -f - >"$tmp/reset.out" 2>&1
check "a terminal connected and reset it" grep -q '^reset$' "$tmp/reset.out"
check "pcscd powered it off again after the disconnect" wait_power_offs "$log0" "$offs"
sleep 1.2
check "untouched blank card: no image" test "$(images MIC01)" -eq 0
check "untouched blank card: no card out" lacks "$(<"$log0")" " out ("

# (a) It has the chip factory's keys: GET DATA BF21 gives CERT.SD.ECKA,
# which the PKI's trust store verifies as a card certificate.
out=$("$mic" apdu --strict -r 0 "$select_fci" "$get_cert" 2>&1); rc=$?
check "GET DATA BF21 answers 9000 (rc $rc)" test "$rc" -eq 0
check "... with the BF21 template" contains "$out" "^< BF 21 "
check "the card stayed: same chip serial ($(chip_in "$out"))" test "$(chip_in "$out")" = "$c1"
check "CERT.SD.ECKA extracted" cert_der "$out" "$tmp/sd.der"
out=$("$mic" pki verify --trust "$tmp/pki/trust" --cert "$tmp/sd.der" --kind card 2>&1); rc=$?
check "CERT.SD.ECKA verifies against the PKI ($out)" test "$rc" -eq 0

# (b) That card got APDUs: once disconnected and powered off it leaves,
# written and set aside, and the next serial is in the reader.
check "touched blank card: image written" wait_file "$tmp/out/MIC0100000001.img"
check "... blank" test "$(field "$tmp/out/MIC0100000001.img" state)" = blank
check "... its chip serial" test "$(field "$tmp/out/MIC0100000001.img" serial | sed 's/../& /g; s/ $//')" = "$c1"
check "... the log says set aside" contains "$(<"$log0")" "card MIC0100000001 out (blank after [0-9]* APDU(s): set aside)"
check "the next card (next serial) is in reader 0" wait_chip 0 "$c2"

# (c) --pull 2:3 on reader 1: card 1 gets an APDU and leaves; card 2 gets
# one (the SELECT that finds it) and then two more, the second of which
# never reaches it.
p1=$(chip_of MIC0200000001)
p2=$(chip_of MIC0200000002)
p3=$(chip_of MIC0200000003)
check "reader 1 holds its first card" wait_chip 1 "$p1"
check "reader 1's first card leaves after its APDU" wait_file "$tmp/out/MIC0200000001.img"
check "reader 1's second card is in" wait_chip 1 "$p2"
out=$("$mic" apdu -r 1 "$select_fci" "$select_fci" 2>&1); rc=$?
while IFS= read -r line; do
	printf '  pulled: %s\n' "$line"
done <<<"$out"
check "pull: the terminal gets no answer (rc $rc)" test "$rc" -ne 0
check "pull: APDU 2 answered, APDU 3 not" test "$(grep -c '^< ' <<<"$out")" -eq 1
check "pull: mic reports the transmit failed" contains "$out" "transmit: "
check "pull: pcscd sees the reader empty" "$stack_wait" wait --timeout 3000 --absent "$reader1"
check "pull: the card is set aside, image written" wait_file "$tmp/out/MIC0200000002.img"
check "... blank, its chip" test "$(field "$tmp/out/MIC0200000002.img" serial | sed 's/../& /g; s/ $//')" = "$p2"
check "... the log says pulled" contains "$(<"$log1")" "--pull 2:3: card MIC0200000002 pulled out of the reader at its APDU 3"
check "... and set aside" contains "$(<"$log1")" "card MIC0200000002 out (blank, pulled out: set aside)"
check "... before the card saw the APDU" contains "$(<"$log1")" "power cut before APDU [0-9]* reached the card"
check "pull: the next card (next serial) is in reader 1" wait_chip 1 "$p3"
out=$("$mic" apdu --strict -r 1 "$select_fci" "$select_fci" "$select_fci" 2>&1); rc=$?
check "the next card is not pulled at its APDU 3" test "$rc" -eq 0
check "only cards 1 and 2 of reader 1 left" test "$(images MIC02)" -eq 2

"$MIC_READER_STACK" stop --dir "$dir" >/dev/null 2>&1
# The cards the checks above sent APDUs to left (at their power-off, or
# at the stop, which writes a card a terminal worked on); the untouched
# cards in the readers at the stop did not.
check "reader 0's second card, touched, was written" test -e "$tmp/out/MIC0100000002.img"
check "reader 1's third card, touched, was written" test -e "$tmp/out/MIC0200000003.img"
check "no untouched card was written" test "$(images "")" -eq 5

# --- --pki for image cards ------------------------------------------------------

for kind in blank sample; do
	"$MIC_READER_STACK" start --dir "$kdir" --port "$kport" --readers 2 --cards 1 \
		--build "$MIC_BUILD_DIR" --card-kind "$kind" --pki "$tmp/pki" \
		>"$tmp/kinds-$kind.log" 2>&1 || { cat "$tmp/kinds-$kind.log"; exit 1; }
	eval "$("$MIC_READER_STACK" env --dir "$kdir")"
	want=active
	[[ $kind == blank ]] && want=blank
	check "$kind image card is $want" test "$(field "$kdir/cards/card-0.img" state)" = "$want"
	out=$("$mic" apdu --strict -r 0 "$select_fci" "$get_cert" 2>&1); rc=$?
	check "$kind image card with --pki answers GET DATA BF21" test "$rc" -eq 0
	check "$kind status names the PKI" contains "$("$MIC_READER_STACK" status --dir "$kdir")" "^pki: "
	"$MIC_READER_STACK" stop --dir "$kdir" >/dev/null 2>&1
	kport=$((kport + 10))
done

finish
