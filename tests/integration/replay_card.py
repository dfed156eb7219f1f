#!/usr/bin/env python3
"""A keyless replay card, the clone of issue 10, for the vpcd reader.

  replay_card.py dump < OUTPUT-OF-mic-apdu > DUMP.json
  replay_card.py serve --port PORT DUMP.json

'dump' turns what `mic apdu` got from a genuine card (the script that
test_pa.sh sends: SELECT, INTERNAL AUTHENTICATE, GET DATA BF21, every
READ BINARY of EF.CARD, EF.CERT and EF.SOD; EF.HOLDER, EF.INSURANCE and
EF.ACTIVATION answer 6982 in plain and are left out) into the card's FCI,
CERT.SD.ECKA, files, and its answer
to that INTERNAL AUTHENTICATE. 'serve' is a card without any key that answers from that
dump: the same FCI and chip serial, the same files, the chip's own
certificate, and the recorded answer to every INTERNAL AUTHENTICATE.

It speaks the vpcd wire protocol (shared notes, pcsc-test-stack.md): it
connects to vpcd's port; every message is a 2-byte big-endian length and
the bytes; a 1-byte message is a control byte (00 off, 01 on, 02 reset,
04 ATR, which alone is answered). Answers longer than Ne go in 61xx and
GET RESPONSE parts, as a simple card's do.
"""
import json
import socket
import sys

# docs/card-profile.md 6: T=1, command chaining and extended Lc/Le.
ATR = bytes.fromhex("3B878131FE458073D421C08105CE")


def parse_mic_apdu(lines):
    """Pairs (command bytes, response data, SW) from `mic apdu` output."""
    pairs, cmd = [], None
    for line in lines:
        line = line.strip()
        if line.startswith("> "):
            cmd = bytes.fromhex(line[2:])
        elif line.startswith("< ") and cmd is not None:
            data, sw = [], None
            for tok in line[2:].split():
                if len(tok) == 2:
                    data.append(tok)
                else:
                    sw = int(tok, 16)
                    break
            pairs.append((cmd, bytes.fromhex("".join(data)), sw))
            cmd = None
    return pairs


def dump(lines):
    d = {"files": {}}
    cur = None
    for cmd, data, sw in parse_mic_apdu(lines):
        ins, p1, p2 = cmd[1], cmd[2], cmd[3]
        if ins == 0xA4 and p1 == 0x04:
            d["fci"] = data.hex()
            d["fci_sw"] = sw
        elif ins == 0x88:
            d["ia"] = data.hex()
            d["ia_sw"] = sw
        elif ins == 0xCA and sw == 0x9000:
            d["bf21"] = data.hex()
        elif ins == 0xB0 and sw in (0x9000, 0x6282):
            if p1 & 0x80:
                cur, off = p1 & 0x1F, p2
            else:
                off = p1 << 8 | p2
            f = bytearray(bytes.fromhex(d["files"].get(str(cur), "")))
            if off != len(f):
                sys.exit("dump: READ BINARY at %d of a file of %d" %
                         (off, len(f)))
            d["files"][str(cur)] = (bytes(f) + data).hex()
    for key in ("fci", "ia", "bf21"):
        if key not in d:
            sys.exit("dump: no %s in the input" % key)
    json.dump(d, sys.stdout)


def parse_apdu(b):
    """(ins, p1, p2, ne) of a command APDU, any case; None if malformed."""
    if len(b) < 4:
        return None
    ins, p1, p2 = b[1], b[2], b[3]
    if len(b) == 4:
        return ins, p1, p2, 0
    if len(b) == 5:
        return ins, p1, p2, b[4] or 256
    if b[4] != 0:
        lc = b[4]
        if len(b) == 5 + lc:
            return ins, p1, p2, 0
        if len(b) == 6 + lc:
            return ins, p1, p2, b[-1] or 256
        return None
    if len(b) == 7:
        return ins, p1, p2, (b[5] << 8 | b[6]) or 65536
    lc = b[5] << 8 | b[6]
    if len(b) == 7 + lc:
        return ins, p1, p2, 0
    if len(b) == 9 + lc:
        return ins, p1, p2, (b[-2] << 8 | b[-1]) or 65536
    return None


class Card:
    def __init__(self, d):
        self.fci = bytes.fromhex(d["fci"]) + d["fci_sw"].to_bytes(2, "big")
        self.ia = bytes.fromhex(d["ia"]) + d["ia_sw"].to_bytes(2, "big")
        self.bf21 = bytes.fromhex(d["bf21"])
        self.files = {int(k): bytes.fromhex(v) for k, v in d["files"].items()}
        self.cur = None
        self.pending = b""

    def part(self, data, ne, sw=0x9000):
        ne = ne or 256
        if len(data) > ne:
            self.pending = data[ne:]
            left = len(self.pending)
            return data[:ne] + bytes([0x61, 0 if left > 255 else left])
        return data + sw.to_bytes(2, "big")

    def apdu(self, b):
        a = parse_apdu(b)
        pending, self.pending = self.pending, b""
        if a is None:
            return bytes.fromhex("6700")
        ins, p1, p2, ne = a
        if ins == 0xA4 and p1 == 0x04:
            return self.fci
        if ins == 0x88:
            # No key: the best a clone can do is an answer the chip gave.
            return self.ia
        if ins == 0xCA:
            return self.part(self.bf21, ne)
        if ins == 0xC0 and pending:
            return self.part(pending, ne)
        if ins == 0xB0:
            if p1 & 0x80:
                self.cur, off = p1 & 0x1F, p2
            else:
                off = p1 << 8 | p2
            f = self.files.get(self.cur)
            if f is None:
                return bytes.fromhex("6A82")
            if off >= len(f):
                return bytes.fromhex("6B00")
            want = ne or 256
            data = f[off:off + want]
            return self.part(data, ne, 0x9000 if len(data) == want
                             else 0x6282)
        return bytes.fromhex("6D00")


def recv_all(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
    return buf


def send(s, data):
    s.sendall(len(data).to_bytes(2, "big") + data)


def serve(port, path):
    with open(path) as f:
        card = Card(json.load(f))
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        hdr = recv_all(s, 2)
        if hdr is None:
            return
        msg = recv_all(s, int.from_bytes(hdr, "big"))
        if msg is None:
            return
        if len(msg) == 1:
            if msg[0] == 0x04:
                send(s, ATR)
            elif msg[0] in (0x00, 0x01, 0x02):
                # RAM state goes with the power, as on a real card.
                card.cur, card.pending = None, b""
            continue
        send(s, card.apdu(msg))


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "dump":
        dump(sys.stdin)
    elif len(sys.argv) == 5 and sys.argv[1] == "serve" and \
            sys.argv[2] == "--port":
        serve(int(sys.argv[3]), sys.argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
