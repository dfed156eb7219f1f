#!/usr/bin/env bash
# The issuance line against what PC/SC does to it, through the real pcscd:
#   1. sixteen readers, pcscd's maximum, in one line;
#   2. a card with a garbage ATR: set aside as unusable, and its reader goes
#      on with the next card; the summary accounts for every card that
#      left a reader (the hopper's images);
#   3. a mute card (no answer, vpcd waits for ever): the first Ctrl-C stops
#      the other reader and writes the summary, the stuck reader's attempt
#      ends as interrupted in the journal;
#   4. pcscd dying under 'mic readers --wait' and under 'mic perso';
#   5. a card killed in the middle of a command: "card removed";
#   6. the PC/SC calls a card costs the line.
#
# Ports 36800-36899 belong to this test.
set -uo pipefail

mic="$MIC_BUILD_DIR/tools/mic"
here=$(cd "$(dirname "$0")" && pwd)
gen="$here/../../scripts/gen-batch"
tmp="$MIC_TEST_TMP/line-pcsc"
dir="$MIC_TEST_TMP/stack-line-pcsc"  # scripts/test stops stack-* on a crash
select='00 A4 04 00 09 D1 56 00 00 01 4D 49 43 01 00'
. "$(dirname "$0")/lib.sh"
bg=

