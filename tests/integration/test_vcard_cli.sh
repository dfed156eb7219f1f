#!/usr/bin/env bash
# mic-vcard as a user runs it: card images (new, show, --force), a sample
# card served through a private reader stack (pcscd + vpcd), persistence
# across eject and insert, removal by SIGUSR1, the masked APDU trace, the
# tear options (power cut before or after a command, and in the middle of
# an image write), and the hopper, through pcscd and, for a thousand cards,
# through a stand-in vpcd that checks memory stays flat. Whatever needs a
# role goes through a real SCP11a channel (scp_apdu, with the terminals of
# a test PKI from 'mic pki init'): no card acts as if one were open.
#
# Ports 36300-36399 belong to this test.
set -uo pipefail

V="$MIC_BUILD_DIR/tools/mic-vcard/mic-vcard"
mic="$MIC_BUILD_DIR/tools/mic"
stack_wait="$MIC_BUILD_DIR/tools/mic-vcard/mic-stack-wait"
scp="$MIC_BUILD_DIR/tests/integration/scp_apdu"
tmp="$MIC_TEST_TMP/vcard-cli"
pki="$tmp/pki"
dir="$MIC_TEST_TMP/stack-vcard-cli"     # scripts/test stops stack-* on a crash
hdir="$MIC_TEST_TMP/stack-vcard-hopper"
port=36300      # reader 0: the stack's card; reader 1: cards run here
hport=36310     # the hopper stack
fport=36390     # the stand-in vpcd
reader0="Virtual PCD 00 00"
reader1="Virtual PCD 00 01"
select='00 A4 04 0C 09 D1 56 00 00 01 4D 49 43 01'
select_fci='00 A4 04 00 09 D1 56 00 00 01 4D 49 43 01 00'
hopper_cards=3
stress_cards=${MIC_HOPPER_STRESS:-1000}
. "$(dirname "$0")/lib.sh"
bg_pids=()

field() { "$V" show "$1" 2>/dev/null | sed -n "s/^$2: //p"; }

cleanup() {
	local p
	for p in "${bg_pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	"$MIC_READER_STACK" stop --dir "$dir" >/dev/null 2>&1
	"$MIC_READER_STACK" stop --dir "$hdir" >/dev/null 2>&1
}
trap cleanup EXIT

# CREDIT (CLA 80, INS 52): amount, n14 date and time, terminal id "TERM0001",
# a 16-byte reference, payer 00 (the holder); Le 00.
credit() {
	printf '80 52 00 00 28 %016X 20261123120000 5445524D30303031 %032X 00 00' "$1" "$2"
}

# Serve image $1 in reader 1 with the further options; sets card_pid.
run_card() {
	local img=$1 log=$2
	shift 2
	"$V" run "$img" --port "$((port + 1))" "$@" 2>"$log" &
	card_pid=$!
	bg_pids+=("$card_pid")
	"$stack_wait" wait --timeout 10000 --present "$reader1" >/dev/null
}

alive() { [[ -r /proc/$1/stat && $(awk '{ print $3 }' "/proc/$1/stat") != Z ]]; }

# Wait, bounded, for the card process to end; sets card_rc. Then wait until
# pcscd has seen the reader empty, so that the next card in this reader is
# not taken for this one.
reap_card() {
	local t
	for ((t = 0; t < 150; t++)); do
		alive "$card_pid" || break
		sleep 0.1
	done
	if alive "$card_pid"; then
		echo "card pid $card_pid still runs after 15 s; stopping it" >&2
		kill -TERM "$card_pid"
	fi
	wait "$card_pid"
	card_rc=$?
	"$stack_wait" wait --timeout 10000 --absent "$reader1" >/dev/null
}

rm -rf "$tmp"
mkdir -p "$tmp"
"$mic" pki init --dir "$pki" >"$tmp/pki.log" 2>&1 || { cat "$tmp/pki.log"; exit 1; }

# --- images ------------------------------------------------------------------

