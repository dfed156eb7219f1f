#!/usr/bin/env bash
# The issuance line through the real stack: 'mic perso' on two virtual
# readers fed by hoppers (mic-vcard hopper --pki), the journal checked
# against the cards that come out (check_perso.py):
#   1. a batch of 60 applications and 8 malformed lines;
#   2. a card pulled mid-personalization: not issued, its application
#      issued on another card;
#   3. a run killed with SIGKILL and resumed, and one stopped by Ctrl-C;
#   4. the same batch with the card issuer's and the document signer's
#      keys in a SoftHSM2 token (skipped without SoftHSM2);
#   5. examples/issuance_line, the integrator's loop;
#   6. the progress bar on a terminal;
#   7. bench/bench_perso_pcsc, briefly, so that the benchmark keeps working.
#
# Ports 36700-36749 belong to this test.
set -uo pipefail

mic="$MIC_BUILD_DIR/tools/mic"
V="$MIC_BUILD_DIR/tools/mic-vcard/mic-vcard"
example="$MIC_BUILD_DIR/examples/example_issuance_line"
here=$(cd "$(dirname "$0")" && pwd)
gen="$here/../../scripts/gen-batch"
checker="$here/check_perso.py"
tmp="$MIC_TEST_TMP/perso"
dir="$MIC_TEST_TMP/stack-perso"     # scripts/test stops stack-* on a crash
. "$(dirname "$0")/lib.sh"
bg=


cleanup() {
	[[ -n $bg ]] && kill -KILL "$bg" 2>/dev/null
	"$MIC_READER_STACK" stop --dir "$dir" >/dev/null 2>&1
}
trap cleanup EXIT

start_stack() { # start_stack PORT OUTDIR [reader-stack options...]
	local port=$1 out=$2
	shift 2
	"$MIC_READER_STACK" stop --dir "$dir" >/dev/null 2>&1
	"$MIC_READER_STACK" start --dir "$dir" --port "$port" --readers 2 \
	    --hopper "$out" --pki "${stack_pki:-$tmp/pki}" \
	    --build "$MIC_BUILD_DIR" "$@" \
	    >"$tmp/stack.log" 2>&1 || { cat "$tmp/stack.log"; exit 1; }
	eval "$("$MIC_READER_STACK" env --dir "$dir")"
}

rm -rf "$tmp"
mkdir -p "$tmp"
"$mic" pki init --dir "$tmp/pki" >"$tmp/pki.log" 2>&1 ||
	{ cat "$tmp/pki.log"; exit 1; }

# --- 1. sixty applications and eight bad lines, two readers ------------
"$gen" 60 --bad 8 --prefix M --out "$tmp/b1.jsonl"
start_stack 36700 "$tmp/out1"
out=$("$mic" perso --batch "$tmp/b1.jsonl" --readers all \
    --journal "$tmp/j1.db" --pki "$tmp/pki" --json 2>"$tmp/p1.err"); rc=$?
check "bad lines: exit 3 ($rc)" test "$rc" -eq 3
check "68 lines read" test "$(jget 'd["batch"]["lines"]' <<<"$out")" -eq 68
check "8 bad lines" test "$(jget 'd["batch"]["bad"]' <<<"$out")" -eq 8
check "60 issued this run" test "$(jget 'd["run"]["issued"]' <<<"$out")" -eq 60
check "complete" test "$(jget 'd["complete"]' <<<"$out")" = True
err=$(cat "$tmp/p1.err")
for f in "ssn: check character" "gender: " "pooling_region: " "name: " \
    "is already on line" "not JSON" "unknown field" "birth_date: "; do
	check "reported: $f" contains "$err" "$f"
done
check "each error names its line" test "$(jget \
    'sum(1 for e in d["batch"]["errors"] if e["line"] > 0 and e["message"].startswith("line %d: " % e["line"]))' \
    <<<"$out")" -eq 8
check "both readers worked" test "$(grep -c 'reader Virtual PCD 00 00' \
    "$tmp/p1.err")" -gt 0 -a "$(grep -c 'reader Virtual PCD 00 01' \
    "$tmp/p1.err")" -gt 0
