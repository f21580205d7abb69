#!/usr/bin/python3
"""Look for secrets where they must not be (tests/hostile/secrets.sh).

  secretscan.py MAILDIR SECRETS_FILE LOG...

SECRETS_FILE: one "KIND<TAB>VALUE" per line, the secrets typed or chosen
during the session (passwords, wrong codes, ...): none of them may appear
in any mail or any log.

Every stored mail is decoded (headers, RFC 2047; every text part) and the
secrets it carries are collected from it: a code (a line of digits only), a
token (token=... in a link), a temporary password (a 16-character line as
the reset_temporary template prints it).  Each of those may appear in its
own mail only, and in no log; the mail that carries a code or a password
must go to one recipient.

Prints one "LEAK ..." line per finding, then
"mails=N codes=N tokens=N temps=N given=N leaks=N".  Exit 0 (also on leaks:
the caller decides), 2 on a usage error.
"""
import email
import email.policy
import os
import re
import sys

CODE_RE = re.compile(r"^\s*([0-9]{6,10})\s*$", re.M)
TOKEN_RE = re.compile(r"token=([A-Za-z0-9_-]{16,})")
TEMP_RE = re.compile(r"^\s*([A-Za-z0-9#%+=?@-]{16})\s*$", re.M)


def mail_text(path):
    with open(path, "rb") as f:
        raw = f.read()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    parts = []
    for k, v in msg.items():
        parts.append("%s: %s" % (k, v))
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            try:
                parts.append(part.get_content())
            except (LookupError, ValueError):
                pass
    rcpt = [v.strip().lower() for v in (msg.get_all("X-Sink-RcptTo") or [])]
    body = "\n".join(p for p in parts[len(msg.items()):])
    return "\n".join(parts) + "\n" + raw.decode("utf-8", "replace"), body, rcpt


def found(value, text):
    # a secret counts where it stands alone: "123456" is not found in "91234567"
    pat = r"(?<![A-Za-z0-9_-])" + re.escape(value) + r"(?![A-Za-z0-9_-])"
    if re.search(pat, text):
        return True
    # passwords carry punctuation at their ends: plain substring as well
    return len(value) >= 10 and value in text


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    maildir, secrets_file, logs = argv[0], argv[1], argv[2:]
    mails = {}
    for name in sorted(os.listdir(maildir)):
        if name.endswith(".eml"):
            mails[name] = mail_text(os.path.join(maildir, name))
    given = []
    with open(secrets_file, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if "\t" in line:
                kind, value = line.split("\t", 1)
                if value:
                    given.append((kind, value))
    carried = []  # (kind, value, mail)
    for name, (full, body, rcpt) in mails.items():
        for m in CODE_RE.finditer(body):
            carried.append(("code", m.group(1), name))
        for m in TOKEN_RE.finditer(body):
            carried.append(("token", m.group(1), name))
        for m in TEMP_RE.finditer(body):
            if not m.group(1).isdigit():
                carried.append(("temporary-password", m.group(1), name))
    logtexts = {}
    for log in logs:
        try:
            with open(log, "rb") as f:
                logtexts[log] = f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            logtexts[log] = ""
    leaks = 0

    def leak(msg):
        nonlocal leaks
        leaks += 1
        print("LEAK " + msg)

    seen = set()
    for kind, value, own in carried:
        if (kind, value) in seen:
            continue
        seen.add((kind, value))
        owners = {m for _, v, m in carried if v == value}
        for name, (full, _, rcpt) in mails.items():
            if name in owners:
                continue
            if found(value, full):
                leak("%s from %s also in mail %s" % (kind, own, name))
        if kind in ("code", "temporary-password") and len(mails[own][2]) != 1:
            leak("%s mail %s has %d recipients: %s" % (kind, own, len(mails[own][2]),
                                                       ", ".join(mails[own][2])))
        for log, text in logtexts.items():
            if found(value, text):
                leak("%s from %s in log %s" % (kind, own, log))
    for kind, value in given:
        for name, (full, _, _) in mails.items():
            if found(value, full):
                leak("%s %r in mail %s" % (kind, value[:3] + "...", name))
        for log, text in logtexts.items():
            if found(value, text):
                leak("%s %r in log %s" % (kind, value[:3] + "...", log))
    count = {k: len({v for kk, v, _ in carried if kk == k})
             for k in ("code", "token", "temporary-password")}
    print("mails=%d codes=%d tokens=%d temps=%d given=%d leaks=%d"
          % (len(mails), count["code"], count["token"], count["temporary-password"],
             len(given), leaks))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