out=$("$V" new --out "$tmp/blank.img" --serial TEST0001 2>&1); rc=$?
check "new exits 0" test "$rc" -eq 0
check "new says blank" contains "$out" "blank card"
check "show: blank" test "$(field "$tmp/blank.img" state)" = blank
check "show: a chip serial" contains "$(field "$tmp/blank.img" serial)" '^[0-9A-F]\{16\}$'
check "show: no holder on a blank card" test -z "$(field "$tmp/blank.img" name)"
cp "$tmp/blank.img" "$tmp/blank.copy"
out=$("$V" new --out "$tmp/blank.img" --sample 2>&1); rc=$?
check "new refuses to overwrite" test "$rc" -eq 1
check "new says why" contains "$out" "exists; --force"
check "refused new leaves the file alone" cmp -s "$tmp/blank.img" "$tmp/blank.copy"
out=$("$V" new --out "$tmp/blank.img" --sample --force 2>&1); rc=$?
check "new --force exits 0" test "$rc" -eq 0
check "new --force replaced it" test "$(field "$tmp/blank.img" state)" = active

# The chip factory's SCP11 keys (--pki): the copies below open channels.
out=$("$V" new --out "$tmp/sample.img" --sample --pki "$pki" 2>&1); rc=$?
check "new --sample exits 0" test "$rc" -eq 0
out=$("$V" show "$tmp/sample.img"); rc=$?
check "show exits 0" test "$rc" -eq 0
check "sample is active" contains "$out" "^state: active$"
check "sample holder name" contains "$out" "^name: 张三$"
check "sample SSN" contains "$out" "^ssn: 110105198001010016$"
check "sample gender agrees with the SSN" contains "$out" "^gender: 1$"
check "sample birth date agrees with the SSN" contains "$out" "^birth date: 1980-01-01$"
check "sample opening balance" contains "$out" "^balance: 100000 fen"
check "sample card id code" contains "$out" '^card id: 110000D156000001110001[0-9]\{10\}$'

out=$("$V" new --out "$tmp/s2.img" --sample --pin 654321 --balance 5000 \
	--ssn 310115199212310021 --name 李四 --serial S2-0000000042 2>&1); rc=$?
check "new --sample with options exits 0" test "$rc" -eq 0
check "sample options: balance" test "$(field "$tmp/s2.img" balance)" = "5000 fen (50.00 CNY)"
check "sample options: SSN" test "$(field "$tmp/s2.img" ssn)" = 310115199212310021
check "sample options: gender from the SSN" test "$(field "$tmp/s2.img" gender)" = 2
check "sample options: card number from the serial" test "$(field "$tmp/s2.img" "card number")" = A00000042
out=$("$V" new --out "$tmp/s3.img" --sample --balance 0 2>&1); rc=$?
check "new --sample --balance 0" test "$(field "$tmp/s3.img" balance)" = "0 fen (0.00 CNY)"

out=$("$V" new --out "$tmp/bad.img" --sample --ssn 110105198001010017 2>&1); rc=$?
check "bad SSN check character is a usage error" test "$rc" -eq 2
check "bad SSN is explained" contains "$out" "check character"
out=$("$V" new --out "$tmp/bad.img" --sample --pin 12a456 2>&1); rc=$?
check "bad PIN is a usage error" test "$rc" -eq 2
out=$("$V" new --out "$tmp/bad.img" --pin 123456 2>&1); rc=$?
check "--pin without --sample is a usage error" test "$rc" -eq 2
check "no image after usage errors" test ! -e "$tmp/bad.img"

# Damaged images are refused, each with its reason.
cp "$tmp/sample.img" "$tmp/flip.img"
printf '\xFF' | dd of="$tmp/flip.img" bs=1 seek=100 conv=notrunc status=none
out=$("$V" show "$tmp/flip.img" 2>&1); rc=$?
check "damaged image: show exits 1" test "$rc" -eq 1
check "damaged image: checksum named" contains "$out" "checksum"
head -c 3000 "$tmp/sample.img" >"$tmp/short.img"
out=$("$V" show "$tmp/short.img" 2>&1)
check "truncated image named" contains "$out" "truncated"
printf 'not a card\n' >"$tmp/text.img"
out=$("$V" show "$tmp/text.img" 2>&1)
check "foreign file named" contains "$out" "not a card image"
out=$("$V" show "$tmp/none.img" 2>&1); rc=$?
check "missing image: exit 1" test "$rc" -eq 1
check "missing image: errno text" contains "$out" "No such file"
out=$("$V" run "$tmp/flip.img" --port "$((port + 1))" 2>&1); rc=$?
check "run refuses a damaged image" test "$rc" -eq 1

