#!/usr/bin/env bash
# The holder's personal data through the real stack (issue 16, card
# profile 4.3): a test PKI, a card personalized by 'mic perso' (state
# personalized), a sample card (active), and the same sample blocked by
# the agency, each served through pcscd + vpcd. In every state a plain
# READ BINARY of EF.HOLDER, EF.INSURANCE and EF.ACTIVATION gives 6982, an
# anonymous SCP11b channel gets 6982 too, every terminal role reads them
# in its SCP11a channel, and on the active card the holder's PIN opens
# them. Then 'mic card read' and 'mic card verify' with and without
# credentials, each saying what it showed or checked, and traces of full
# reads (after the PIN in plain, and in a terminal's channel) that hold no
# byte of the holder's name or ID number.
#
# Ports 36860-36879 belong to this test.
set -uo pipefail

V="$MIC_BUILD_DIR/tools/mic-vcard/mic-vcard"
mic="$MIC_BUILD_DIR/tools/mic"
scp="$MIC_BUILD_DIR/tests/integration/scp_apdu"
stack_wait="$MIC_BUILD_DIR/tools/mic-vcard/mic-stack-wait"
here=$(cd "$(dirname "$0")" && pwd)
gen="$here/../../scripts/gen-batch"
tmp="$MIC_TEST_TMP/privacy"
dir="$MIC_TEST_TMP/stack-privacy"   # scripts/test stops stack-* on a crash
port=36860     # reader 0: the stack's own card; reader 1: ours
reader1="Virtual PCD 00 01"
select='00 A4 04 0C 09 D1 56 00 00 01 4D 49 43 01'
personal=('00 B0 82 00 00' '00 B0 83 00 00' '00 B0 86 00 00')
roles=(hospital-pos pharmacy-pos bank agency bureau)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/card1.sh"

# The hex of a UTF-8 or ASCII string, upper case, no spaces.
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n' | tr a-f A-F; }

# The three personal files of the card in reader 1, in state $1.
access_rules() {
	local state=$1 out role sw
	# Plain: 6982 for each, the public EF.CARD still 9000.
	out=$("$mic" apdu -r "$reader1" "$select" '00 B0 81 00 00' \
	    "${personal[@]}" 2>&1)
	check "$state: plain EF.CARD is public" test \
	    "$(grep '^<' <<<"$out" | sed -n 2p | grep -c '9000')" -eq 1
	check "$state: plain reads of the personal files: 6982 ($out)" test \
	    "$(grep '^<' <<<"$out" | tail -3 | grep -c '^< 6982')" -eq 3
	# SCP11b alone: the card proved itself, the terminal did not.
	out=$("$scp" pcsc "$reader1" "$tmp/pki" scp11b "${personal[@]}" 2>&1)
	check "$state: SCP11b alone: 6982 ($out)" test \
	    "$(grep -c '^< 6982$' <<<"$out")" -eq 3
	# SCP11a, each role.
	for role in "${roles[@]}"; do
		out=$("$scp" pcsc "$reader1" "$tmp/pki" "$role" \
		    "${personal[@]}" 2>&1); rc=$?
		check "$state: SCP11a $role reads them ($out)" test "$rc" -eq 0
		check "$state: SCP11a $role gets EF.HOLDER" contains "$out" \
		    "^< 65 "
	done
	# The holder's PIN: VERIFY only on an active card (6985 otherwise).
	out=$("$mic" apdu -r "$reader1" "$select" \
	    '00 20 00 81 08 26 12 34 56 FF FF FF FF' "${personal[@]}" 2>&1)
	if [[ $state == active ]]; then
		check "$state: after the PIN, the three files ($out)" test \
		    "$(grep '^<' <<<"$out" | tail -3 | grep -c ' 9000 ')" -eq 3
		check "$state: after the PIN, EF.HOLDER" contains "$out" "^< 65 "
	else
		sw=$(grep '^<' <<<"$out" | sed -n 2p)
		check "$state: no VERIFY ($sw)" contains "$sw" "6985"
		check "$state: so no file ($out)" test \
		    "$(grep '^<' <<<"$out" | tail -3 | grep -c '^< 6982')" -eq 3
	fi
}

rm -rf "$tmp"
mkdir -p "$tmp"
"$mic" pki init --dir "$tmp/pki" >"$tmp/pki.log" 2>&1 ||
	{ cat "$tmp/pki.log"; exit 1; }
"$mic" pki export-terminal --dir "$tmp/pki" --name hospital-pos \
    --out "$tmp/pos" >>"$tmp/pki.log" 2>&1 || { cat "$tmp/pki.log"; exit 1; }
"$V" new --out "$tmp/blank.img" --pki "$tmp/pki" --serial PRIV0001 \
    >>"$tmp/card.log" 2>&1 || { cat "$tmp/card.log"; exit 1; }
"$V" new --out "$tmp/active.img" --sample --pki "$tmp/pki" \
    --serial PRIV0002 >>"$tmp/card.log" 2>&1 || { cat "$tmp/card.log"; exit 1; }

"$MIC_READER_STACK" start --dir "$dir" --port "$port" --readers 2 --cards 1 \
	--build "$MIC_BUILD_DIR" >"$tmp/stack.log" 2>&1 ||
	{ cat "$tmp/stack.log"; exit 1; }
