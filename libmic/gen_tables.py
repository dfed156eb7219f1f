#!/usr/bin/env python3
"""Generate libmic's national code tables (C) from the CSV files in data/.

    gen_tables.py OUTPUT.c gender.csv kinship.csv region_provinces.csv \
        region_prefectures.csv ethnicity.csv

The CSVs are the project's copies of the public tables described in
data/README.md. The build fails here, not at run time, when a file does not
hold what the C code relies on: every code well formed and unique, every
name present and free of control characters, every prefecture under a
province that exists. The output is sorted by code so the C side can
binary-search it, and is the same bytes for the same input.
"""

import csv
import re
import sys


class TableError(Exception):
    pass


def read_rows(path, columns):
    """The rows of @path as dicts, after checking the header row."""
    with open(path, encoding="utf-8", errors="strict", newline="") as f:
        text = f.read()
    if text.startswith("\ufeff"):
        raise TableError(f"{path}: starts with a byte-order mark")
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header != columns:
        raise TableError(f"{path}: header is {header}, expected {columns}")
    rows = []
    for lineno, fields in enumerate(reader, start=2):
        if not fields:
            continue
        if len(fields) != len(columns):
            raise TableError(f"{path}:{lineno}: {len(fields)} fields, "
                             f"expected {len(columns)}")
        rows.append((lineno, dict(zip(columns, fields))))
    if not rows:
        raise TableError(f"{path}: no rows")
    return rows


def check_text(path, lineno, what, value, required=True):
    if value == "":
        if required:
            raise TableError(f"{path}:{lineno}: empty {what}")
        return
    if value != value.strip():
        raise TableError(f"{path}:{lineno}: {what} has surrounding blanks")
    for ch in value:
        if ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F:
            raise TableError(f"{path}:{lineno}: control character in {what}")


def entries(path, columns, code_re, zh="name_zh", en="name_en", alpha=None):
    """(code, zh, en, alpha) tuples, checked and sorted by code."""
    out = {}
    for lineno, row in read_rows(path, columns):
        code = row["code"]
        if not re.fullmatch(code_re, code):
            raise TableError(f"{path}:{lineno}: malformed code {code!r}")
        if code in out:
            raise TableError(f"{path}:{lineno}: duplicate code {code}")
        check_text(path, lineno, "Chinese name", row[zh])
        name_en = row[en] if en is not None else None
        if name_en is not None:
            check_text(path, lineno, "English name", name_en)
        letters = row[alpha] if alpha is not None else None
        if letters is not None and not re.fullmatch(r"[A-Z]{2}", letters):
            raise TableError(f"{path}:{lineno}: malformed letter code "
                             f"{letters!r}")
        out[code] = (code, row[zh], name_en, letters, row)
    return [out[k] for k in sorted(out)]


def c_string(s):
    if s is None:
        return "NULL"
    # UTF-8 goes through as is; only the C-special characters need escapes.
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def c_table(name, rows):
    lines = [f"static const mic_code_entry {name}[] = {{"]
    for code, zh, en, alpha, _ in rows:
        lines.append(f"\t{{ {c_string(code)}, {c_string(zh)}, "
                     f"{c_string(en)}, {c_string(alpha)} }},")
    lines.append("};")
    return "\n".join(lines)


def build(argv):
    if len(argv) != 7:
        raise TableError("usage: gen_tables.py OUTPUT.c gender.csv "
                         "kinship.csv region_provinces.csv "
                         "region_prefectures.csv ethnicity.csv")
    out, gender_csv, kinship_csv, prov_csv, pref_csv, eth_csv = argv[1:]

    gender = entries(gender_csv, ["code", "name_zh", "name_en"], r"[0-9]")
    # The group column is not used: the one-digit group is the code's
    # first digit by GB/T 4761, so the C code never needs a copy of it.
    kinship = entries(kinship_csv, ["code", "name_zh", "name_en", "group"],
                      r"[0-9]{2}")
    provinces = entries(prov_csv,
                        ["code", "name_zh", "name_en", "prefix", "alpha"],
                        r"[1-9][0-9]0000", alpha="alpha")
    for code, _, _, _, row in provinces:
        if row["prefix"] != code[:2]:
            raise TableError(f"{prov_csv}: {code} has prefix "
                             f"{row['prefix']}")
    prefectures = entries(pref_csv, ["code", "name_zh", "province_code"],
                          r"[1-9][0-9]{3}00", en=None)
    province_codes = {p[0] for p in provinces}
    for code, _, _, _, row in prefectures:
        if code.endswith("0000"):
            raise TableError(f"{pref_csv}: {code} is a province code")
        if row["province_code"] != code[:2] + "0000" or \
                row["province_code"] not in province_codes:
            raise TableError(f"{pref_csv}: {code} is under "
                             f"{row['province_code']}, not a province "
                             f"of {prov_csv}")
    ethnicity = entries(eth_csv, ["code", "name_zh", "name_en", "alpha"],
                        r"[0-9]{2}", alpha="alpha")
    regions = sorted(provinces + prefectures, key=lambda r: r[0])

    parts = [
        "/*",
        " * Generated by libmic/gen_tables.py from the CSV files in",
        " * libmic/data/ (sources and caveats: libmic/data/README.md).",
        " * Do not edit; edit the CSV files instead.",
        " */",
        "#include <stddef.h>",
        "",
        "#include \"mici.h\"",
        "",
        c_table("gender", gender),
        "",
        c_table("kinship", kinship),
        "",
        c_table("province", provinces),
        "",
        c_table("prefecture", prefectures),
        "",
        "/* Provinces and prefectures together, by code. */",
        c_table("region", regions),
        "",
        c_table("ethnicity", ethnicity),
        "",
        "const mic_code_entry *",
        "mici_code_entries(mic_code_table table, size_t *n)",
        "{",
        "\tswitch (table) {",
    ]
    for enum, name in (("MIC_CODE_GENDER", "gender"),
                       ("MIC_CODE_KINSHIP", "kinship"),
                       ("MIC_CODE_PROVINCE", "province"),
                       ("MIC_CODE_PREFECTURE", "prefecture"),
                       ("MIC_CODE_REGION", "region"),
                       ("MIC_CODE_ETHNICITY", "ethnicity")):
        parts += [f"\tcase {enum}:",
                  f"\t\t*n = sizeof({name}) / sizeof({name}[0]);",
                  f"\t\treturn {name};"]
    parts += [
        "\t}",
        "\t*n = 0;",
        "\treturn NULL;",
        "}",
        "",
    ]
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(parts))


def main():
    try:
        build(sys.argv)
    except (TableError, OSError, UnicodeDecodeError) as e:
        print(f"gen_tables.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