out=$("$V" new --help); rc=$?
check "new --help" test "$rc" -eq 0
check "new --help names the placeholders" contains "$out" "PLACEHOLDER"
out=$("$V" run --help)
check "run --help: no test role" lacks "$out" "role"
check "run --help: tear exit status" contains "$out" "3 a tear"
out=$("$V" run --tear-after-apdus 0 2>&1); rc=$?
check "tear at APDU 0 is a usage error" test "$rc" -eq 2
out=$("$V" run --tear-after-apdus 3:sideways 2>&1); rc=$?
check "tear variant checked" test "$rc" -eq 2
out=$("$V" run --test-role agency 2>&1); rc=$?
check "run has no --test-role" test "$rc" -eq 2

# --- a sample card through pcscd --------------------------------------------

"$MIC_READER_STACK" start --dir "$dir" --port "$port" --readers 2 --cards 1 \
	--build "$MIC_BUILD_DIR" --pki "$pki" >"$tmp/stack.log" 2>&1 ||
	{ cat "$tmp/stack.log"; exit 1; }
eval "$("$MIC_READER_STACK" env --dir "$dir")"
img0="$dir/cards/card-0.img"

check "stack made a sample image" test "$(field "$img0" state)" = active
out=$("$MIC_READER_STACK" status --dir "$dir")
check "status shows the image and its state" contains "$out" "card-0.img (active)"
check "status names the PKI" contains "$out" "pki: "
# EF.HOLDER: refused in plain (card profile 4.3), read in a terminal's
# channel.
out=$("$mic" apdu -r 0 "$select" '00 B0 82 00 00' 2>&1); rc=$?
check "EF.HOLDER in plain through pcscd: 6982" contains "$(tail -1 <<<"$out")" "6982"
out=$("$scp" pcsc "$reader0" "$pki" hospital-pos '00 B0 82 00 00' 2>&1); rc=$?
check "EF.HOLDER reads through pcscd in SCP11a" test "$rc" -eq 0
check "EF.HOLDER holds the SSN" contains "$out" "31 31 30 31 30 35 31 39 38 30 30 31 30 31 30 30 31 36"

# A change made before an eject is there after the insert.
out=$("$scp" pcsc "$reader0" "$pki" agency "$(credit 1234 1)" 2>&1); rc=$?
check "CREDIT as the agency, through SCP11a" test "$rc" -eq 0
out=$("$mic" apdu -r 0 "$select" "$(credit 1234 2)" 2>&1)
check "CREDIT without a channel is refused" contains "$out" "^< 6982"
# A DEBIT ends the PIN's verified state whatever its outcome, a wrong
# P1-P2 too (card profile 3.11): the PIN asked afterwards is unverified.
out=$("$mic" apdu -r 0 "$select" '00 20 00 81 08 26 12 34 56 FF FF FF FF' \
	'80 54 01 00 00' '00 20 00 81' 2>&1)
check "a refused DEBIT: 6A86" contains "$out" "^< 6A86"
check "... and the PIN is no longer verified" contains "$out" "^< 63C3"
check "image has the credit at once" test "$(field "$img0" balance)" = "101234 fen (1012.34 CNY)"
"$MIC_READER_STACK" eject 0 --dir "$dir" >/dev/null 2>&1
check "ejected card keeps its image" test "$(field "$img0" balance)" = "101234 fen (1012.34 CNY)"
"$MIC_READER_STACK" insert 0 --dir "$dir" >/dev/null 2>&1
out=$("$scp" pcsc "$reader0" "$pki" agency '00 B0 88 00 00' 2>&1); rc=$?
check "EF.ACCOUNT after re-insertion" test "$rc" -eq 0
check "balance survived eject/insert" contains "$out" "80 08 00 00 00 00 00 01 8B 72"
check "counter survived eject/insert" contains "$out" "81 04 00 00 00 02"