images() { compgen -G "$1/*.img" | wc -l; }
# Wait, bounded, until file $1 has a line matching $2.
wait_for() {
	local t
	for ((t = 0; t < 300; t++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

cleanup() {
	[[ -n $bg ]] && kill -KILL "$bg" 2>/dev/null
	"$MIC_READER_STACK" stop --dir "$dir" >/dev/null 2>&1
}
trap cleanup EXIT

start_stack() { # start_stack PORT READERS OUTDIR [reader-stack options...]
	local port=$1 readers=$2 out=$3
	shift 3
	"$MIC_READER_STACK" stop --dir "$dir" >/dev/null 2>&1
	"$MIC_READER_STACK" start --dir "$dir" --port "$port" \
	    --readers "$readers" --hopper "$out" --pki "$tmp/pki" \
	    --build "$MIC_BUILD_DIR" "$@" \
	    >"$tmp/stack.log" 2>&1 || { cat "$tmp/stack.log"; exit 1; }
	eval "$("$MIC_READER_STACK" env --dir "$dir")"
}

rm -rf "$tmp"
mkdir -p "$tmp"
"$mic" pki init --dir "$tmp/pki" >"$tmp/pki.log" 2>&1 ||
	{ cat "$tmp/pki.log"; exit 1; }

# --- 1. sixteen readers ---------------------------------------------------
# Each reader thread watches its own reader on its own PC/SC context: a
# line of 16 never hands pcscd more than one reader state at a time.
"$gen" 48 --prefix S --seed 1 --out "$tmp/b1.jsonl"
start_stack 36800 16 "$tmp/out1"
check "pcscd serves 16 readers" test "$("$mic" readers | grep -c ': card')" -eq 16
out=$(timeout 300 "$mic" perso --batch "$tmp/b1.jsonl" --journal "$tmp/j1.db" \
    --pki "$tmp/pki" --json 2>"$tmp/p1.err"); rc=$?
check "16 readers: exit 0 ($rc; $(grep -v '^issued' "$tmp/p1.err" | head -3))" test "$rc" -eq 0
check "16 readers: no reader stopped" test "$(grep -c 'stopped' "$tmp/p1.err")" -eq 0
check "16 readers: 48 issued" test "$(jget 'd["journal"]["issued"]' <<<"$out")" -eq 48
check "16 readers: every reader issued cards" \
    test "$(sed -n 's/^issued .*, reader \(.*\), [0-9.]* s$/\1/p' "$tmp/p1.err" | sort -u | wc -l)" -eq 16
check "16 readers: the summary counts 48 cards issued" \
    test "$(jget 'd["cards"]["issued"]' <<<"$out")" -eq 48
"$MIC_READER_STACK" stop --dir "$dir" >/dev/null 2>&1

# --- 2. a garbage ATR, and the count of every card ------------------------
# Reader 0's first card answers the reset with bytes that are no ATR
# (pcscd finds no protocol); reader 1's second card is pulled out
# mid-personalization (a failed attempt).
"$gen" 10 --prefix G --seed 2 --out "$tmp/b2.jsonl"
start_stack 36820 2 "$tmp/out2" --fault 0:bad-atr:1 --pull 1:2:12
check "the garbage ATR is what pcscd reports" contains "$("$mic" readers)" "00 00: card   ATR 00 FF 13 37"
out=$(timeout 300 "$mic" perso --batch "$tmp/b2.jsonl" --journal "$tmp/j2.db" \
    --pki "$tmp/pki" --json 2>"$tmp/p2.err"); rc=$?
err=$(cat "$tmp/p2.err")
check "garbage ATR: exit 0 ($rc; $(grep -v '^issued' "$tmp/p2.err" | head -3))" test "$rc" -eq 0
check "garbage ATR: reader 0 did not stop" lacks "$err" "stopped"
check "garbage ATR: the card set aside as unusable" contains "$err" \
    "reader Virtual PCD 00 00: take card ? out: unusable card: cannot connect: no protocol"
check "garbage ATR: reader 0 went on and issued cards" contains "$err" \
    "^issued .*, reader Virtual PCD 00 00, "
check "garbage ATR: all 10 issued" test "$(jget 'd["journal"]["issued"]' <<<"$out")" -eq 10
check "garbage ATR: one unusable card counted" test "$(jget 'd["cards"]["unusable"]' <<<"$out")" -eq 1
check "pulled card: one failed card counted" test "$(jget 'd["cards"]["failed"]' <<<"$out")" -eq 1
# Every card that went through a reader is an image in the hopper folder,
# and the summary says what happened to each: issued, failed, set aside,
# unusable, or read and left untouched (the hopper writes that one too
# once pcscd powers it down, since the line sent it a SELECT).
sum=$(jget 'd["cards"]["issued"] + d["cards"]["failed"] + d["cards"]["set_aside"] + d["cards"]["unusable"] + d["cards"]["untouched"]' <<<"$out")
for ((t = 0; t < 50; t++)); do
	(($(images "$tmp/out2") >= sum)) && break
	sleep 0.1
done
sleep 0.5
check "every card through a reader is counted ($sum in the summary, $(images "$tmp/out2") images)" \
    test "$sum" -eq "$(images "$tmp/out2")"
"$MIC_READER_STACK" stop --dir "$dir" >/dev/null 2>&1

# --- 3. a mute card and Ctrl-C --------------------------------------------
# Reader 0's second card stops answering at its 5th APDU. The readers
# used are on two vpcd entries: pcscd serializes the slots of one driver
# instance, so a mute card holds its neighbour slot too.
"$gen" 20 --prefix M --seed 3 --out "$tmp/b3.jsonl"
start_stack 36840 4 "$tmp/out3" --fault 0:mute:2:5
"$mic" perso --batch "$tmp/b3.jsonl" --journal "$tmp/j3.db" --pki "$tmp/pki" \
    --readers "Virtual PCD 00 00,Virtual PCD 1 00 00" --json \
    >"$tmp/p3.json" 2>"$tmp/p3.err" &
bg=$!
check "the card went mute" wait_for "$dir/logs/card-0.log" "hangs at its APDU 5"
sleep 1
t0=$(date +%s)
kill -INT "$bg"
for ((t = 0; t < 300; t++)); do
	kill -0 "$bg" 2>/dev/null || break
	sleep 0.1
done
check "mute: the run ended after one Ctrl-C" test "$t" -lt 300
kill -KILL "$bg" 2>/dev/null
wait "$bg"; rc=$?
bg=
t1=$(date +%s)
out=$(cat "$tmp/p3.json")
err=$(cat "$tmp/p3.err")
check "mute: one Ctrl-C ends the run ($((t1 - t0)) s)" test $((t1 - t0)) -le 15
check "mute: exit 1 ($rc)" test "$rc" -eq 1
check "mute: the summary is written" test "$(jget 'd["stopped"]' <<<"$out")" = MIC_ERR_TIMEOUT
check "mute: the reader is named, the card to void" contains "$err" \
    "reader Virtual PCD 00 00 stopped: the card does not answer (mute); its attempt ended as interrupted"
check "mute: the other reader issued cards" contains "$err" "^issued .*, reader Virtual PCD 1 00 00, "
check "mute: the attempt is interrupted in the journal" python3 - "$tmp/j3.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
rows = c.execute("SELECT reader, outcome, reason FROM attempt WHERE "
                 "outcome != 'issued'").fetchall()
assert rows == [("Virtual PCD 00 00", "failed", "interrupted")], rows
assert c.execute("SELECT count(*) FROM attempt WHERE outcome = "
                 "'in_progress'").fetchone()[0] == 0
PY
check "mute: listed among the failures" test \
    "$(jget '[f["reason"] for f in d["failures"]]' <<<"$out")" = "['interrupted']"
"$MIC_READER_STACK" stop --dir "$dir" >/dev/null 2>&1

# --- 4. pcscd dies --------------------------------------------------------
pcscd_pid() { cat "$dir/pids/pcscd.pid"; }
start_stack 36860 2 "$tmp/out4" --cards 0
"$mic" readers --wait 20000 >"$tmp/r4.out" 2>&1 &
bg=$!
sleep 1
kill -KILL "$(pcscd_pid)"
wait "$bg"; rc=$?
bg=
out=$(cat "$tmp/r4.out")
check "readers --wait, pcscd killed: exit 1 ($rc)" test "$rc" -eq 1
check "readers --wait: the service stopped ($out)" contains "$out" \
    "waiting for a card: the PC/SC service (pcscd) stopped"
check "readers --wait: not a card error" lacks "$out" "exchange data"
"$MIC_READER_STACK" stop --dir "$dir" >/dev/null 2>&1

"$gen" 40 --prefix D --seed 4 --out "$tmp/b4.jsonl"
start_stack 36870 2 "$tmp/out4"
"$mic" perso --batch "$tmp/b4.jsonl" --journal "$tmp/j4.db" --pki "$tmp/pki" \
    >"$tmp/p4.out" 2>"$tmp/p4.err" &
bg=$!
check "perso: cards issued before the kill" wait_for "$tmp/p4.err" "^issued D000003"
kill -KILL "$(pcscd_pid)"
for ((t = 0; t < 300; t++)); do
	kill -0 "$bg" 2>/dev/null || break
	sleep 0.1
done
kill -KILL "$bg" 2>/dev/null
wait "$bg"; rc=$?
bg=
err=$(cat "$tmp/p4.err")
check "perso, pcscd killed: exit 1 ($rc)" test "$rc" -eq 1
check "perso: both readers say the service stopped" test \
    "$(grep -c '^reader .* stopped: the PC/SC service (pcscd) stopped' <<<"$err")" -eq 2
check "perso: the line says so" contains "$err" \
    "^the line stopped: the PC/SC service (pcscd) stopped"
check "perso: not 'no such reader'" lacks "$err" "no such reader"
check "perso: not a card error" lacks "$err" "exchange data"
"$MIC_READER_STACK" stop --dir "$dir" >/dev/null 2>&1

# --- 5. a card killed in the middle of a command ---------------------------
# The card hangs at its 2nd APDU, then its process is killed: the
# terminal's transmit fails while pcscd may not have seen the card go.
start_stack 36880 2 "$tmp/out5" --cards 1 --fault 0:mute:1:2
for k in 1 2 3; do
	if ((k > 1)); then
		"$MIC_READER_STACK" insert 0 --dir "$dir" >/dev/null 2>&1
	fi
	n0=$(grep -c 'hangs at' "$dir/logs/card-0.log")
	"$mic" apdu -r 0 "$select" "$select" >"$tmp/a5.out" 2>&1 &
	bg=$!
	for ((t = 0; t < 100; t++)); do
		(($(grep -c 'hangs at' "$dir/logs/card-0.log") > n0)) && break
		sleep 0.1
	done
	kill -KILL "$(cat "$dir/pids/card-0.pid")"
	wait "$bg"
	bg=
	out=$(cat "$tmp/a5.out")
	check "card killed mid-command ($k): card removed ($out)" contains "$out" \
	    "transmit: the card was removed"
done
"$MIC_READER_STACK" stop --dir "$dir" >/dev/null 2>&1

# --- 6. PC/SC calls per card ------------------------------------------------
# One reader, 12 cards, the PC/SC calls that cost pcscd a round trip
# without moving card data counted (tests/integration/pcsc_count.c): the
# reader's one context is made once, its reader is never listed again, and
# each card costs a wait for it and a wait for it to leave, in slices of
# 250 ms while the hopper swaps it (the old line: about 5 contexts,
# 6 reader lists and 10 status waits a card).
"$gen" 12 --prefix C --seed 6 --out "$tmp/b6.jsonl"
start_stack 36890 2 "$tmp/out6" --cards 1
rm -f "$tmp/count6"
out=$(MIC_PCSC_COUNT="$tmp/count6" LD_PRELOAD="$MIC_PCSC_COUNT_SO" \
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
    timeout 300 "$mic" perso --batch "$tmp/b6.jsonl" --journal "$tmp/j6.db" \
    --pki "$tmp/pki" --readers 0 --json 2>"$tmp/p6.err"); rc=$?
check "counted run: exit 0 ($rc)" test "$rc" -eq 0
check "counted run: 12 issued" test "$(jget 'd["journal"]["issued"]' <<<"$out")" -eq 12
read -r est lst sta < <(sed -n 's/^establish=\([0-9]*\) list=\([0-9]*\) status=\([0-9]*\)$/\1 \2 \3/p' "$tmp/count6")
echo "PC/SC calls for 12 cards: $est contexts, $lst reader lists, $sta status waits"
check "contexts: a few for the run, none per card ($est)" test "${est:-99}" -le 3
check "reader lists: only mic perso's own ($lst)" test "${lst:-99}" -le 2
check "status waits: at most 6 a card ($sta for 12)" test "${sta:-999}" -le 72
"$MIC_READER_STACK" stop --dir "$dir" >/dev/null 2>&1

finish