res=$(python3 "$checker" "$tmp/j1.db" "$tmp/out1" "$V" --final); rc=$?
check "journal agrees with the cards ($res)" test "$rc" -eq 0
check "60 issued cards" test "$(jget 'd["issued"]' <<<"$res")" -eq 60
check "no failed attempt" test "$(jget 'd["failed"]' <<<"$res")" -eq 0
check "60 transport PINs, mode 0600" test "$(wc -l <"$tmp/j1.db.pins.jsonl")" \
    -eq 60 -a "$(stat -c %a "$tmp/j1.db.pins.jsonl")" = 600
# A rerun of the same batch issues nothing.
out=$("$mic" perso --batch "$tmp/b1.jsonl" --journal "$tmp/j1.db" \
    --pki "$tmp/pki" --json -q 2>/dev/null); rc=$?
check "rerun: exit 3 (the bad lines again)" test "$rc" -eq 3
check "rerun: nothing issued" test "$(jget 'd["run"]["issued"]' <<<"$out")" -eq 0
check "rerun: still 60 in the journal" \
    test "$(jget 'd["journal"]["issued"]' <<<"$out")" -eq 60
# A new application for a holder who already has a live card: reported
# with its line and refused, no card spent.
head -1 "$tmp/b1.jsonl" | sed 's/"application_id": "M000000"/"application_id": "M-AGAIN"/' \
    >"$tmp/b1again.jsonl"
out=$("$mic" perso --batch "$tmp/b1again.jsonl" --journal "$tmp/j1.db" \
    --pki "$tmp/pki" --json 2>"$tmp/p1again.err"); rc=$?
check "already issued: exit 3 ($rc)" test "$rc" -eq 3
check "already issued: refused" \
    test "$(jget 'd["batch"]["refused"]' <<<"$out")" -eq 1
check "already issued: said, with the line" contains \
    "$(cat "$tmp/p1again.err")" "line 1: application_id: M-AGAIN: the holder already has a live card"
check "already issued: no card spent" \
    test "$(jget 'd["journal"]["attempts"]' <<<"$out")" -eq 60
res=$(python3 "$checker" "$tmp/j1.db" "$tmp/out1" "$V" --final); rc=$?
check "rerun changed no card" test "$rc" -eq 0 -a \
    "$(jget 'd["attempts"]' <<<"$res")" -eq 60

# --- 2. a card pulled mid-personalization ------------------------------
# Reader 0's second card leaves the reader at its 12th APDU (inside the
# STORE DATA sequence), unanswered.
"$gen" 12 --prefix P --seed 2 --out "$tmp/b2.jsonl"
start_stack 36704 "$tmp/out2" --pull 0:2:12
out=$("$mic" perso --batch "$tmp/b2.jsonl" --journal "$tmp/j2.db" \
    --pki "$tmp/pki" --json 2>"$tmp/p2.err"); rc=$?
check "pulled card: exit 0 ($rc; $(tail -3 "$tmp/p2.err"))" test "$rc" -eq 0
check "pulled card: one failed attempt" \
    test "$(jget 'd["journal"]["attempts_failed"]' <<<"$out")" -eq 1
check "pulled card: all 12 issued" \
    test "$(jget 'd["journal"]["issued"]' <<<"$out")" -eq 12
res=$(python3 "$checker" "$tmp/j2.db" "$tmp/out2" "$V" --final); rc=$?
check "pulled card: journal agrees with the cards ($res)" test "$rc" -eq 0
chip=$(jget 'd["failed_chips"][0]' <<<"$res")
app=$(jget 'd["failures"][0]["application_id"]' <<<"$out")
check "the pulled card is not issued" python3 - "$tmp/j2.db" "$chip" "$app" <<'PY'
import sqlite3, sys
db, chip, app = sys.argv[1:]
c = sqlite3.connect(db)
# The pulled chip has no issued attempt; its application was issued on
# another chip, by a later attempt.
assert c.execute("SELECT count(*) FROM attempt WHERE chip_serial=? AND "
                 "outcome='issued'", (chip,)).fetchone()[0] == 0
