#!/usr/bin/python3
"""Hash test-bed passwords the way an LDAP directory stores them.

Reads lines "SCHEME PASSWORD" on stdin (password = rest of the line) and
prints one userPassword value per line, in the same order:

  ssha      {SSHA} salted SHA-1 (what slappasswd makes by default)
  crypt6    {CRYPT}$6$... SHA-512 crypt
  argon2id  {ARGON2}$argon2id$v=19$m=4096,t=1,p=1$... via libsodium
            (the scheme mailotpd writes; low cost so test binds stay fast)

Passwords come on stdin, not argv, so they never show up in ps.
Run with Debian's /usr/bin/python3.
"""
import base64
import ctypes
import ctypes.util
import hashlib
import os
import subprocess
import sys
import warnings

# libsodium: crypto_pwhash_ALG_ARGON2ID13, and the test-bed cost (4 MiB, t=1):
# slapd verifies with libargon2, ~3x slower than libsodium, at every bind.
ARGON2ID13 = 2
ARGON2_OPSLIMIT = 1
ARGON2_MEMLIMIT = 4096 * 1024
PWHASH_STRBYTES = 128


def ssha(password):
    salt = os.urandom(8)
    digest = hashlib.sha1(password + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode("ascii")


def crypt6(password):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import crypt  # removed in Python 3.13; openssl below then
            return "{CRYPT}" + crypt.crypt(password.decode("utf-8"),
                                           crypt.mksalt(crypt.METHOD_SHA512))
        except ImportError:
            pass
    out = subprocess.run(["openssl", "passwd", "-6", "-stdin"],
                         input=password + b"\n", capture_output=True,
                         check=True)
    return "{CRYPT}" + out.stdout.decode("ascii").strip()


_sodium = None


def _libsodium():
    global _sodium
    if _sodium is None:
        name = ctypes.util.find_library("sodium") or "libsodium.so.23"
        lib = ctypes.CDLL(name)
        if lib.sodium_init() < 0:
            raise OSError("sodium_init failed")
        lib.crypto_pwhash_str_alg.argtypes = [
            ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulonglong,
            ctypes.c_ulonglong, ctypes.c_size_t, ctypes.c_int]
        lib.crypto_pwhash_str_alg.restype = ctypes.c_int
        _sodium = lib
    return _sodium


def argon2id(password):
    lib = _libsodium()
    out = ctypes.create_string_buffer(PWHASH_STRBYTES)
    if lib.crypto_pwhash_str_alg(out, password, len(password),
                                 ARGON2_OPSLIMIT, ARGON2_MEMLIMIT,
                                 ARGON2ID13) != 0:
        raise OSError("crypto_pwhash_str_alg failed")
    return "{ARGON2}" + out.value.decode("ascii")


SCHEMES = {"ssha": ssha, "crypt6": crypt6, "argon2id": argon2id}


def main():
    for lineno, raw in enumerate(sys.stdin.buffer, 1):
        line = raw.rstrip(b"\r\n")
        if not line:
            continue
        scheme, _, password = line.partition(b" ")
        fn = SCHEMES.get(scheme.decode("ascii", "replace"))
        if fn is None or not password:
            sys.exit("pwhash.py: line %d: want 'SCHEME PASSWORD', SCHEME one of %s"
                     % (lineno, ", ".join(SCHEMES)))
        print(fn(password))
    return 0


if __name__ == "__main__":
    sys.exit(main())