# SIGUSR1 pulls the card and puts it back, state kept; the trace hides PINs.
cp "$tmp/sample.img" "$tmp/usr1.img"
run_card "$tmp/usr1.img" "$tmp/usr1.log" -v
kill -USR1 "$card_pid"
check "SIGUSR1 removes the card" "$stack_wait" wait --timeout 10000 --absent "$reader1"
kill -USR1 "$card_pid"
check "second SIGUSR1 re-inserts it" "$stack_wait" wait --timeout 10000 --present "$reader1"
out=$("$mic" apdu --strict -r 1 "$select" '00 20 00 81 08 26 12 34 56 FF FF FF FF' 2>&1); rc=$?
check "VERIFY after re-insertion" test "$rc" -eq 0
# CHANGE REFERENCE DATA in plain is refused (no bank channel), but traced.
out=$("$mic" apdu -r 1 "$select" \
	'00 24 00 81 10 26 12 34 56 FF FF FF FF 26 65 43 21 FF FF FF FF' 2>&1)
check "CHANGE REFERENCE DATA in plain is refused" contains "$out" "^< 6982"
out=$("$scp" pcsc "$reader1" "$pki" bank \
	'00 24 00 81 10 26 12 34 56 FF FF FF FF 26 65 43 21 FF FF FF FF' 2>&1); rc=$?
check "CHANGE REFERENCE DATA in the bank's channel" test "$rc" -eq 0
kill -TERM "$card_pid"
reap_card
check "run exits 0 on SIGTERM" test "$card_rc" -eq 0
run_card "$tmp/usr1.img" "$tmp/usr1-again.log"
out=$("$mic" apdu --strict -r 1 "$select" '00 20 00 81 08 26 65 43 21 FF FF FF FF' 2>&1); rc=$?
check "the new PIN survived a restart" test "$rc" -eq 0
kill -TERM "$card_pid"
reap_card
log=$(<"$tmp/usr1.log")
check "trace shows the APDU header" contains "$log" "> 00 20 00 81 08 \*\* \*\* \*\* \*\* \*\* \*\* \*\* \*\*"
check "trace masks CHANGE REFERENCE DATA" contains "$log" "> 00 24 00 81 10 \*\*"
check "trace never shows a PIN block" lacks "$log" "26 12 34 56"
check "trace never shows the new PIN" lacks "$log" "26 65 43 21"
check "trace shows the protected CHANGE REFERENCE DATA" contains "$log" "> 04 24 00 81"
check "log says removed and inserted" contains "$log" "inserted again"

# --- tearing -----------------------------------------------------------------

# The agency's channel takes the same number of APDUs each time: learn it
# on this card, so that the CREDIT is APDU hs + 1.
cp "$tmp/sample.img" "$tmp/tear.img"
run_card "$tmp/tear.img" "$tmp/tear-learn.log"
hs=$("$scp" pcsc "$reader1" "$pki" agency '00 B0 81 00 00' 2>&1 | sed -n 's/^handshake: \([0-9]*\) APDUs$/\1/p')
kill -TERM "$card_pid"
reap_card
check "the handshake's APDUs are counted ($hs)" test "${hs:-0}" -ge 4
hs=${hs:-0}

# Power cut before the CREDIT: the card never saw it.
run_card "$tmp/tear.img" "$tmp/tear-before.log" --tear-after-apdus "$((hs + 1)):before"
out=$("$scp" pcsc "$reader1" "$pki" agency "$(credit 500 7)" 2>&1); rc=$?
reap_card
check "tear before: the terminal gets no answer" test "$rc" -ne 0
check "tear before: card exits 3" test "$card_rc" -eq 3
check "tear before: the reader is empty" "$stack_wait" wait --timeout 10000 --absent "$reader1"
check "tear before: image untouched" test "$(field "$tmp/tear.img" balance)" = "100000 fen (1000.00 CNY)"
check "tear before: counter untouched" test "$(field "$tmp/tear.img" counter)" = 1

