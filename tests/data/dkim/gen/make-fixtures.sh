#!/bin/sh
# Regenerates the fixtures in this directory (not run by the test suite).
# Needs openssl and /usr/bin/python3 with python3-dkim.
set -e
cd "$(dirname "$0")"
openssl genrsa -traditional -out small768.key 768 2>/dev/null
openssl genpkey -algorithm ed25519 -out ed25519-openssl.pem 2>/dev/null
openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 -out rsa2048-pkcs8.pem 2>/dev/null
/usr/bin/python3 - <<'PY'
import base64, subprocess, random, dkim
def pub(path):
    der = subprocess.run(["openssl", "pkey", "-in", path, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return base64.b64encode(der).decode()
open("small768.txt", "w").write("v=DKIM1; k=rsa; p=%s\n" % pub("small768.key"))
open("rsa2048.txt", "w").write("v=DKIM1; k=rsa; p=%s\n" % pub("rsa2048-pkcs8.pem"))
msg = open("../dkimpy/test.message", "rb").read()
# rsa-sha256 with a 768-bit key: verifies, refused by policy.
sig = dkim.sign(msg, b"small", b"example.com", open("small768.key", "rb").read(),
                canonicalize=(b"relaxed", b"relaxed"))
open("small768.eml", "wb").write(sig + msg)
# rsa-sha1 with the dkimpy 1024-bit test key (dkimpy/test.txt at test._domainkey.example.com).
sig = dkim.sign(msg, b"test", b"example.com", open("../dkimpy/test.private", "rb").read(),
                canonicalize=(b"simple", b"simple"), signature_algorithm=b"rsa-sha1")
open("sha1.eml", "wb").write(sig + msg)
# A key record whose RSA modulus has 4608 bits (random odd number): larger than
# the 4096-bit bound, so it must be refused before any signature check.
rnd = random.Random(4608)
n = rnd.getrandbits(4608) | (1 << 4607) | 1
def der_len(l):
    if l < 128: return bytes([l])
    b = l.to_bytes((l.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b
def tlv(tag, body): return bytes([tag]) + der_len(len(body)) + body
def integer(v):
    b = v.to_bytes((v.bit_length() + 8) // 8, "big")
    return tlv(0x02, b)
rsapub = tlv(0x30, integer(n) + integer(65537))
algid = tlv(0x30, bytes.fromhex("06092a864886f70d010101") + b"\x05\x00")
spki = tlv(0x30, algid + tlv(0x03, b"\x00" + rsapub))
open("big4608.txt", "w").write("v=DKIM1; k=rsa; p=%s\n" % base64.b64encode(spki).decode())
PY
