#!/usr/bin/env bash
# mic perso's journal, files and messages, as an operator meets them:
#   1. mic perso --check: exit 0, 1, 2, the empty batch and BOM warnings,
#      and --journal against holders already issued;
#   2. messages: a missing batch or a folder, a missing PKI file, SQLite's
#      reason; no journal or PIN file left behind;
#   3. exit status 2 for a bad --issue-date or --bureau-code;
#   4. private files: journal, -wal, -shm and PIN files 0600; an existing
#      one open to others, or a symlink, refused;
#   5. MIC_FAULT kills the line right after a card is recorded issued,
#      before its PIN reaches the PIN file: the PIN is in the journal,
#      sealed; the resume finishes, 'pins export' gives every PIN, the
#      same as the clear file's, and 'openssl cms -decrypt' agrees;
#   6. a journal from before PIN records: the resume lists its issued
#      cards without PIN and exits 3; so does 'pins export'.
#
# Ports 36870-36879 belong to this test.
set -uo pipefail

mic="$MIC_BUILD_DIR/tools/mic"
here=$(cd "$(dirname "$0")" && pwd)
gen="$here/../../scripts/gen-batch"
tmp="$MIC_TEST_TMP/perso-journal"
dir="$MIC_TEST_TMP/stack-perso-journal"
. "$(dirname "$0")/lib.sh"

mode() { stat -c %a "$1"; }

cleanup() { "$MIC_READER_STACK" stop --dir "$dir" >/dev/null 2>&1; }
trap cleanup EXIT

rm -rf "$tmp"
mkdir -p "$tmp"
"$mic" pki init --dir "$tmp/pki" >"$tmp/pki.log" 2>&1 ||
	{ cat "$tmp/pki.log"; exit 1; }
check "pki init: the PIN mailer's key, 0600" test \
    "$(mode "$tmp/pki/pin-mailer/key.pem")" = 600
check "pki init: the PIN mailer's certificate is for key agreement" \
    contains "$(openssl x509 -in "$tmp/pki/pin-mailer/cert.pem" -noout -ext keyUsage)" \
    "Key Agreement"

# --- 1. --check --------------------------------------------------------
"$gen" 6 --prefix G --seed 11 --out "$tmp/good.jsonl"
"$gen" 6 --bad 2 --prefix B --seed 12 --out "$tmp/bad.jsonl"
out=$("$mic" perso --check --batch "$tmp/good.jsonl" 2>&1); rc=$?
check "--check, all valid: exit 0 ($rc: $out)" test "$rc" -eq 0
check "--check: counted" contains "$out" "6 lines, 6 valid, 0 bad"
out=$("$mic" perso --check --batch "$tmp/bad.jsonl" 2>&1); rc=$?
check "--check, bad lines: exit 1 ($rc)" test "$rc" -eq 1
check "--check: each bad line named" test "$(grep -c '^line [0-9]*: ' <<<"$out")" -eq 2
out=$("$mic" perso --check 2>&1); rc=$?
check "--check without --batch: exit 2 ($rc)" test "$rc" -eq 2
out=$("$mic" perso --check --batch "$tmp/good.jsonl" --bogus 2>&1); rc=$?
check "--check, unknown option: exit 2 ($rc)" test "$rc" -eq 2
: >"$tmp/empty.jsonl"
out=$("$mic" perso --check --batch "$tmp/empty.jsonl" 2>&1); rc=$?
check "--check, empty batch: exit 0 ($rc)" test "$rc" -eq 0
check "--check, empty batch: a warning" contains "$out" "warning: .*empty batch"
{ printf '\xEF\xBB\xBF'; cat "$tmp/good.jsonl"; } >"$tmp/bom.jsonl"
out=$("$mic" perso --check --batch "$tmp/bom.jsonl" 2>&1); rc=$?
check "--check, BOM: accepted, exit 0 ($rc: $out)" test "$rc" -eq 0
check "--check, BOM: named" contains "$out" "warning: .*byte order mark"
check "--check, BOM: line 1 read" contains "$out" "6 lines, 6 valid, 0 bad"
out=$("$mic" perso --check --batch "$tmp/good.jsonl" --journal \
    "$tmp/none.db" 2>&1); rc=$?
