#!/usr/bin/env python3
"""Check an issuance journal against the cards that came out of the hoppers.

  check_perso.py JOURNAL.db CARDS_DIR MIC_VCARD [--final]

Prints one JSON object of counts on success; exits 1 with the reasons when
an invariant fails:
  - no holder has two issued attempts; no chip carries two;
  - every issued attempt's chip is a card image that is personalized and
    holds that application's ID number and name, and the card id and
    number the journal recorded;
  - every personalized card whose chip is not an issued attempt is the chip
    of a failed attempt (a card to void), never an unrecorded one;
  - with --final: every application is issued or rejected.
"""
import json
import os
import sqlite3
import subprocess
import sys


def cards(d, vcard):
    out = {}
    for f in sorted(os.listdir(d)):
        if not f.endswith(".img"):
            continue
        text = subprocess.run([vcard, "show", os.path.join(d, f)],
                              capture_output=True, text=True, check=True).stdout
        info = {"file": f}
        for line in text.splitlines():
            k, sep, v = line.partition(": ")
            if sep:
                info[k.strip()] = v.strip()
        out[info["serial"].upper()] = info
    return out


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    db, d, vcard = sys.argv[1:4]
    final = "--final" in sys.argv[4:]
    bad = []
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    apps = {r[0]: {"ssn": r[1], "state": r[2], "data": json.loads(r[3] or "{}")}
            for r in con.execute("SELECT app_id, ssn, state, data FROM application")}
    atts = [dict(zip(("id", "app", "ssn", "chip", "outcome", "reason",
                      "card_id", "card_number"), r))
            for r in con.execute("SELECT id, app_id, ssn, chip_serial, outcome, "
                                 "reason, card_id, card_number FROM attempt "
                                 "ORDER BY id")]
    imgs = cards(d, vcard)
    issued = [a for a in atts if a["outcome"] == "issued"]
    failed = [a for a in atts if a["outcome"] == "failed"]
    for key in ("ssn", "chip"):
        seen = {}
        for a in issued:
            if a[key] in seen:
                bad.append("two issued attempts for %s %s" % (key, a[key]))
            seen[a[key]] = a
    for a in issued:
        c = imgs.get(a["chip"])
        app = apps[a["app"]]
        if c is None:
            bad.append("issued chip %s (%s) has no card image" % (a["chip"], a["app"]))
            continue
        if (c.get("card id"), c.get("card number")) != (a["card_id"], a["card_number"]):
            bad.append("chip %s is card %s / %s, the journal says %s / %s"
                       % (a["chip"], c.get("card id"), c.get("card number"),
                          a["card_id"], a["card_number"]))
        if c.get("state") != "personalized":
            bad.append("issued chip %s is %s" % (a["chip"], c.get("state")))
        if c.get("ssn") != app["ssn"]:
            bad.append("chip %s holds ssn %s, application %s is %s"
                       % (a["chip"], c.get("ssn"), a["app"], app["ssn"]))
        if c.get("name") != app["data"].get("name"):
            bad.append("chip %s holds name %r, application %s is %r"
                       % (a["chip"], c.get("name"), a["app"], app["data"].get("name")))
        if app["state"] != "issued":
            bad.append("application %s has an issued card but is %s" % (a["app"], app["state"]))
    issued_chips = {a["chip"] for a in issued}
    failed_chips = {a["chip"] for a in failed}
    void = []
    for chip, c in imgs.items():
        if c.get("state") == "blank" or chip in issued_chips:
            continue
        if chip not in failed_chips:
            bad.append("card %s (%s) is %s but the journal has no attempt on it"
                       % (chip, c["file"], c.get("state")))
        void.append(chip)
    per_ssn = {}
    for chip, c in imgs.items():
        if chip in issued_chips:
            per_ssn[c.get("ssn")] = per_ssn.get(c.get("ssn"), 0) + 1
    if any(n > 1 for n in per_ssn.values()):
        bad.append("a holder has two live cards")
    states = {}
    for a in apps.values():
        states[a["state"]] = states.get(a["state"], 0) + 1
    if final and set(states) - {"issued", "rejected_invalid"}:
        bad.append("applications left: %s" % states)
    if bad:
        print("\n".join(bad), file=sys.stderr)
        sys.exit(1)
    print(json.dumps({
        "applications": len(apps), "states": states, "attempts": len(atts),
        "issued": len(issued), "failed": len(failed),
        "interrupted": sum(1 for a in failed if a["reason"] == "interrupted"),
        "failed_reasons": sorted({a["reason"] for a in failed}),
        "failed_chips": sorted(failed_chips),
        "images": len(imgs),
        "blank_images": sum(1 for c in imgs.values() if c.get("state") == "blank"),
        "void_personalized": len(void) - sum(1 for ch in void if imgs[ch].get("state") == "blank"),
    }))


if __name__ == "__main__":
    main()
