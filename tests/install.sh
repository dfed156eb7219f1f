#!/usr/bin/env bash
# meson install into a scratch root: the soname, the headers (which must
# compile on their own, C and C++), and libmic.pc.
set -euo pipefail
root="$MIC_TEST_TMP/install-root"
rm -rf "$root"
meson install -C "$MIC_BUILD_DIR" --destdir "$root" --no-rebuild --quiet

fail() { echo "FAIL: $*" >&2; exit 1; }
lib=$(find "$root" -name 'libmic.so.0.*' -type f | head -1)
[ -n "$lib" ] || fail "libmic.so.0.* not installed"
soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = "libmic.so.0" ] || fail "soname is '$soname'"
find "$root" -name 'libmic.so' | grep -q . || fail "no libmic.so dev link"
# Only mic_* symbols leave the library.
bad=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDBR]/ {print $3}' | grep -v '^mic_' | grep -v '^LIBMIC' || true)
[ -z "$bad" ] || fail "exported non-API symbols: $bad"
pc=$(find "$root" -name libmic.pc | head -1)
[ -n "$pc" ] || fail "libmic.pc not installed"
grep -q '^Requires: libpcsclite' "$pc" || fail "libmic.pc lacks Requires: libpcsclite"
inc=$(dirname "$(find "$root" -path '*/include/mic/mic.h' | head -1)")
[ -f "$inc/version.h" ] || fail "version.h not installed"
for h in "$inc"/*.h; do
	echo "#include <mic/$(basename "$h")>" | cc -std=c11 -Wall -Wextra -Werror \
		-I"$inc/.." $(pkg-config --cflags libpcsclite) -x c -fsyntax-only - ||
		fail "$(basename "$h") does not compile alone"
done
if command -v c++ >/dev/null; then
	echo '#include <mic/mic.h>' | c++ -Wall -Werror -I"$inc/.." \
		$(pkg-config --cflags libpcsclite) -x c++ -fsyntax-only - ||
		fail "mic.h does not compile as C++"
fi
find "$root" -path '*/man1/mic.1' | grep -q . || fail "mic.1 not installed"
find "$root" -path '*/man1/mic-vcard.1' | grep -q . || fail "mic-vcard.1 not installed"
echo "1 passed, 0 failed"