check "--check, no such journal: exit 1, said ($out)" test "$rc" -eq 1 -a \
    ! -e "$tmp/none.db"
check "--check, no such journal: named" contains "$out" "none.db: No such file"
check "--check created no journal" test ! -e "$tmp/none.db"

# --- 2. messages; nothing created for a batch that cannot be read -------
out=$("$mic" perso --batch "$tmp/missing.jsonl" --journal "$tmp/m.db" \
    --pki "$tmp/pki" --readers all 2>&1); rc=$?
check "missing batch: exit 1 ($rc)" test "$rc" -eq 1
check "missing batch: path and reason ($out)" contains "$out" \
    "missing.jsonl: No such file or directory"
check "missing batch: no journal, no PIN file" test ! -e "$tmp/m.db" -a \
    ! -e "$tmp/m.db.pins.jsonl"
mkdir -p "$tmp/folder"
out=$("$mic" perso --batch "$tmp/folder" --journal "$tmp/m.db" \
    --pki "$tmp/pki" 2>&1); rc=$?
check "a folder as batch: exit 1, named ($out)" test "$rc" -eq 1
check "a folder as batch: Is a directory" contains "$out" "folder: Is a directory"
check "a folder as batch: no journal" test ! -e "$tmp/m.db"
cp -r "$tmp/pki" "$tmp/pki-broken"
rm "$tmp/pki-broken/terminals/bureau/cert.pem"
out=$("$mic" perso --batch "$tmp/good.jsonl" --journal "$tmp/m.db" \
    --pki "$tmp/pki-broken" 2>&1); rc=$?
check "missing PKI file: exit 1 ($rc)" test "$rc" -eq 1
check "missing PKI file: named ($out)" contains "$out" "terminals/bureau/cert.pem is missing"
check "missing PKI file: no journal" test ! -e "$tmp/m.db"
rm -rf "$tmp/pki-broken"
cp -r "$tmp/pki" "$tmp/pki-broken"
rm "$tmp/pki-broken/pin-mailer/cert.pem"
out=$("$mic" perso --batch "$tmp/good.jsonl" --journal "$tmp/m.db" \
    --pki "$tmp/pki-broken" 2>&1); rc=$?
check "missing PIN mailer certificate: named ($out)" contains "$out" "pin-mailer/cert.pem is missing"
# A PKI made before PINs were sealed gets the pair on its own.
rm -rf "$tmp/pki-broken/pin-mailer"
out=$("$mic" pki pin-mailer --dir "$tmp/pki-broken" 2>&1); rc=$?
check "pki pin-mailer: exit 0 ($rc: $out)" test "$rc" -eq 0 -a \
    "$(mode "$tmp/pki-broken/pin-mailer/key.pem")" = 600
out=$("$mic" pki pin-mailer --dir "$tmp/pki-broken" 2>&1); rc=$?
check "pki pin-mailer again: refused ($rc: $out)" test "$rc" -eq 1
check "... and said" contains "$out" "overwrite"
out=$("$mic" pki pin-mailer --dir "$tmp/pki-broken" --force 2>&1); rc=$?
check "pki pin-mailer --force: exit 0 ($rc)" test "$rc" -eq 0
# mic pki names what is missing too.
mkdir -p "$tmp/pki-empty"
out=$("$mic" pki issue-ds --dir "$tmp/pki-empty" 2>&1); rc=$?
check "pki issue-ds without an issuer: exit 1, named ($out)" test "$rc" -eq 1
check "... issuer/cert.pem" contains "$out" "pki-empty/issuer/cert.pem is missing"
out=$("$mic" pki export-terminal --dir "$tmp/pki" --name nosuch \
    --out "$tmp/pki-empty/t" 2>&1); rc=$?
check "pki export-terminal of no such terminal: named ($out)" contains "$out" \
    "terminals/nosuch/cert.pem is missing"
printf 'this is not a database, not at all; padding padding padding padding\n' >"$tmp/garbage.db"
chmod 600 "$tmp/garbage.db"
out=$("$mic" perso --batch "$tmp/good.jsonl" --journal "$tmp/garbage.db" \
    --pki "$tmp/pki" 2>&1); rc=$?
check "not a journal: exit 1 ($rc)" test "$rc" -eq 1
check "not a journal: SQLite's reason, not the debug log ($out)" contains "$out" \
    "garbage.db: file is not a database"