row = c.execute("SELECT chip_serial FROM attempt WHERE app_id=? AND "
                "outcome='issued'", (app,)).fetchone()
assert row is not None and row[0] != chip, row
PY
check "the pulled card was set aside, not personalized" contains \
    "$("$V" show "$tmp/out2/MIC0100000002.img" 2>&1)" "state: blank"
check "the failure is reported" contains "$(cat "$tmp/p2.err")" "FAILED $app"

# --- 3. killed and resumed ---------------------------------------------
"$gen" 30 --prefix K --seed 3 --out "$tmp/b3.jsonl"
start_stack 36708 "$tmp/out3"
"$mic" perso --batch "$tmp/b3.jsonl" --journal "$tmp/j3.db" --pki "$tmp/pki" \
    -q >"$tmp/p3a.out" 2>&1 &
bg=$!
for _ in $(seq 1 300); do
	n=$(cat "$tmp/j3.db.pins.jsonl" 2>/dev/null | wc -l)
	[ "$n" -ge 8 ] && break
	sleep 0.05
done
# Freeze reader 0's hopper while an attempt runs on it, so that its card
# hangs in the middle of a command, and kill the line then: the kill lands
# mid-card, not between cards. An attempt lasts some 20 ms of a card's
# 0.8 s cycle, so the journal is watched closely and the hopper stopped
# the moment one starts; one that ended before the stop took hold is let
# go, and the next card tried.
hopper0=$(cat "$dir/pids/card-0.pid")
mid=$(python3 - "$tmp/j3.db" "$hopper0" <<'PY'
import os, signal, sqlite3, sys, time
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=5)
pid = int(sys.argv[2])
q = ("SELECT count(*) FROM attempt WHERE outcome = 'in_progress'"
     " AND reader = 'Virtual PCD 00 00'")
end = time.monotonic() + 20
while time.monotonic() < end:
    if c.execute(q).fetchone()[0] > 0:
        os.kill(pid, signal.SIGSTOP)
        time.sleep(0.3)
        if c.execute(q).fetchone()[0] > 0:
            print(1)
            sys.exit(0)
        os.kill(pid, signal.SIGCONT)
    time.sleep(0.001)
print(0)
PY
)
kill -KILL "$bg"
wait "$bg" 2>/dev/null
bg=
kill -CONT "$hopper0"
n=$(wc -l <"$tmp/j3.db.pins.jsonl")
check "killed mid-batch (8+ issued, not all)" test "$n" -ge 8 -a "$n" -lt 30
check "killed in the middle of a card" test "$mid" -eq 1
res=$(python3 "$checker" "$tmp/j3.db" "$tmp/out3" "$V"); rc=$?
check "after the kill: journal agrees with the cards ($res)" test "$rc" -eq 0
out=$("$mic" perso --batch "$tmp/b3.jsonl" --journal "$tmp/j3.db" \
    --pki "$tmp/pki" --json 2>"$tmp/p3b.err"); rc=$?
check "resumed: exit 0 ($rc; $(tail -3 "$tmp/p3b.err"))" test "$rc" -eq 0
check "resumed: 30 issued in all" \
    test "$(jget 'd["journal"]["issued"]' <<<"$out")" -eq 30
res=$(python3 "$checker" "$tmp/j3.db" "$tmp/out3" "$V" --final); rc=$?
check "resumed: journal agrees with the cards ($res)" test "$rc" -eq 0
check "resumed: one or two interrupted attempts (one per reader at most)" \
    test "$(jget 'd["interrupted"]' <<<"$res")" -ge 1 -a \
    "$(jget 'd["interrupted"]' <<<"$res")" -le 2
check "resumed: the interrupted card is listed to void" \
    test "$(jget 'sum(1 for f in d["failures"] if f["reason"] == "interrupted")' \
    <<<"$out")" -ge 1
check "resumed: every failure is an interruption" \
    test "$(jget 'd["failed"] == d["interrupted"]' <<<"$res")" = True
check "resumed: one PIN per issued card" \
    test "$(wc -l <"$tmp/j3.db.pins.jsonl")" -eq 30

