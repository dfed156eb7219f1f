#!/usr/bin/env bash
# The mic command line through a private reader stack, as a user runs it.
set -uo pipefail

mic="$MIC_BUILD_DIR/tools/mic"
dir="$MIC_TEST_TMP/stack-tools"
port=36200
. "$(dirname "$0")/lib.sh"


cleanup() { "$MIC_READER_STACK" stop --dir "$dir" >/dev/null 2>&1; }
trap cleanup EXIT

"$MIC_READER_STACK" start --dir "$dir" --port "$port" --readers 2 --cards 1 \
	--build "$MIC_BUILD_DIR" >"$dir.log" 2>&1 || { cat "$dir.log"; exit 1; }
eval "$("$MIC_READER_STACK" env --dir "$dir")"

out=$("$mic" readers); rc=$?
check "readers exits 0" test "$rc" -eq 0
check "readers shows a card" contains "$out" "Virtual PCD 00 00: card"
check "readers shows an empty slot" contains "$out" "Virtual PCD 00 01: empty"

out=$("$mic" readers --json); rc=$?
check "readers --json exits 0" test "$rc" -eq 0
check "readers --json has card_present" contains "$out" '"card_present": true'

select='00 A4 04 0C 09 D1 56 00 00 01 4D 49 43 01'
out=$("$mic" apdu "$select" '00 B0 81 00 00'); rc=$?
check "apdu exits 0" test "$rc" -eq 0
check "apdu names the SW" contains "$out" "9000  success"

out=$("$mic" apdu --strict '00 B0 9D 00 00' 2>&1); rc=$?
check "apdu --strict fails on an error SW" test "$rc" -eq 1
check "apdu shows the error SW" contains "$out" "6A82"

script="$MIC_TEST_TMP/tools.apdu"
printf '# select and read\n%s\n\n00 B0 81 00 00\nreset\n%s\n' "$select" "$select" >"$script"
out=$("$mic" apdu -f "$script"); rc=$?
check "apdu -f exits 0" test "$rc" -eq 0
check "apdu -f runs the reset" contains "$out" "^reset"
check "apdu -f ran 3 APDUs" test "$(grep -c '^<' <<<"$out")" -eq 3

printf '00 A4 04\n' >"$script"
out=$("$mic" apdu -f "$script" 2>&1); rc=$?
check "bad script line is named" contains "$out" "tools.apdu:1:"
check "bad script exits 1" test "$rc" -eq 1

out=$("$mic" apdu 'zz' 2>&1); rc=$?
check "bad hex is a usage error" test "$rc" -eq 2

# The trace hook never shows a PIN: VERIFY data is masked.
out=$("$mic" apdu --trace '00 20 00 81 06 31 32 33 34 35 36' 2>&1); rc=$?
check "trace masks VERIFY data" contains "$out" "=> 00 20 00 81 06 2A 2A 2A 2A 2A 2A"
check "trace never shows the PIN" test "$(grep -c '31 32 33 34' <<<"$out")" -eq 0

# Reading a card as a POS does: public data, then the PIN and the account.
# Without credentials a card gives its public face only (card profile
# 4.3), and mic card read says what it did not show and what would.
out=$("$mic" card read); rc=$?
check "card read exits 0" test "$rc" -eq 0
check "card read shows the card number" contains "$out" "^card number: *[A-Z0-9]*$"
check "card read shows no holder" test "$(grep -c '^name\|张三\|^ssn\|^birth\|^insured\|^activated' <<<"$out")" -eq 0
check "card read says what was not shown" contains "$out" "^not shown: .*need a terminal certificate (--terminal DIR) or the PIN (--pin)"
check "card read shows nothing private" test "$(grep -c 'balance\|^member\|^log' <<<"$out")" -eq 0
# The holder at home: the PIN opens every file.
out=$(MIC_PIN=123456 "$mic" card read --pin); rc=$?
check "card read --pin exits 0" test "$rc" -eq 0
check "card read --pin says how it read" contains "$out" "^read with: *the holder's PIN$"
check "card read --pin shows the holder" contains "$out" "name: *张三"
check "card read --pin decodes the region" contains "$out" "birthplace: *110105 (北京市)"
check "card read --pin shows the ethnicity" contains "$out" "^ethnicity: *[0-9][0-9] ("
check "card read --pin shows the insurance start" contains "$out" "^insured since: [0-9]\{8\}$"
check "card read --pin shows the activation policy" contains "$out" "^first use: "
check "card read --pin shows the activation record" contains "$out" "^activated: *[0-9-]* [0-9:]*, terminal "
check "card read --pin shows the balance" contains "$out" "balance: *1000.00 CNY"
check "card read --pin shows the counter" contains "$out" "^transactions: 1$"
check "card read --pin shows the log" contains "$out" "^log 1 *#1 credit 1000.00 CNY, balance 1000.00 CNY"
check "card read --pin shows the family" contains "$out" "^family: *none bound$"
check "card read --pin says nothing is missing" lacks "$out" "not shown"
out=$("$mic" card read --pin --terminal /nonexistent 2>&1); rc=$?
check "--pin with --terminal is a usage error" test "$rc" -eq 2

