#!/usr/bin/env python3
"""libmic's NFC check (libmic/text.c) against Python's unicodedata, an
independent implementation: every code point alone, and random sequences
of combining marks, starters with decompositions, Hangul jamo and
syllables, and composition exclusions, half of them normalized first.
Skipped (77) when Python's Unicode version is not the tables' version.

    check_nfc.py NFC_VECTORS_EXE NFC_TABLE_H
"""
import random
import re
import subprocess
import sys
import unicodedata as ud

exe, table = sys.argv[1], sys.argv[2]
version = re.search(r'NFC_UNICODE_VERSION "([0-9.]+)"', open(table).read())
if version is None or version.group(1) != ud.unidata_version:
    print("SKIP: tables are Unicode %s, this Python has %s"
          % (version and version.group(1), ud.unidata_version))
    sys.exit(77)
random.seed(10)
marks = list(range(0x300, 0x370)) + [0x0323, 0x0328, 0x05B0, 0x0654, 0x0655,
    0x093C, 0x09BE, 0x09D7, 0x0CD5, 0x0DCF, 0x1B35, 0x302A, 0x3099, 0x309A]
starts = [0x41, 0x45, 0x61, 0x65, 0x6F, 0x55, 0xE9, 0xC5, 0x212B, 0x1E0A,
    0x1EB9, 0x0627, 0x0648, 0x0928, 0x09C7, 0x0CC6, 0x0DD9, 0x1B05, 0x304B,
    0x30CF, 0x4E00, 0x674E]
jamo = (list(range(0x1100, 0x1113)) + list(range(0x1161, 0x1176)) +
        list(range(0x11A8, 0x11C3)) + [0xAC00, 0xAC01, 0xD7A3, 0xAC1C])
excluded = [0x0340, 0x0344, 0x0958, 0x2126, 0xF900, 0x1F71, 0x2ADC]
pool = marks + starts + jamo + excluded
seqs = [[c] for c in range(0x20, 0x30000) if not 0xD800 <= c <= 0xDFFF]
for _ in range(20000):
    s = [random.choice(pool) for _ in range(random.randint(1, 6))]
    if random.random() < 0.5:
        s = [ord(c) for c in ud.normalize("NFC", "".join(map(chr, s)))]
    seqs.append(s)
inp = "".join(" ".join("%X" % c for c in s) + "\n" for s in seqs)
got = subprocess.run([exe], input=inp, capture_output=True, text=True,
                     check=True).stdout.split()
bad = 0
for s, g in zip(seqs, got):
    want = ud.is_normalized("NFC", "".join(map(chr, s)))
    if (g == "1") != want:
        bad += 1
        if bad <= 10:
            print("MISMATCH %s: libmic %s, Python %s"
                  % (" ".join("U+%04X" % c for c in s), g, int(want)))
print("%d sequences, %d mismatches" % (len(seqs), bad))
sys.exit(1 if bad or len(got) != len(seqs) else 0)