check "... and no 'debug log'" lacks "$out" "debug log"

# --- 3. usage errors ----------------------------------------------------
for bad in 20261301 2026-01-01 19990229 ''; do
	out=$("$mic" perso --batch "$tmp/good.jsonl" --journal "$tmp/u.db" \
	    --pki "$tmp/pki" --issue-date "$bad" 2>&1); rc=$?
	check "--issue-date '$bad': exit 2 ($rc)" test "$rc" -eq 2
	check "--issue-date '$bad': said" contains "$out" "bad --issue-date"
done
for bad in 12a 1234 ''; do
	out=$("$mic" perso --batch "$tmp/good.jsonl" --journal "$tmp/u.db" \
	    --pki "$tmp/pki" --bureau-code "$bad" 2>&1); rc=$?
	check "--bureau-code '$bad': exit 2 ($rc)" test "$rc" -eq 2
done
check "usage errors created nothing" test ! -e "$tmp/u.db"

# --- 4. private files ---------------------------------------------------
touch "$tmp/open.db"
chmod 644 "$tmp/open.db"
out=$("$mic" perso --batch "$tmp/good.jsonl" --journal "$tmp/open.db" \
    --pki "$tmp/pki" 2>&1); rc=$?
check "journal open to others: exit 1 ($rc)" test "$rc" -eq 1
check "journal open to others: said ($out)" contains "$out" "open.db has mode 0644"
ln -s "$tmp/elsewhere.db" "$tmp/link.db"
out=$("$mic" perso --batch "$tmp/good.jsonl" --journal "$tmp/link.db" \
    --pki "$tmp/pki" 2>&1); rc=$?
check "journal a symlink: refused ($rc: $out)" contains "$out" "link.db is a symbolic link"
check "journal a symlink: not followed" test ! -e "$tmp/elsewhere.db"

# --- 5. killed right after a card is recorded issued --------------------
"$gen" 8 --prefix F --seed 13 --out "$tmp/f.jsonl"
"$MIC_READER_STACK" start --dir "$dir" --port 36870 --readers 2 \
    --hopper "$tmp/out" --pki "$tmp/pki" --build "$MIC_BUILD_DIR" \
    >"$tmp/stack.log" 2>&1 || { cat "$tmp/stack.log"; exit 1; }
eval "$("$MIC_READER_STACK" env --dir "$dir")"
# Pre-created PIN files: world-writable, and a symlink, are refused.
touch "$tmp/f.db.pins.jsonl"
chmod 666 "$tmp/f.db.pins.jsonl"
out=$("$mic" perso --batch "$tmp/f.jsonl" --journal "$tmp/f.db" \
    --pki "$tmp/pki" 2>&1); rc=$?
check "PIN file open to others: exit 1 ($rc)" test "$rc" -eq 1
check "PIN file open to others: said ($out)" contains "$out" "pins.jsonl has mode 0666"
rm "$tmp/f.db.pins.jsonl"
ln -s "$tmp/stolen.txt" "$tmp/f.db.pins.jsonl"
out=$("$mic" perso --batch "$tmp/f.jsonl" --journal "$tmp/f.db" \
    --pki "$tmp/pki" 2>&1); rc=$?
check "PIN file a symlink: refused ($rc: $out)" contains "$out" "pins.jsonl is a symbolic link"
check "PIN file a symlink: nothing written where it points" test ! -e "$tmp/stolen.txt"
rm "$tmp/f.db.pins.jsonl"
MIC_FAULT=line-after-issued "$mic" perso --batch "$tmp/f.jsonl" \
    --journal "$tmp/f.db" --pki "$tmp/pki" -q >"$tmp/f1.out" 2>&1; rc=$?
check "fault: killed by SIGKILL ($rc)" test "$rc" -eq 137
check "fault: the journal is 0600" test "$(mode "$tmp/f.db")" = 600
for f in "$tmp/f.db-wal" "$tmp/f.db-shm"; do
	[ -e "$f" ] && check "fault: $(basename "$f") is 0600" test "$(mode "$f")" = 600