# Power cut after it was processed and committed, before the response.
run_card "$tmp/tear.img" "$tmp/tear-after.log" --tear-after-apdus "$((hs + 1)):after"
out=$("$scp" pcsc "$reader1" "$pki" agency "$(credit 500 7)" 2>&1); rc=$?
reap_card
check "tear after: the terminal gets no answer" test "$rc" -ne 0
check "tear after: card exits 3" test "$card_rc" -eq 3
check "tear after: the reader is empty" "$stack_wait" wait --timeout 10000 --absent "$reader1"
check "tear after: balance" contains "$(field "$tmp/tear.img" balance)" "^100500 fen"
check "tear after: counter" test "$(field "$tmp/tear.img" counter)" = 2
check "tear logs say which" contains "$(<"$tmp/tear-after.log")" "power cut after APDU $((hs + 1))"

# The terminal retries the same CREDIT: the card gives the same receipt
# without crediting twice (profile 3.11).
run_card "$tmp/tear.img" "$tmp/retry.log"
out=$("$scp" pcsc "$reader1" "$pki" agency "$(credit 500 7)" 2>&1); rc=$?
kill -TERM "$card_pid"
reap_card
check "retry after a tear is answered" test "$rc" -eq 0
check "retry credits once" contains "$(field "$tmp/tear.img" balance)" "^100500 fen"

# Power cut in the middle of the image write of the CREDIT.
# The handshake writes nothing (the card's time is already the agency
# certificate's): the first image write is the CREDIT's.
run_card "$tmp/tear.img" "$tmp/tear-write.log" --tear-in-write 1
out=$("$scp" pcsc "$reader1" "$pki" agency "$(credit 300 9)" 2>&1); rc=$?
reap_card
check "tear in write: card exits 3" test "$card_rc" -eq 3
check "tear in write: the reader is empty" "$stack_wait" wait --timeout 10000 --absent "$reader1"
check "tear in write: image still loads, state before" contains "$(field "$tmp/tear.img" balance)" "^100500 fen"
check "tear in write: a torn temporary file is left" compgen -G "$tmp/tear.img.tmp-*" >/dev/null
run_card "$tmp/tear.img" "$tmp/after-tear.log"
out=$("$scp" pcsc "$reader1" "$pki" agency "$(credit 300 9)" 2>&1); rc=$?
kill -TERM "$card_pid"
reap_card
check "after the torn write the card works" test "$rc" -eq 0
check "after the torn write: credited once" contains "$(field "$tmp/tear.img" balance)" "^100800 fen"
check "run cleaned the torn temporary file" test -z "$(compgen -G "$tmp/tear.img.tmp-*")"

# A write the disk refuses (ENOSPC on a tiny tmpfs, in a private mount
# namespace): the card loses that command as if the power went, leaves
# the reader, comes back with what its image holds, and keeps working.
enospc() {
	local tiny=$1 sample=$2 vcard=$3 wait_tool=$4 scptool=$5 port1=$6 reader=$7
	local pkidir=$8 cred=$9
	local pages pid rc out t
	pages=$((($(stat -c %s "$sample") + 4095) / 4096))
	mount -t tmpfs -o size=$(((pages + 1) * 4))k mic-tiny "$tiny" || return 9
	cp "$sample" "$tiny/c.img"
	"$vcard" run "$tiny/c.img" --port "$port1" 2>"$tiny.log" &
	pid=$!
	"$wait_tool" wait --timeout 10000 --present "$reader" >/dev/null
	"$scptool" pcsc "$reader" "$pkidir" agency "$cred" >/dev/null 2>&1
	echo "credit_rc=$?"
	# pcscd needs a presence poll or two to see the card go and come back.
	rc=1
	for ((t = 0; t < 50; t++)); do
		out=$("$scptool" pcsc "$reader" "$pkidir" agency '00 B0 88 00 00' 2>&1)
		rc=$?
		((rc == 0)) && break
		sleep 0.2
	done
	echo "read_rc=$rc"
	grep -q "80 08 00 00 00 00 00 01 86 A0" <<<"$out" && echo "balance_kept=1"
	kill -TERM "$pid"
	wait "$pid"
	echo "card_rc=$?"
	"$vcard" show "$tiny/c.img" | sed -n 's/^balance: /balance=/p'
	echo "temps=$(compgen -G "$tiny/c.img.tmp-*" | wc -l)"
}
ns=()
if unshare -m --propagation private true 2>/dev/null; then
	ns=(unshare -m --propagation private)