eval "$("$MIC_READER_STACK" env --dir "$dir")"

# --- personalized: by the bureau's line, read back in its channel -------
"$gen" 1 --prefix PV --out "$tmp/batch.jsonl"
start_card "$tmp/blank.img"
out=$("$mic" perso --batch "$tmp/batch.jsonl" --readers 1 \
    --journal "$tmp/j.db" --pki "$tmp/pki" -q 2>&1); rc=$?
check "perso issues the card ($out)" test "$rc" -eq 0
access_rules personalized
stop_card
check "the card is personalized" contains "$("$V" show "$tmp/blank.img")" \
    "state: personalized"

# --- active: the sample card ---------------------------------------------
start_card "$tmp/active.img"
access_rules active

name=张三
ssn=110105198001010016
# mic card read without credentials: the public face, and what it lacks.
out=$("$mic" card read -r "$reader1" 2>&1); rc=$?
check "read: exit 0" test "$rc" -eq 0
check "read: the card number" contains "$out" "^card number: "
check "read: no holder" lacks "$out" "$name"
check "read: no ID number" lacks "$out" "$ssn"
check "read: says what it did not show" contains "$out" \
    "^not shown: .*(--terminal DIR) or the PIN (--pin)"
# As a terminal: everything, in its SCP11a channel, encrypted on the wire.
out=$("$mic" card read -r "$reader1" --terminal "$tmp/pos" --trace \
    2>"$tmp/pos.trace"); rc=$?
check "read --terminal: exit 0 ($out)" test "$rc" -eq 0
check "read --terminal: says how" contains "$out" \
    "^read with: *SCP11a, hospital POS$"
check "read --terminal: the holder" contains "$out" "^name: *$name$"
check "read --terminal: the ID number" contains "$out" "^ssn: *$ssn$"
check "read --terminal: the account" contains "$out" "^balance: "
check "read --terminal: nothing missing" lacks "$out" "not shown"
trace=$(tr -d ' \n' <"$tmp/pos.trace")
check "read --terminal: protected APDUs on the wire" contains "$trace" "=>04B08200"
check "read --terminal: trace without the name" lacks "$trace" "$(hex "$name")"
check "read --terminal: trace without the ID number" lacks "$trace" "$(hex "$ssn")"
# The holder at home: the PIN, in plain, but the trace masks the files.
out=$(MIC_PIN=123456 "$mic" card read -r "$reader1" --pin --trace \
    2>"$tmp/pin.trace"); rc=$?
check "read --pin: exit 0" test "$rc" -eq 0
check "read --pin: the holder" contains "$out" "^name: *$name$"
trace=$(tr -d ' \n' <"$tmp/pin.trace")
check "read --pin: EF.HOLDER read in plain" contains "$trace" "=>00B0820000"
check "read --pin: its length, no data" contains "$trace" \
    "<=$(printf '2A%.0s' $(seq 160))9000"
check "read --pin: trace without the name" lacks "$trace" "$(hex "$name")"
check "read --pin: trace without the ID number" lacks "$trace" "$(hex "$ssn")"
check "read --pin: trace without the PIN" lacks "$trace" "2612345"
# mic card verify: the public files anonymously, every file as a terminal.
out=$("$mic" card verify -r "$reader1" --trust "$tmp/pki" 2>&1); rc=$?
check "verify --trust: exit 0 ($out)" test "$rc" -eq 0
check "verify --trust: SCP11b" contains "$out" "^chip authentication: OK (SCP11b)$"
check "verify --trust: what it checked" contains "$out" \
    "^checked: EF.CARD, EF.CERT against EF.SOD$"
check "verify --trust: what it could not" contains "$out" \
    "^not checked: EF.HOLDER, EF.INSURANCE (personal data: .*--terminal DIR)$"
out=$("$mic" card verify -r "$reader1" --terminal "$tmp/pos" 2>&1); rc=$?
check "verify --terminal: exit 0 ($out)" test "$rc" -eq 0
check "verify --terminal: SCP11a" contains "$out" "^chip authentication: OK (SCP11a)$"
check "verify --terminal: every file" contains "$out" \
    "^checked: EF.CARD, EF.HOLDER, EF.INSURANCE, EF.CERT against EF.SOD$"
check "verify --terminal: nothing unchecked" lacks "$out" "not checked"
out=$("$mic" card read -r "$reader1" --terminal "$tmp/nothing" 2>&1); rc=$?
check "read --terminal of no terminal: exit 1" test "$rc" -eq 1
check "... and says so" contains "$out" "terminal $tmp/nothing"

# --- blocked: the agency deactivates it (reported lost) ----------------
out=$("$scp" pcsc "$reader1" "$tmp/pki" agency '00 04 00 00 01 01' 2>&1); rc=$?
check "DEACTIVATE FILE by the agency ($out)" test "$rc" -eq 0
access_rules blocked
out=$("$mic" card read -r "$reader1" --terminal "$tmp/pos" 2>&1); rc=$?
check "blocked: read --terminal still reads ($out)" contains "$out" "^name: *$name$"
stop_card
check "the card is blocked" contains "$("$V" show "$tmp/active.img")" "state: blocked"

finish