# --- 3b. Ctrl-C: the cards in the readers are finished, the rest waits ---
"$gen" 20 --prefix C --seed 4 --out "$tmp/b6.jsonl"
start_stack 36720 "$tmp/out6"
"$mic" perso --batch "$tmp/b6.jsonl" --journal "$tmp/j6.db" --pki "$tmp/pki" \
    >"$tmp/p6a.out" 2>"$tmp/p6a.err" &
bg=$!
for _ in $(seq 1 300); do
	n=$(cat "$tmp/j6.db.pins.jsonl" 2>/dev/null | wc -l)
	[ "$n" -ge 4 ] && break
	sleep 0.05
done
kill -INT "$bg"
wait "$bg"; rc=$?
bg=
check "Ctrl-C: exit 1 ($rc)" test "$rc" -eq 1
check "Ctrl-C: said so" contains "$(cat "$tmp/p6a.err")" "stopped on request"
res=$(python3 "$checker" "$tmp/j6.db" "$tmp/out6" "$V"); rc=$?
check "Ctrl-C: journal agrees with the cards ($res)" test "$rc" -eq 0
check "Ctrl-C: no attempt failed or left running" \
    test "$(jget 'd["failed"]' <<<"$res")" -eq 0
check "Ctrl-C: applications left for the next run" \
    test "$(jget 'd["states"].get("queued", 0)' <<<"$res")" -gt 0
check "Ctrl-C: nothing in progress" \
    test "$(jget 'd["states"].get("in_progress", 0)' <<<"$res")" -eq 0
out=$("$mic" perso --journal "$tmp/j6.db" --pki "$tmp/pki" --json \
    2>"$tmp/p6b.err"); rc=$?
check "after Ctrl-C, the journal alone finishes the batch: exit 0 ($rc)" \
    test "$rc" -eq 0
res=$(python3 "$checker" "$tmp/j6.db" "$tmp/out6" "$V" --final); rc=$?
check "after Ctrl-C: 20 issued ($res)" test "$rc" -eq 0 -a \
    "$(jget 'd["issued"]' <<<"$res")" -eq 20