elif unshare -rm --propagation private true 2>/dev/null; then
	ns=(unshare -rm --propagation private)
fi
if ((${#ns[@]} > 0)); then
	mkdir -p "$tmp/tiny"
	out=$("${ns[@]}" bash -c "$(declare -f enospc); enospc \"\$@\"" _ \
		"$tmp/tiny" "$tmp/sample.img" "$V" "$stack_wait" "$scp" "$((port + 1))" \
		"$reader1" "$pki" "$(credit 5 1)")
	check "disk full: the CREDIT gets no answer" contains "$out" "^credit_rc=[1-9]"
	check "disk full: the card comes back and answers" contains "$out" "^read_rc=0$"
	check "disk full: the balance is the old one" contains "$out" "^balance_kept=1$"
	check "disk full: card exits 0" contains "$out" "^card_rc=0$"
	check "disk full: the image is the old one" contains "$out" "^balance=100000 fen"
	check "disk full: no temporary file left" contains "$out" "^temps=0$"
	check "disk full: the log says so" contains "$(<"$tmp/tiny.log")" "No space left on device"
	"$stack_wait" wait --timeout 10000 --absent "$reader1" >/dev/null
else
	echo "SKIP: disk-full check (no mount namespace here)"
fi

"$MIC_READER_STACK" stop --dir "$dir" >/dev/null 2>&1

# --- the hopper through pcscd ------------------------------------------------

# The script without its SELECT: scp_apdu selects, then opens the bureau's
# channel, and a SELECT of the application inside it would end it.
"$V" perso-script >"$tmp/perso-full.apdu"
out=$(grep -c '^80 E2' "$tmp/perso-full.apdu")
check "perso script has 6 STORE DATA blocks" test "$out" -eq 6
grep -v '^00 A4 04' "$tmp/perso-full.apdu" >"$tmp/perso.apdu"
"$MIC_READER_STACK" start --dir "$hdir" --port "$hport" --readers 2 --cards 1 \
	--build "$MIC_BUILD_DIR" --hopper "$tmp/issued" --pki "$pki" \
	>"$tmp/hstack.log" 2>&1 || { cat "$tmp/hstack.log"; exit 1; }
eval "$("$MIC_READER_STACK" env --dir "$hdir")"

# A blank card answers SELECT with MIC state 01 in its FCI. Returns once the
# reader holds a fresh blank card (the previous one may still be leaving).
wait_blank() {
	local t
	for ((t = 0; t < 100; t++)); do
		if "$mic" apdu -r 0 "$select_fci" 2>/dev/null | grep -q "80 01 01 81 08"; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
images() { compgen -G "$tmp/issued/*.img" | wc -l; }
for ((k = 1; k <= hopper_cards; k++)); do
	check "hopper card $k is blank" wait_blank
	check "hopper card $k personalized" "$scp" pcsc "$reader0" "$pki" bureau -f "$tmp/perso.apdu" >/dev/null
	for ((t = 0; t < 100; t++)); do
		(($(images) >= k)) && break
		sleep 0.1
	done
	check "hopper wrote image $k" test "$(images)" -eq "$k"
done
"$MIC_READER_STACK" stop --dir "$hdir" >/dev/null 2>&1
check "hopper wrote $hopper_cards images, not the blank one left" test "$(images)" -eq "$hopper_cards"
serials=""
for f in "$tmp"/issued/*.img; do
	check "issued $(basename "$f") is personalized" test "$(field "$f" state)" = personalized
	check "issued $(basename "$f") holds the holder" test "$(field "$f" ssn)" = 110105198001010016
	serials+="$(field "$f" serial) "
done
check "issued cards have distinct chip serials" test "$(tr ' ' '\n' <<<"$serials" | sort -u | grep -c .)" -eq "$hopper_cards"

# --- the hopper for many cards: flat memory -----------------------------------

# scp_apdu stands in for vpcd: for each card, power on, the bureau's SCP11a
# channel and the personalization in it, power off; it waits for the card
# to leave. It reports the hopper's resident set size after the first third
# of the cards and after the last one.
fake_vpcd() { # PORT COUNT SCRIPT PIDFILE [--plain HEX]
	local port=$1 n=$2 script=$3 pidfile=$4
	shift 4
	"$scp" vpcd "$port" "$n" "$pidfile" "$pki" bureau "$@" -f "$script"
}

# One card with the trace on: the transport PIN DGI of a plain STORE DATA
# (refused: no channel yet) is masked, and the channel hides the rest.
mkdir -p "$tmp/traced"
fake_vpcd "$fport" 1 "$tmp/perso.apdu" "$tmp/traced.pid" \
	--plain "$(grep '^80 E2 80 05' "$tmp/perso.apdu")" >"$tmp/traced.out" 2>&1 &
fake_pid=$!
bg_pids+=("$fake_pid")
for ((t = 0; t < 100; t++)); do
	[[ -e $tmp/traced.pid.ready ]] && break
	sleep 0.1
done
"$V" hopper -v --out "$tmp/traced" --port "$fport" --count 1 --pki "$pki" \
	2>"$tmp/traced.log" &
printf '%d\n' "$!" >"$tmp/traced.pid"
wait "$!"
rc=$?
wait "$fake_pid"
log=$(<"$tmp/traced.log")
check "traced hopper card issued" test "$rc" -eq 0
check "the stand-in saw the plain STORE DATA refused" contains "$(<"$tmp/traced.out")" "^< 6982$"
check "traced card personalized" test "$(field "$(compgen -G "$tmp/traced/*.img")" state)" = personalized
check "trace masks the PIN DGI of STORE DATA" contains "$log" "> 80 E2 80 05 0B 80 10 08 \*\* \*\* \*\* \*\* \*\* \*\* \*\* \*\*"
check "trace never shows the transport PIN block" lacks "$log" "26 00 00 00 FF"
check "trace shows protected STORE DATA" contains "$log" "> 84 E2 00 01"
check "trace never shows EF.HOLDER's DGI in clear" lacks "$log" "01 02 36 65"

mkdir -p "$tmp/stress"
fake_vpcd "$fport" "$stress_cards" "$tmp/perso.apdu" "$tmp/stress.pid" >"$tmp/stress.out" 2>&1 &
fake_pid=$!
bg_pids+=("$fake_pid")
for ((t = 0; t < 100; t++)); do
	[[ -e $tmp/stress.pid.ready ]] && break
	sleep 0.1
done
# ASan's quarantine holds freed memory back on purpose; without it the
# resident size shows what the hopper keeps. Leaks fail the run at exit.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0" \
	"$V" hopper --out "$tmp/stress" --port "$fport" --count "$stress_cards" \
	--pki "$pki" 2>"$tmp/stress-hopper.log" &
hopper_pid=$!
bg_pids+=("$hopper_pid")
printf '%d\n' "$hopper_pid" >"$tmp/stress.pid"
wait "$hopper_pid"
rc=$?
wait "$fake_pid"
frc=$?
check "stress: hopper exits 0 (no leaks)" test "$rc" -eq 0
check "stress: stand-in vpcd saw every card leave" test "$frc" -eq 0
check "stress: $stress_cards images" test "$(compgen -G "$tmp/stress/*.img" | wc -l)" -eq "$stress_cards"
rfirst=$(sed -n 's/^rss_kb_first=//p' "$tmp/stress.out")
rlast=$(sed -n 's/^rss_kb_last=//p' "$tmp/stress.out")
echo "hopper resident set: ${rfirst:-?} kB after $((stress_cards / 3 + 1)) cards, ${rlast:-?} kB after $stress_cards"
# A card leaked per card would be 7 kB or more each; ASan's own allocator
# bookkeeping grows by about 1 MB over the first thousands.
check "stress: memory flat (under 2 MB growth)" test "$((${rlast:-999999} - ${rfirst:-0}))" -lt 2048
check "stress: last image is personalized" test \
	"$(field "$(compgen -G "$tmp/stress/*.img" | sort | tail -1)" state)" = personalized

finish