done
check "fault: the PIN file is 0600" test "$(mode "$tmp/f.db.pins.jsonl")" = 600
check "fault: one card issued, its PIN sealed in the journal" python3 - "$tmp/f.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
issued = c.execute("SELECT count(*) FROM attempt WHERE outcome='issued'").fetchone()[0]
pins = c.execute("SELECT count(*) FROM pin p JOIN attempt a ON a.id = p.attempt "
                 "WHERE a.outcome = 'issued'").fetchone()[0]
assert issued == 1 and pins == 1, (issued, pins)
PY
check "fault: the clear PIN file has no line for it" test ! -s "$tmp/f.db.pins.jsonl"
out=$("$mic" perso --batch "$tmp/f.jsonl" --journal "$tmp/f.db" \
    --pki "$tmp/pki" --json 2>"$tmp/f2.err"); rc=$?
check "fault: the resume finishes, exit 0 ($rc; $(tail -3 "$tmp/f2.err"))" test "$rc" -eq 0
check "fault: 8 issued" test "$(jget 'd["journal"]["issued"]' <<<"$out")" -eq 8
check "fault: no card without a PIN record" \
    test "$(jget 'd["journal"]["issued_without_pin"]' <<<"$out")" -eq 0
check "fault: 7 PINs in the clear file" test "$(wc -l <"$tmp/f.db.pins.jsonl")" -eq 7
out=$("$mic" perso pins export --journal "$tmp/f.db" --pki "$tmp/pki" \
    --out "$tmp/export.jsonl" 2>&1); rc=$?
check "pins export: exit 0 ($rc: $out)" test "$rc" -eq 0
check "pins export: 0600" test "$(mode "$tmp/export.jsonl")" = 600
check "pins export: every PIN, the clear file's among them" python3 - \
    "$tmp/export.jsonl" "$tmp/f.db.pins.jsonl" <<'PY'
import json, re, sys
exp = [json.loads(l) for l in open(sys.argv[1])]
clear = {d["card_id"]: d["transport_pin"] for d in map(json.loads, open(sys.argv[2]))}
assert len(exp) == 8, len(exp)
assert all(re.fullmatch(r"[0-9]{6}", d["transport_pin"]) for d in exp)
both = [d for d in exp if d["card_id"] in clear]
assert len(both) == 7 and all(clear[d["card_id"]] == d["transport_pin"] for d in both)
PY
out=$("$mic" perso pins export --journal "$tmp/f.db" --pki "$tmp/pki" \
    --out "$tmp/export.jsonl" 2>&1); rc=$?
check "pins export: never over an existing file ($rc: $out)" test "$rc" -eq 1
check "pins export: said" contains "$out" "File exists"
# An independent implementation opens the sealed PINs.
python3 - "$tmp/f.db" "$tmp/pin0.der" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
open(sys.argv[2], "wb").write(c.execute("SELECT cms FROM pin ORDER BY attempt LIMIT 1").fetchone()[0])
PY
sealed=$(openssl cms -decrypt -inform DER -in "$tmp/pin0.der" \
    -inkey "$tmp/pki/pin-mailer/key.pem" -recip "$tmp/pki/pin-mailer/cert.pem" 2>&1)
check "openssl cms -decrypt opens a sealed PIN: card id and PIN ($sealed)" \
    grep -q "\"card_id\":\"${sealed% *}\",\"chip_serial\":\"[0-9A-F]*\",\"transport_pin\":\"${sealed#* }\"" \
    "$tmp/export.jsonl"
check "... an AuthEnvelopedData, AES-256-GCM, KDF over SHA-256" bash -c \
    "openssl asn1parse -inform DER -in '$tmp/pin0.der' | grep -q authEnvelopedData &&
     openssl asn1parse -inform DER -in '$tmp/pin0.der' | grep -q aes-256-gcm &&
     openssl asn1parse -inform DER -in '$tmp/pin0.der' | grep -q sha256kdf"
# Two rows' PINs swapped behind the schema's back: refused, not mailed.
cp "$tmp/f.db" "$tmp/swap.db"
chmod 600 "$tmp/swap.db"
python3 - "$tmp/swap.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
(a, x), (b, y) = c.execute("SELECT attempt, cms FROM pin ORDER BY attempt LIMIT 2").fetchall()
c.executescript("DROP TRIGGER pin_final")
c.execute("UPDATE pin SET cms = ? WHERE attempt = ?", (y, a))
c.execute("UPDATE pin SET cms = ? WHERE attempt = ?", (x, b))
c.commit()
PY
out=$("$mic" perso pins export --journal "$tmp/swap.db" --pki "$tmp/pki" \
    --out "$tmp/swap.jsonl" 2>&1); rc=$?
