#!/bin/sh
# Regenerates the fuzz_sod seed corpus and prints what fuzz_sod.c embeds:
# the card key's 7F49 (CARD_GEN), the three CA certificates (TRUST_PEM) and
# the time (VERIFY_AT: a time inside their validity).
#   tests/fuzz/gen_sod_seeds.sh BUILD_DIR
# The card files are the patterns fuzz_sod.c builds: byte k of the file with
# SFI s is (s * 37 + k * 13) mod 256.
set -eu
build=$1
mic=$build/tools/mic
out=$(dirname "$0")/corpus/sod
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$mic" pki init --dir "$tmp/pki" >/dev/null
"$mic" pki init --dir "$tmp/sm2" --suite sm2 >/dev/null
for s in 1:128 2:160 3:64 5:1024; do
	sfi=${s%:*} len=${s#*:}
	python3 -c "import sys; sys.stdout.buffer.write(bytes(($sfi*37 + k*13) % 256 for k in range($len)))" \
	    > "$tmp/f$sfi"
done
files="--file 1=$tmp/f1 --file 2=$tmp/f2 --file 3=$tmp/f3 --file 5=$tmp/f5"
"$mic" pki sign-sod --dir "$tmp/pki" --chip 0011223344556677 $files \
    --out "$out/genuine" --force >/dev/null
"$mic" pki sign-sod --dir "$tmp/sm2" --chip 0011223344556677 $files \
    --out "$out/sm2" --force >/dev/null
# The signed content alone, for the MICSecurityObject parser.
openssl cms -verify -noverify -inform DER -in "$out/genuine" -binary \
    -out "$out/content" 2>/dev/null
openssl x509 -in "$tmp/pki/terminals/bank/cert.pem" -outform DER \
    -out "$out/terminal-cert"
openssl x509 -in "$tmp/pki/ds/cert.pem" -outform DER -out "$out/ds-cert"
# A card certificate over a fresh card key; paste the 7F49 it prints over
# CARD_GEN in fuzz_sod.c.
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/card.pem" 2>/dev/null
gen=$(openssl ec -in "$tmp/card.pem" -pubout -outform DER 2>/dev/null | tail -c 65 |
    od -An -v -tx1 | tr -d ' \n')
"$mic" pki issue-card --dir "$tmp/pki" --pubkey "7F494386 41$gen" \
    --cic 110100D1560000011100010000000001 --out "$out/card-cert" --force \
    >/dev/null
echo "/* CARD_GEN */ 7F494386 41$gen"
echo "/* root */"; cat "$tmp/pki/trust/roots/root.pem"
echo "/* issuer */"; cat "$tmp/pki/trust/intermediates/issuer.pem"
echo "/* card issuer */"; cat "$tmp/pki/trust/intermediates/card-issuer.pem"
date -u +%s