# A trace of a full read (plain, after the PIN) shows the holder's files
# as headers, lengths and status words: no byte of the name (UTF-8 of
# 张三) or the ID number (its digits in ASCII), in any APDU.
MIC_PIN=123456 "$mic" card read --pin --trace >/dev/null 2>"$MIC_TEST_TMP/tools.trace"; rc=$?
trace=$(tr -d ' \n' <"$MIC_TEST_TMP/tools.trace")
check "card read --trace exits 0" test "$rc" -eq 0
check "the trace shows EF.HOLDER's read" contains "$(cat "$MIC_TEST_TMP/tools.trace")" "=> 00 B0 82 00 00"
check "the trace masks EF.HOLDER" contains "$(cat "$MIC_TEST_TMP/tools.trace")" "<= 2A 2A 2A"
check "the trace has no byte of the name" lacks "$trace" "E5BCA0E4B889"
check "the trace has no byte of the ID number" lacks "$trace" "$(printf 110105198001010016 | od -An -tx1 | tr -d ' \n' | tr a-f A-F)"
check "the trace has no half of the ID number" lacks "$trace" "313130313035313938"

# The same as one JSON object, amounts in fen.
out=$(MIC_PIN=123456 "$mic" card read --pin --json); rc=$?
check "card read --json exits 0" test "$rc" -eq 0
check "card read --json is JSON with every field" python3 -c '
import json, sys
j = json.loads(sys.argv[1])
assert j["state"] == "active", j
assert j["access"] == "pin", j
assert j["holder"]["name"] == "张三" and j["holder"]["birthplace"] == "110105"
assert len(j["holder"]["ethnicity"]) == 2
assert len(j["insurance"]["insured_since"]) == 8
assert isinstance(j["insurance"]["first_use_activation"], bool)
assert j["activation"]["role"] == "bank" and len(j["activation"]["time"]) == 14
assert j["account"] == {"balance_fen": 100000, "counter": 1}, j["account"]
assert j["family"] == []
assert [(l["type"], l["amount_fen"], l["counter"]) for l in j["log"]] == [("credit", 100000, 1)]
' "$out"
out=$("$mic" card read --json); rc=$?
check "card read --json without the PIN has nothing personal" python3 -c '
import json, sys
j = json.loads(sys.argv[1])
assert "account" not in j and "family" not in j and "log" not in j
assert "holder" not in j and "insurance" not in j and "activation" not in j
assert j["access"] == "public" and "--terminal DIR" in j["not_shown"]
assert j["card"]["number"]
' "$out"
out=$(env -u MIC_PIN "$mic" card read --pin 2>&1 <<<"654321"); rc=$?
check "a wrong PIN exits 1" test "$rc" -eq 1
check "a wrong PIN says the tries left" contains "$out" "2 tries left"

# The example an integrator copies first.
out=$("$MIC_BUILD_DIR/examples/example_select" 2>&1); rc=$?
check "example_select exits 0" test "$rc" -eq 0
check "example_select reads EF.CARD" contains "$out" "^EF.CARD:"

"$MIC_READER_STACK" stop --dir "$dir" >/dev/null 2>&1
out=$("$mic" readers 2>&1); rc=$?
check "no pcscd exits 1" test "$rc" -eq 1
check "no pcscd is named" contains "$out" "pcscd"

# A trust store or terminal directory that does not load is named, with the
# piece missing, before any card traffic (no reader needed).
t="$MIC_TEST_TMP/tools-trust"
rm -rf "$t"; mkdir -p "$t/empty/roots" "$t/term/roots"
out=$("$mic" card verify --trust "$t/none" 2>&1); rc=$?
check "verify, no trust store: exit 1" test "$rc" -eq 1
check "verify, no trust store: roots/ named" contains "$out" \
    "trust store $t/none: $t/none/roots: No such file or directory"
out=$("$mic" card verify --trust "$t/empty" 2>&1); rc=$?
check "verify, no root: exit 1" test "$rc" -eq 1
check "verify, no root: said" contains "$out" \
    "no root certificate (\*.pem) in $t/empty/roots"
out=$("$mic" card read --terminal "$t/none" 2>&1); rc=$?
check "read, no terminal dir: exit 1" test "$rc" -eq 1
check "read, no terminal dir: named" contains "$out" "terminal $t/none: $t/none/roots: No such file"
printf 'not a certificate\n' >"$t/term/roots/root.pem"
cp "$t/term/roots/root.pem" "$t/empty/roots/root.pem"
out=$("$mic" card read --terminal "$t/term" 2>&1); rc=$?
check "read, no terminal certificate: exit 1" test "$rc" -eq 1
check "read, no terminal certificate: named" contains "$out" \
    "$t/term/terminal/cert.pem: No such file or directory"
out=$("$mic" card verify --trust "$t/empty" 2>&1); rc=$?
check "verify, a root that is no certificate: said" contains "$out" \
    "trust store $t/empty: .*(MIC_ERR_"
rm -rf "$t"

finish