# --- 4. the issuer's keys in SoftHSM2 ----------------------------------
module=
for m in /usr/lib/*/softhsm/libsofthsm2.so /usr/lib/softhsm/libsofthsm2.so; do
	[ -f "$m" ] && { module=$m; break; }
done
if [ -n "$module" ] && command -v softhsm2-util >/dev/null &&
    command -v pkcs11-tool >/dev/null; then
	export SOFTHSM2_CONF="$tmp/softhsm2.conf"
	mkdir -p "$tmp/tokens"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
	    "$tmp/tokens" >"$SOFTHSM2_CONF"
	pin=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
	softhsm2-util --init-token --free --label perso --pin "$pin" \
	    --so-pin "$pin$pin" >/dev/null
	for obj in card-issuer:01 ds:02; do
		pkcs11-tool --module "$module" --token-label perso --login \
		    --pin "$pin" --keypairgen --key-type EC:prime256v1 \
		    --label "${obj%:*}" --id "${obj#*:}" >/dev/null 2>&1
	done
	uri() { echo "pkcs11:token=perso;object=$1?module-path=$module"; }
	cp -r "$tmp/pki" "$tmp/pki-hsm"
	check "card issuer in the token" env MIC_PKCS11_PIN="$pin" "$mic" pki \
	    issue-card-issuer --dir "$tmp/pki-hsm" --key "$(uri card-issuer)" \
	    --force
	check "document signer in the token" env MIC_PKCS11_PIN="$pin" "$mic" \
	    pki issue-ds --dir "$tmp/pki-hsm" --key "$(uri ds)" --force
	# The blank cards' factory certificates were signed before the card
	# issuer's key moved into the token: a key rollover, with the old
	# card-issuer certificate still trusted. (The hoppers keep using the
	# PEM key: two hopper processes logging in to one SoftHSM2 token at
	# once is not what this test is about.)
	cp "$tmp/pki/trust/intermediates/card-issuer.pem" \
	    "$tmp/pki-hsm/trust/intermediates/card-issuer-before-hsm.pem"
	start_stack 36712 "$tmp/out4"
	out=$(MIC_PKCS11_PIN=00000000 "$mic" perso --batch "$tmp/b1.jsonl" \
	    --journal "$tmp/j4.db" --pki "$tmp/pki-hsm" \
	    --issuer-key "$(uri card-issuer)" 2>&1); rc=$?
	check "wrong token PIN: exit 1" test "$rc" -eq 1
	check "wrong token PIN: said" contains "$out" "PIN"
	out=$(MIC_PKCS11_PIN=$pin "$mic" perso --batch "$tmp/b1.jsonl" \
	    --journal "$tmp/j4.db" --pki "$tmp/pki-hsm" \
	    --issuer-key "$tmp/pki/card-issuer/key.pem" 2>&1); rc=$?
	check "a key that is not the certificate's: exit 1" test "$rc" -eq 1
	check "... and said" contains "$out" "not the key"
	out=$(MIC_PKCS11_PIN=$pin "$mic" perso --batch "$tmp/b1.jsonl" \
	    --journal "$tmp/j4.db" --pki "$tmp/pki-hsm" \
	    --issuer-key "$(uri card-issuer)" --ds-key "$(uri ds)" --json \
	    2>"$tmp/p4.err"); rc=$?
	check "token keys: exit 3 (bad lines) ($rc; $(tail -3 "$tmp/p4.err"))" \
	    test "$rc" -eq 3
	check "token keys: 60 issued" \
	    test "$(jget 'd["journal"]["issued"]' <<<"$out")" -eq 60
	check "token PIN in no output" bash -c \
	    "! grep -q -- '$pin' '$tmp/p4.err'"
	res=$(python3 "$checker" "$tmp/j4.db" "$tmp/out4" "$V" --final); rc=$?
	check "token keys: journal agrees with the cards ($res)" test "$rc" -eq 0
	unset SOFTHSM2_CONF
else
	echo "SKIP: SoftHSM2 part (softhsm2-util or pkcs11-tool missing)"
fi

# --- 5. the integrator's example ----------------------------------------
"$gen" 6 --prefix E --seed 5 --out "$tmp/b5.jsonl"
start_stack 36716 "$tmp/out5"
out=$(cd "$tmp" && "$example" "$tmp/pki" "$tmp/b5.jsonl" "$tmp/j5.db" 2>&1); rc=$?
check "example: exit 0 ($rc: $out)" test "$rc" -eq 0
check "example: 6 issued" contains "$out" "journal: 6 issued, 0 rejected, 0 left"
check "example: 6 PINs" test "$(wc -l <"$tmp/pins.txt")" -eq 6
res=$(python3 "$checker" "$tmp/j5.db" "$tmp/out5" "$V" --final); rc=$?
check "example: journal agrees with the cards ($res)" test "$rc" -eq 0

# --- 6. the progress bar, on a terminal (script(1) gives it one) -------
"$gen" 4 --prefix T --seed 6 --out "$tmp/b7.jsonl"
out=$(script -qefc "'$mic' perso --batch '$tmp/b7.jsonl' --journal '$tmp/j7.db' --pki '$tmp/pki'" \
    /dev/null 2>&1); rc=$?
check "on a terminal: exit 0 ($rc)" test "$rc" -eq 0
check "on a terminal: a progress bar" contains "$out" "\[#*-*\] [0-9]*/4 issued"
check "... with rate and ETA" contains "$out" "cards/min ETA"
check "... redrawn in place" contains "$out" $'\r'
check "... ending at 4/4" contains "$out" "\[#*\] 4/4 issued"

# --- 7. the data-preparation benchmark through pcscd still runs ---------
out=$("$MIC_BUILD_DIR/bench/bench_perso_pcsc" "$tmp/pki" 1 2 4 2>&1); rc=$?
check "bench_perso_pcsc: exit 0 ($rc: $out)" test "$rc" -eq 0
check "bench_perso_pcsc: both ratios" bash -c \
    "grep -q '^ratio_prep_vs_sign=0\.' <<<'$out' &&
     grep -q '^ratio_prep_vs_place_sign=0\.' <<<'$out'"

finish