check "swapped PINs: exit 1 ($rc)" test "$rc" -eq 1
check "swapped PINs: both named" test "$(grep -c "another card's" <<<"$out")" -eq 2
check "swapped PINs: the others still exported" test "$(wc -l <"$tmp/swap.jsonl")" -eq 6
# Without the private key, nothing opens.
out=$("$mic" perso pins export --journal "$tmp/f.db" --pki "$tmp/pki" \
    --key "$tmp/pki/ds/key.pem" --out "$tmp/export2.jsonl" 2>&1); rc=$?
check "pins export with another key: refused ($rc: $out)" test "$rc" -eq 1

# --- 6. issued cards without PIN records: a journal of version 1 ---------
cp "$tmp/f.db" "$tmp/v1.db"
python3 - "$tmp/v1.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executescript("DROP TRIGGER pin_keep; DROP TRIGGER pin_final; DROP TRIGGER pin_issued;"
                "DROP TABLE pin; PRAGMA user_version = 1;")
c.close()
PY
chmod 600 "$tmp/v1.db"
out=$("$mic" perso --journal "$tmp/v1.db" --pki "$tmp/pki" --json \
    2>"$tmp/v1.err"); rc=$?
check "no PIN records: exit 3 ($rc)" test "$rc" -eq 3
check "no PIN records: counted" \
    test "$(jget 'd["journal"]["issued_without_pin"]' <<<"$out")" -eq 8
check "no PIN records: said, card by card" test \
    "$(grep -c '^  attempt [0-9]*: F' "$tmp/v1.err")" -eq 8
out=$("$mic" perso pins export --journal "$tmp/v1.db" --pki "$tmp/pki" \
    --out - 2>"$tmp/v1x.err"); rc=$?
check "pins export of cards without PIN records: exit 3 ($rc)" test "$rc" -eq 3
check "... each named" test "$(grep -c 'no PIN record for attempt' "$tmp/v1x.err")" -eq 8
# --check against a journal: the holders already issued are refused.
out=$("$mic" perso --check --batch "$tmp/f.jsonl" --journal "$tmp/f.db" 2>&1); rc=$?
check "--check --journal, already issued: exit 0 for the same batch ($rc: $out)" \
    test "$rc" -eq 0
sed 's/"application_id": "F/"application_id": "AGAIN-F/' "$tmp/f.jsonl" >"$tmp/again.jsonl"
out=$("$mic" perso --check --batch "$tmp/again.jsonl" --journal "$tmp/f.db" 2>&1); rc=$?
check "--check --journal, holders issued: exit 1 ($rc)" test "$rc" -eq 1
check "--check --journal: each named" test \
    "$(grep -c 'the holder already has a live card' <<<"$out")" -eq 8
check "--check --journal wrote nothing" python3 - "$tmp/f.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
assert c.execute("SELECT count(*) FROM application").fetchone()[0] == 8
PY

# --- 7. the readers stop mid-run (pcscd killed): exit 1, and said -------
"$gen" 40 --prefix R --seed 14 --out "$tmp/r.jsonl"
"$mic" perso --batch "$tmp/r.jsonl" --journal "$tmp/r.db" --pki "$tmp/pki" \
    >"$tmp/r.out" 2>"$tmp/r.err" &
bg=$!
for _ in $(seq 1 300); do
	n=$(cat "$tmp/r.db.pins.jsonl" 2>/dev/null | wc -l)
	[ "$n" -ge 2 ] && break
	sleep 0.05
done
kill -KILL "$(cat "$dir/pids/pcscd.pid")"
wait "$bg"; rc=$?
check "readers stopped mid-run: exit 1 ($rc)" test "$rc" -eq 1
check "readers stopped mid-run: each reported" test \
    "$(grep -c '^reader .* stopped: ' "$tmp/r.err")" -ge 1
check "readers stopped mid-run: in the summary" grep -q "stopped" "$tmp/r.err"

finish
