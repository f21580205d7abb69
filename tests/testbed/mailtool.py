#!/usr/bin/python3
"""Read the mail the test-bed SMTP sink stored (Debian's /usr/bin/python3).

  mailtool.py count DIR [ADDR]
      number of messages (to ADDR)
  mailtool.py wait  DIR ADDR N [--wait S]
      wait until at least N messages to ADDR arrived; exit 1 on timeout
  mailtool.py code  DIR ADDR [--wait S] [--min-count N]
      the one-time code in the newest message to ADDR: the first body line
      that is only ASCII digits; waits (default 10 s) until there are N
      messages to ADDR (default 1) and the newest one has such a line
  mailtool.py show  DIR ADDR [--wait S] [--nth K]
      message K to ADDR (default -1: the newest; 0: the oldest), decoded:
      every header (RFC 2047 decoded), a blank line, the text/plain body

"To ADDR" means ADDR is an envelope recipient (X-Sink-RcptTo, written by
smtp_sink.py), compared without case; files without that header fall back
to To/Cc.  Messages are ordered by file name, i.e. by arrival.
Exit status: 0 found, 1 not found / timeout, 2 usage error.
"""
import argparse
import email
import email.policy
import email.utils
import os
import re
import sys
import time

CODE_RE = re.compile(r"^[0-9]+$")


def messages(maildir):
    try:
        names = sorted(n for n in os.listdir(maildir)
                       if n.endswith(".eml") and not n.startswith("."))
    except FileNotFoundError:
        return []
    return [os.path.join(maildir, n) for n in names]


def parse(path):
    with open(path, "rb") as f:
        return email.message_from_binary_file(f, policy=email.policy.default)


def recipients(msg):
    env = msg.get_all("X-Sink-RcptTo")
    if env is not None:
        values = env
    else:
        values = (msg.get_all("To") or []) + (msg.get_all("Cc") or [])
    return {addr.lower() for _, addr in email.utils.getaddresses([str(v) for v in values])
            if addr}


def for_addr(maildir, addr):
    out = []
    for path in messages(maildir):
        msg = parse(path)
        if addr is None or addr.lower() in recipients(msg):
            out.append((path, msg))
    return out


def body_text(msg):
    part = msg.get_body(preferencelist=("plain",))
    if part is None:
        part = msg.get_body(preferencelist=("html",))
    if part is None:
        return ""
    return part.get_content()


def code_of(msg):
    codes = [line.strip() for line in body_text(msg).splitlines()
             if CODE_RE.match(line.strip())]
    if len(set(codes)) > 1:
        print("mailtool: several digit-only lines, taking the first: %s"
              % ", ".join(codes), file=sys.stderr)
    return codes[0] if codes else None


def poll(wait, fn):
    """Call fn() until it returns non-None or `wait` seconds have passed."""
    deadline = time.monotonic() + wait
    while True:
        got = fn()
        if got is not None or time.monotonic() >= deadline:
            return got
        time.sleep(0.05)


def cmd_count(a):
    print(len(for_addr(a.dir, a.addr)))
    return 0


def cmd_wait(a):
    got = poll(a.wait, lambda: True if len(for_addr(a.dir, a.addr)) >= a.n else None)
    if got is None:
        print("mailtool: fewer than %d messages to %s after %g s"
              % (a.n, a.addr, a.wait), file=sys.stderr)
        return 1
    return 0


def cmd_code(a):
    def attempt():
        msgs = for_addr(a.dir, a.addr)
        if len(msgs) < a.min_count:
            return None
        return code_of(msgs[-1][1])
    code = poll(a.wait, attempt)
    if code is None:
        print("mailtool: no code mailed to %s within %g s" % (a.addr, a.wait),
              file=sys.stderr)
        return 1
    print(code)
    return 0


def cmd_show(a):
    def attempt():
        msgs = for_addr(a.dir, a.addr)
        try:
            return msgs[a.nth]
        except IndexError:
            return None
    got = poll(a.wait, attempt)
    if got is None:
        print("mailtool: no message %d to %s" % (a.nth, a.addr), file=sys.stderr)
        return 1
    path, msg = got
    out = ["X-Sink-File: " + os.path.basename(path)]
    for name, value in msg.items():
        out.append("%s: %s" % (name, str(value)))
    out.append("")
    out.append(body_text(msg).rstrip("\n"))
    sys.stdout.write("\n".join(out) + "\n")
    return 0


def main():
    p = argparse.ArgumentParser(description="read the test-bed sink's mail")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("count")
    s.add_argument("dir")
    s.add_argument("addr", nargs="?")
    s.set_defaults(fn=cmd_count)
    s = sub.add_parser("wait")
    s.add_argument("dir")
    s.add_argument("addr")
    s.add_argument("n", type=int)
    s.add_argument("--wait", type=float, default=10.0)
    s.set_defaults(fn=cmd_wait)
    s = sub.add_parser("code")
    s.add_argument("dir")
    s.add_argument("addr")
    s.add_argument("--wait", type=float, default=10.0)
    s.add_argument("--min-count", type=int, default=1)
    s.set_defaults(fn=cmd_code)
    s = sub.add_parser("show")
    s.add_argument("dir")
    s.add_argument("addr")
    s.add_argument("--wait", type=float, default=0.0)
    s.add_argument("--nth", type=int, default=-1)
    s.set_defaults(fn=cmd_show)
    a = p.parse_args()
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
