#!/usr/bin/env python3
"""An independent reference for libmic's secure channel, written from the
GlobalPlatform specifications, not from the C code:

  - Card Specification v2.3 Amendment F (SCP11): the authenticate data field
    (7.6.2.3), the key agreement and the X9.63 key derivation (3.1.2), the
    receipt;
  - Amendment D (SCP03), 6.2.4 C-MAC, 6.2.5 R-MAC, 6.2.6 C-DECRYPTION and
    6.2.7 R-ENCRYPTION, with ISO/IEC 9797-1 padding method 2.

Only ECDH on P-256 and the raw AES block function come from Debian's
python3-cryptography. AES-CMAC (RFC 4493), AES-CBC, the X9.63 KDF (SHA-256
from hashlib), the TLV layouts, APDU encoding (ISO/IEC 7816-4 5.1) and the
whole SCP11/SCP03 protocol are written out here, and the CMAC and KDF are
checked first against RFC 4493 and NIST CAVP (ansx963_2001.rsp) vectors.

It plays both roles of SCP11b and SCP11a with fixed ephemeral keys, checks
that the two roles agree, then wraps a set of APDUs both ways. It runs the
C program given as argv[1] (tests/sm/sm_vectors.c) on the same inputs and
compares every byte string both produce.

Usage: ref_scp.py PATH/TO/sm_vectors
"""

import hashlib
import subprocess
import sys

try:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives import serialization
except ImportError:
    sys.stderr.write("ref_scp.py: needs python3-cryptography "
                     "(scripts/setup installs it)\n")
    sys.exit(1)


# --- primitives -------------------------------------------------------------

def aes_block(key, block):
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def aes_block_dec(key, block):
    dec = Cipher(algorithms.AES(key), modes.ECB()).decryptor()
    return dec.update(block) + dec.finalize()


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def dbl(block):
    """Doubling in GF(2^128), RFC 4493 2.3."""
    n = int.from_bytes(block, "big") << 1
    if n >> 128:
        n = (n & ((1 << 128) - 1)) ^ 0x87
    return n.to_bytes(16, "big")


