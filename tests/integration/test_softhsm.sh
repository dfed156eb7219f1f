#!/usr/bin/env bash
# The same trust tests with the keys in an HSM: a private SoftHSM2 token
# holds the document signer and the card-certificate issuer, the PKI names
# them with pkcs11: URIs, and test_sod, test_keyprov and the mic pki verbs
# run against it.
#
# The token is a throwaway made here (SOFTHSM2_CONF points into a temporary
# directory), so its PINs are given to softhsm2-util and pkcs11-tool on their
# command lines, which those tools require. libmic itself never sees a PIN
# on a command line: it gets it from MIC_PKCS11_PIN or a pin-source file,
# and the test checks that the PIN never shows up in a debug log.
#
# Exit 77 (skipped) when SoftHSM2 or OpenSC's pkcs11-tool are missing.
set -uo pipefail

build=${MIC_BUILD_DIR:?}
mic="$build/tools/mic"
tmp=$(mktemp -d "${MIC_TEST_TMP:-/tmp}/softhsm.XXXXXX")
. "$(dirname "$0")/lib.sh"

cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT

module=
for m in /usr/lib/*/softhsm/libsofthsm2.so /usr/lib/softhsm/libsofthsm2.so \
    /usr/local/lib/softhsm/libsofthsm2.so; do
	[ -f "$m" ] && { module=$m; break; }
done
if [ -z "$module" ] || ! command -v softhsm2-util >/dev/null ||
    ! command -v pkcs11-tool >/dev/null; then
	echo "SKIP: SoftHSM2 or pkcs11-tool not installed (scripts/setup)"
	exit 77
fi

export SOFTHSM2_CONF="$tmp/softhsm2.conf"
mkdir -p "$tmp/tokens"
cat >"$SOFTHSM2_CONF" <<EOF
directories.tokendir = $tmp/tokens
objectstore.backend = file
log.level = ERROR
EOF
pin=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
so_pin=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
label=mic-test

softhsm2-util --init-token --free --label "$label" --pin "$pin" \
    --so-pin "$so_pin" >/dev/null || { echo "token init failed"; exit 1; }
p11() { pkcs11-tool --module "$module" --token-label "$label" "$@"; }
for obj in ds:01 card-issuer:02 ds2:03 ica:04 term:05; do
	p11 --login --pin "$pin" --keypairgen --key-type EC:prime256v1 \
	    --label "${obj%:*}" --id "${obj#*:}" >/dev/null 2>&1 ||
	    { echo "key generation failed"; exit 1; }
done

uri() { echo "pkcs11:token=$label;object=$1?module-path=$module"; }
pki="$tmp/pki"

# A PKI whose document signer and card issuer live in the token.
check "init" "$mic" pki init --dir "$pki"
out=$(MIC_PKCS11_PIN=$pin "$mic" pki issue-ds --dir "$pki" --key "$(uri ds)" \
    2>&1); rc=$?
check "issue-ds refuses to overwrite" test "$rc" -eq 1
check "and says so" contains "$out" "refusing to overwrite"
out=$(MIC_PKCS11_PIN=$pin MIC_DEBUG=1 "$mic" pki issue-ds --dir "$pki" \
    --key "$(uri ds)" --force 2>&1); rc=$?
check "issue-ds with the token's key" test "$rc" -eq 0
check "the PIN is in no log" lacks "$out" "$pin"
check "key.uri names the token key" contains "$(cat "$pki/ds/key.uri")" \
    "object=ds"
check "no key.pem beside it" test ! -e "$pki/ds/key.pem"
check "issue-card-issuer with the token's key" env MIC_PKCS11_PIN="$pin" \
    "$mic" pki issue-card-issuer --dir "$pki" --key "$(uri card-issuer)" --force

# The certificate holds the token's public key.
p11 --read-object --type pubkey --label ds -o "$tmp/ds-pub.der" >/dev/null 2>&1
check "ds certificate over the token key" cmp -s "$tmp/ds-pub.der" \
    <(openssl x509 -in "$pki/ds/cert.pem" -pubkey -noout |
      openssl pkey -pubin -outform DER)
check "ds chain (openssl)" openssl verify -x509_strict \
    -CAfile "$pki/trust/roots/root.pem" \
    -untrusted "$pki/trust/intermediates/issuer.pem" "$pki/ds/cert.pem"

# No PIN source: a clear refusal, never a hang (no terminal to prompt on).
out=$(setsid -w "$mic" pki csr --key "$(uri ds2)" --name x --out "$tmp/x.csr" \
    </dev/null 2>&1); rc=$?
check "no PIN: exit 1" test "$rc" -eq 1
check "no PIN: says how to give one" contains "$out" "MIC_PKCS11_PIN"
out=$("$mic" pki csr --key "$(uri ds2)&pin-value=$pin" --name x \
    --out "$tmp/x.csr" 2>&1); rc=$?
check "pin-value refused" test "$rc" -eq 1
check "pin-value: a URI error" contains "$out" "key URI"
out=$(MIC_PKCS11_PIN=00000000 "$mic" pki csr --key "$(uri ds2)" --name x \
    --out "$tmp/x.csr" 2>&1); rc=$?
check "wrong PIN: exit 1" test "$rc" -eq 1
check "wrong PIN: said" contains "$out" "refused the PIN"

# A PIN file: owner-only, or refused.
printf '%s\n' "$pin" >"$tmp/pin"
chmod 644 "$tmp/pin"
out=$("$mic" pki csr --key "$(uri ds2)&pin-source=file:$tmp/pin" --name x \
    --out "$tmp/x.csr" 2>&1); rc=$?
check "open PIN file refused" test "$rc" -eq 1
check "open PIN file: said" contains "$out" "chmod 600"
chmod 600 "$tmp/pin"

# Generate in the HSM, request, issue: the operator's flow (docs/pki.md).
check "csr from the token" "$mic" pki csr \
    --key "$(uri ds2)&pin-source=file:$tmp/pin" --name "MIC Document Signer 2" \
    --out "$tmp/ds2.csr"
check "csr self-signature (openssl)" openssl req -in "$tmp/ds2.csr" -verify \
    -noout
check "second PKI" "$mic" pki init --dir "$tmp/pki2"
check "issue-ds from the request" "$mic" pki issue-ds --dir "$tmp/pki2" \
    --csr "$tmp/ds2.csr" --force
p11 --read-object --type pubkey --label ds2 -o "$tmp/ds2-pub.der" >/dev/null 2>&1
check "ds2 certificate over the token key" cmp -s "$tmp/ds2-pub.der" \
    <(openssl x509 -in "$tmp/pki2/ds/cert.pem" -pubkey -noout |
      openssl pkey -pubin -outform DER)

# An issuer CA in the token issuing a terminal whose key is in the token
# too: two keys of one module in one process, the second opened through
# the first.
check "issuer CA in the token" env MIC_PKCS11_PIN="$pin" "$mic" pki issue-ca \
    --dir "$tmp/pki2" --key "$(uri ica)" --force
check "terminal in the token, issued in the token" env MIC_PKCS11_PIN="$pin" \
    "$mic" pki issue-terminal --dir "$tmp/pki2" --role bank --name hsm-bank \
    --key "$(uri term)"
out=$("$mic" pki verify --trust "$tmp/pki2/trust" \
    --cert "$tmp/pki2/terminals/hsm-bank/cert.pem" --kind terminal 2>&1)
check "that terminal verifies, role bank" contains "$out" "role bank"

# EF.SOD signed in the token, verified by libmic and by openssl cms.
for s in 1:128 2:160 3:64 5:1024; do
	head -c "${s#*:}" /dev/urandom >"$tmp/f${s%:*}"
done
files=(--file "1=$tmp/f1" --file "2=$tmp/f2" --file "3=$tmp/f3" \
    --file "5=$tmp/f5")
check "sign-sod in the token" env MIC_PKCS11_PIN="$pin" "$mic" pki sign-sod \
    --dir "$pki" --chip 0102030405060708 "${files[@]}" --out "$tmp/sod"
check "verify-sod" "$mic" pki verify-sod --trust "$pki/trust" --sod "$tmp/sod" \
    --chip 0102030405060708 "${files[@]}"
cat "$pki/trust/roots/root.pem" "$pki/trust/intermediates/issuer.pem" \
    >"$tmp/ca.pem"
check "openssl cms -verify" openssl cms -verify -inform DER -in "$tmp/sod" \
    -CAfile "$tmp/ca.pem" -purpose any -binary -out /dev/null
printf 'x' | dd of="$tmp/f2" bs=1 seek=17 conv=notrunc 2>/dev/null
out=$("$mic" pki verify-sod --trust "$pki/trust" --sod "$tmp/sod" \
    --chip 0102030405060708 "${files[@]}" 2>&1); rc=$?
check "a changed file fails" test "$rc" -eq 1
check "a changed file: said" contains "$out" "differs from what"

# A card certificate issued in the token over a card's key.
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/card.pem" 2>/dev/null
gen="7F494386 41$(openssl ec -in "$tmp/card.pem" -pubout -outform DER \
    2>/dev/null | tail -c 65 | od -An -v -tx1 | tr -d ' \n')"
cic=110100D1560000011100010000000042
check "issue-card in the token" env MIC_PKCS11_PIN="$pin" "$mic" pki issue-card \
    --dir "$pki" --pubkey "$gen" --cic "$cic" --out "$tmp/card.der"
check "verify the card certificate and key" "$mic" pki verify \
    --trust "$pki/trust" --cert "$tmp/card.der" --kind card --cic "$cic" \
    --pubkey "$gen"
out=$("$mic" pki verify --trust "$pki/trust" --cert "$tmp/card.der" \
    --kind card --cic 110100D1560000011100010000000043 2>&1); rc=$?
check "another card's code fails" test "$rc" -eq 1
check "another card's code: said" contains "$out" "names another card"

# The unit tests again, through PKCS#11.
out=$(MIC_PKCS11_PIN=$pin MIC_TEST_PKI_DIR="$pki" "$build/tests/test_sod" 2>&1)
rc=$?
check "test_sod through SoftHSM2" test "$rc" -eq 0
[ "$rc" -eq 0 ] || echo "$out"
out=$(MIC_TEST_P11_URI="$(uri ds)" MIC_TEST_P11_URI2="$(uri card-issuer)" \
    MIC_TEST_P11_PIN="$pin" "$build/tests/test_keyprov" 2>&1); rc=$?
check "test_keyprov through SoftHSM2" test "$rc" -eq 0
check "test_keyprov ran the token test" lacks "$out" "SKIPPED"
[ "$rc" -eq 0 ] || echo "$out"

finish