def cmac(key, msg):
    """AES-CMAC, RFC 4493 2.4."""
    l = aes_block(key, bytes(16))
    k1 = dbl(l)
    k2 = dbl(k1)
    n = max(1, (len(msg) + 15) // 16)
    if msg and len(msg) % 16 == 0:
        last = xor(msg[16 * (n - 1):], k1)
    else:
        tail = msg[16 * (n - 1):]
        tail = tail + b"\x80" + bytes(15 - len(tail))
        last = xor(tail, k2)
    x = bytes(16)
    for i in range(n - 1):
        x = aes_block(key, xor(x, msg[16 * i:16 * i + 16]))
    return aes_block(key, xor(x, last))


def cbc_encrypt(key, iv, data):
    out, prev = b"", iv
    for i in range(0, len(data), 16):
        prev = aes_block(key, xor(prev, data[i:i + 16]))
        out += prev
    return out


def cbc_decrypt(key, iv, data):
    out, prev = b"", iv
    for i in range(0, len(data), 16):
        block = data[i:i + 16]
        out += xor(aes_block_dec(key, block), prev)
        prev = block
    return out


def x963_sha256(z, info, length):
    """ANSI X9.63 KDF: SHA-256(Z || counter32 || SharedInfo), counter from 1."""
    out, counter = b"", 1
    while len(out) < length:
        out += hashlib.sha256(z + counter.to_bytes(4, "big") + info).digest()
        counter += 1
    return out[:length]


def pad80(data):
    """ISO/IEC 9797-1 padding method 2 to a 16-byte block."""
    return data + b"\x80" + bytes(15 - len(data) % 16)


def unpad80(data):
    stripped = data.rstrip(b"\x00")
    assert stripped and stripped[-1] == 0x80 and len(data) - len(stripped) < 16
    return stripped[:-1]


def self_test():
    key = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
    msg = bytes.fromhex(
        "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
        "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710")
    for n, mac in ((0, "bb1d6929e95937287fa37d129b756746"),
                   (16, "070a16b46b4d4144f79bdd9dd04a287c"),
                   (40, "dfa66747de9ae63030ca32611497c827"),
                   (64, "51f0bebf7e3b9d92fc49741779363cfe")):
        assert cmac(key, msg[:n]).hex() == mac, "RFC 4493 example"
    assert x963_sha256(
        bytes.fromhex("96c05619d56c328ab95fe84b18264b08725b85e33fd34f08"),
        b"", 16).hex() == "443024c3dae66b95e6f5670601558f71"
    assert x963_sha256(
        bytes.fromhex("22518b10e70f2a3f243810ae3254139efbee04aa57c7af7d"),
        bytes.fromhex("75eef81aa3041e33b80971203d2c0c52"), 128).hex() == (
        "c498af77161cc59f2962b9a713e2b215152d139766ce34a776df11866a69bf2e"
        "52a13d9c7c6fc878c50c5ea0bc7b00e0da2447cfd874f6cf92f30d0097111485"
        "500c90c3af8b487872d04685d14c8d1dc8d7fa08beb0ce0ababc11f0bd496269"
        "142d43525a78e5bc79a17f59676a5706dc54d54d4d1f0bd7e386128ec26afc21")


# --- ISO/IEC 7816-4 ---------------------------------------------------------

def tlv(tag, value):
    assert len(value) < 128
    t = tag.to_bytes(2 if tag > 0xFF else 1, "big")
    return t + bytes([len(value)]) + value


def encode_apdu(cla, ins, p1, p2, data, ne):
    """Short when Nc <= 255 and Ne <= 256, else extended (5.1)."""
    h = bytes([cla, ins, p1, p2])
    if len(data) <= 255 and ne <= 256:
        lc = bytes([len(data)]) + data if data else b""
        le = bytes([ne & 0xFF]) if ne else b""
        return h + lc + le
    lc = b"\x00" + len(data).to_bytes(2, "big") + data if data else b""
    le = (ne & 0xFFFF).to_bytes(2, "big") if ne else b""
    if ne and not data:
        le = b"\x00" + le
    return h + lc + le


def decode_apdu(b):
    """The cases our inputs use: 1, 2S, 3S, 4S, 3E, 4E."""
    cla, ins, p1, p2, rest = b[0], b[1], b[2], b[3], b[4:]
    if not rest:
        return cla, ins, p1, p2, b"", 0
    if len(rest) == 1:
        return cla, ins, p1, p2, b"", rest[0] or 256
    if rest[0] == 0 and len(rest) >= 3:
        n = int.from_bytes(rest[1:3], "big")
        data = rest[3:3 + n]
        tail = rest[3 + n:]
        ne = (int.from_bytes(tail, "big") or 65536) if tail else 0
        return cla, ins, p1, p2, data, ne
    n = rest[0]
    data = rest[1:1 + n]
    tail = rest[1 + n:]
    ne = (tail[0] or 256) if tail else 0
    return cla, ins, p1, p2, data, ne


# --- SCP03-style secure messaging (Amendment D 6.2) ------------------------

def sw_is_error(sw):
    """6.2.5: every SW but 9000, 62xx and 63xx goes without protection."""
    return sw != 0x9000 and (sw >> 8) not in (0x62, 0x63)


class Session:
    def __init__(self, keys, chain):
        self.enc, self.mac, self.rmac, self.dek = keys
        self.chain = chain
        self.counter = 0

    def icv(self, response):
        block = self.counter.to_bytes(16, "big")
        if response:
            block = b"\x80" + block[1:]          # 6.2.7
        return aes_block(self.enc, block)       # 6.2.6

    def mac_header(self, cla, ins, p1, p2, lc):
        h = bytes([(cla & 0xF0) | 0x04, ins, p1, p2])   # 6.2.4
        if lc <= 255:
            return h + bytes([lc])
        return h + b"\x00" + lc.to_bytes(2, "big")

    # host
    def wrap(self, cla, ins, p1, p2, data, ne):
        self.counter += 1                       # even without data (6.2.6)
        body = cbc_encrypt(self.enc, self.icv(False), pad80(data)) \
            if data else b""
        lc = len(body) + 8
        full = cmac(self.mac, self.chain +
                    self.mac_header(cla, ins, p1, p2, lc) + body)
        self.chain = full
        return encode_apdu(cla | 0x04, ins, p1, p2, body + full[:8], ne)

    def unwrap_response(self, data, sw):
        if sw_is_error(sw):
            assert not data
            return b""
        body, rmac = data[:-8], data[-8:]
        want = cmac(self.rmac, self.chain + body + sw.to_bytes(2, "big"))
        assert rmac == want[:8], "R-MAC"
        if not body:
            return b""
        return unpad80(cbc_decrypt(self.enc, self.icv(True), body))

    # card
    def unwrap_command(self, apdu):
        cla, ins, p1, p2, data, ne = decode_apdu(apdu)
        assert cla & 0x04
        body, cmac8 = data[:-8], data[-8:]
        full = cmac(self.mac, self.chain +
                    self.mac_header(cla, ins, p1, p2, len(data)) + body)
        assert full[:8] == cmac8, "C-MAC"
        self.chain = full
        self.counter += 1
        plain = unpad80(cbc_decrypt(self.enc, self.icv(False), body)) \
            if body else b""
        return cla & ~0x04, ins, p1, p2, plain, ne

    def wrap_response(self, data, sw):
        swb = sw.to_bytes(2, "big")
        if sw_is_error(sw):
            return swb
        body = cbc_encrypt(self.enc, self.icv(True), pad80(data)) \
            if data else b""
        rmac = cmac(self.rmac, self.chain + body + swb)[:8]
        return body + rmac + swb


# --- SCP11 (Amendment F) ----------------------------------------------------

CURVE = ec.SECP256R1()


def key(scalar_hex):
    return ec.derive_private_key(int(scalar_hex, 16), CURVE)


def point(k):
    pub = k.public_key() if hasattr(k, "public_key") else k
    return pub.public_bytes(serialization.Encoding.X962,
                            serialization.PublicFormat.UncompressedPoint)


def ecdh(priv, peer):
    return priv.exchange(ec.ECDH(), peer)


SHARED_INFO = bytes([0x3C, 0x88, 0x10])   # key usage, AES, 16 bytes


def auth_data(variant, epk_oce):
    """7.6.2.3: A6 {90 {11 v}, 95 {3C}, 80 {88}, 81 {10}} 5F49 {ePK.OCE}."""
    crt = (tlv(0x90, bytes([0x11, variant])) + tlv(0x95, b"\x3C") +
           tlv(0x80, b"\x88") + tlv(0x81, b"\x10"))
    return tlv(0xA6, crt) + tlv(0x5F49, point(epk_oce))


def derive(sh_see, sh_ses, cmd, epk_sd_tlv):
    """3.1.2: five 16-byte keys; the first one is the receipt key."""
    k = x963_sha256(sh_see + sh_ses, SHARED_INFO, 80)
    receipt = cmac(k[:16], cmd + epk_sd_tlv)
    return (k[16:32], k[32:48], k[48:64], k[64:80]), receipt


def parse_auth_data(data):
    assert data[:2] == b"\xA6\x0D" and data[15:18] == b"\x5F\x49\x41"
    assert data[2:15] == bytes.fromhex("900211") + data[5:6] + \
        bytes.fromhex("95013c80018881" "0110")
    assert len(data) == 83
    return data[5], data[18:]


def card_answer(variant, sk_sd, pk_oce, esk_sd, cmd):
    v, epk = parse_auth_data(cmd)
    assert v == variant
    epk_oce = ec.EllipticCurvePublicKey.from_encoded_point(CURVE, epk)
    static = pk_oce if variant == 1 else epk_oce
    epk_tlv = tlv(0x5F49, point(esk_sd))
    keys, receipt = derive(ecdh(esk_sd, epk_oce), ecdh(sk_sd, static), cmd,
                           epk_tlv)
    return epk_tlv + tlv(0x86, receipt), Session(keys, receipt)


def host_finish(variant, esk_oce, sk_oce, pk_sd, cmd, rsp):
    assert rsp[:3] == b"\x5F\x49\x41" and rsp[68:70] == b"\x86\x10"
    assert len(rsp) == 86
    epk_sd = ec.EllipticCurvePublicKey.from_encoded_point(CURVE, rsp[3:68])
    static = sk_oce if variant == 1 else esk_oce
    keys, receipt = derive(ecdh(esk_oce, epk_sd), ecdh(static, pk_sd), cmd,
                           rsp[:68])
    assert receipt == rsp[70:], "receipt"
    return Session(keys, receipt)


# --- the scenario ------------------------------------------------------------

KEYS = {
    # P-256 scalars; sk_sd is the RFC 6979 A.2.5 example key, the others are
    # SHA-256 of "libmic <name>".
    "sk_sd": "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721",
    "esk_sd": hashlib.sha256(b"libmic esk_sd").hexdigest(),
    "sk_oce": hashlib.sha256(b"libmic sk_oce").hexdigest(),
    "esk_oce": hashlib.sha256(b"libmic esk_oce").hexdigest(),
}


def pattern(n, seed):
    return bytes((seed + 7 * i) & 0xFF for i in range(n))


# (plain command, plain response data, SW)
APDUS = [
    ("80ca006600", pattern(20, 1), 0x9000),                      # case 2
    ("00a4040007a000000003101000", bytes.fromhex("6f03840100"), 0x9000),
    ("80e2910006bf3e035c015a", b"", 0x9000),                     # case 3
    ("80f22002", b"", 0x6a82),                   # case 1, error SW: no MAC
    ("81da010210" + pattern(16, 9).hex() + "10", pattern(5, 3), 0x6283),
    ("80e20000" "00012c" + pattern(300, 5).hex() + "0000", b"", 0x9000),
    ("00b0000000", pattern(1000, 11), 0x9000),   # a long response
    ("80e2000001" "41", pattern(15, 2), 0x9000),   # padding 1 byte short
    ("80e2000010" + pattern(16, 4).hex(), pattern(32, 6), 0x63c1),
]


def reference():
    k = {name: key(h) for name, h in KEYS.items()}
    lines = []
    for variant, name in ((0, "11b"), (1, "11a")):
        cmd = auth_data(variant, k["esk_oce"])
        rsp, card = card_answer(variant, k["sk_sd"],
                                k["sk_oce"].public_key(), k["esk_sd"], cmd)
        host = host_finish(variant, k["esk_oce"],
                           k["sk_oce"] if variant else None,
                           k["sk_sd"].public_key(), cmd, rsp)
        assert (host.enc, host.mac, host.rmac, host.dek, host.chain) == \
            (card.enc, card.mac, card.rmac, card.dek, card.chain)
        lines.append(f"{name} auth_cmd {cmd.hex()}")
        lines.append(f"{name} auth_rsp {rsp.hex()}")
        lines.append(f"{name} keys "
                     f"{(host.enc + host.mac + host.rmac + host.dek).hex()}")
        lines.append(f"{name} chain {host.chain.hex()}")
        for i, (c, r, sw) in enumerate(APDUS):
            plain = decode_apdu(bytes.fromhex(c))
            wire = host.wrap(*plain)
            got = card.unwrap_command(wire)
            assert got == plain, f"apdu {i}: card got {got}"
            out = card.wrap_response(r, sw)
            back = host.unwrap_response(out[:-2], sw)
            assert back == (b"" if sw_is_error(sw) else r)
            lines.append(f"{name} cmd.{i} {wire.hex()}")
            lines.append(f"{name} rsp.{i} {out.hex() or '-'}")
    return lines


def main():
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    self_test()
    want = reference()
    stdin = "".join(f"key {n} {h}\n" for n, h in KEYS.items())
    stdin += "".join(f"apdu {c} {r.hex() or '-'} {sw:04x}\n"
                     for c, r, sw in APDUS)
    proc = subprocess.run([sys.argv[1]], input=stdin.encode(),
                          stdout=subprocess.PIPE, check=False)
    got = proc.stdout.decode().splitlines()
    bad = 0
    if proc.returncode != 0:
        print(f"ref_scp: {sys.argv[1]} exited {proc.returncode}")
        bad += 1
    for i in range(max(len(want), len(got))):
        w = want[i] if i < len(want) else "(nothing)"
        g = got[i] if i < len(got) else "(nothing)"
        if w != g:
            bad += 1
            print(f"MISMATCH\n  python: {w[:200]}\n  C:      {g[:200]}")
    print(f"ref_scp: {len(want)} byte strings compared, {bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
