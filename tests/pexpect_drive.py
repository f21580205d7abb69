#!/usr/bin/python3
"""Drive a command on a terminal with pexpect, for tests/ssh_e2e.sh (the
ssh client) and tests/sudo_e2e.sh (runuser -u mo-alice -- sudo -k id -u,
inside the test's private mount namespace).

  pexpect_drive.py --maildir DIR --transcript FILE [--timeout S] STEP... \\
      -- COMMAND [ARG...]

Each STEP is one argument:
  expect:REGEX     wait for REGEX in the command's output
  send:TEXT        type TEXT and Enter
  code:ADDR        wait for the code mailed to ADDR by this run (the first
                   mail after the run started; tests/testbed/mailtool.py)
                   and type it
  wrongcode:ADDR   the same, but type a wrong code of the same length (the
                   right one plus 1, 2, ... at each use)
  eof              wait for the command to end
Every step not reached (timeout, EOF) is reported and the rest skipped.
On stdout: "CODE code|wrongcode DIGITS" for each code typed, "STEPS OK"
or "STEP N FAILED: ...", then "EXIT status" and "ELAPSED ms"; the whole
terminal output (CR removed) goes to --transcript.
Run with Debian's /usr/bin/python3 (python3-pexpect).
"""
import argparse
import os
import subprocess
import sys
import time

import pexpect

HERE = os.path.dirname(os.path.abspath(__file__))
MAILTOOL = os.path.join(HERE, "testbed", "mailtool.py")


def mail_count(maildir, addr):
    out = subprocess.run([sys.executable, MAILTOOL, "count", maildir, addr],
                         check=True, capture_output=True, text=True).stdout
    return int(out.strip() or 0)


def main():
    argv = sys.argv[1:]
    if "--" not in argv:
        sys.exit("pexpect_drive.py: no -- COMMAND")
    cut = argv.index("--")
    cmd = argv[cut + 1:]
    p = argparse.ArgumentParser()
    p.add_argument("--maildir", required=True)
    p.add_argument("--transcript", required=True)
    p.add_argument("--timeout", type=float, default=20.0)
    p.add_argument("steps", nargs="*")
    a = p.parse_args(argv[:cut])
    if not cmd:
        sys.exit("pexpect_drive.py: no COMMAND after --")
    steps = a.steps

    start_counts = {}
    for s in steps:
        kind, _, addr = s.partition(":")
        if kind in ("code", "wrongcode"):
            start_counts.setdefault(addr, mail_count(a.maildir, addr))

    t0 = time.monotonic()
    child = pexpect.spawn(cmd[0], cmd[1:], timeout=a.timeout,
                          encoding="utf-8", codec_errors="replace",
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                               "LANG": "C.UTF-8", "HOME": "/"})
    log = []
    result = "STEPS OK"
    wrong = 0
    n, s = 0, ""
    try:
        for n, s in enumerate(steps, 1):
            kind, _, arg = s.partition(":")
            if kind == "expect":
                child.expect(arg)
                log.append(child.before + child.after)
            elif kind == "send":
                child.sendline(arg)
            elif kind in ("code", "wrongcode"):
                r = subprocess.run(
                    [sys.executable, MAILTOOL, "code", a.maildir, arg,
                     "--wait", str(a.timeout),
                     "--min-count", str(start_counts[arg] + 1)],
                    capture_output=True, text=True)
                code = r.stdout.strip()
                if r.returncode != 0 or not code.isdigit():
                    raise RuntimeError("no new code mailed to %s" % arg)
                if kind == "wrongcode":
                    wrong += 1
                    code = str((int(code) + wrong) % 10 ** len(code)).zfill(len(code))
                print("CODE %s %s" % (kind, code))
                child.sendline(code)
            elif kind == "eof":
                child.expect(pexpect.EOF)
                log.append(child.before)
            else:
                raise RuntimeError("unknown step %r" % s)
    except (pexpect.TIMEOUT, pexpect.EOF, RuntimeError) as e:
        what = type(e).__name__ if not isinstance(e, RuntimeError) else str(e)
        result = "STEP %d FAILED: %s (%s)" % (n, what, s)
        if isinstance(e, pexpect.EOF) and isinstance(child.before, str):
            log.append(child.before)
    try:
        child.expect(pexpect.EOF, timeout=a.timeout)
        log.append(child.before)
    except pexpect.TIMEOUT:
        log.append("[still running after %ss: killed]" % a.timeout)
    child.close(force=True)
    elapsed = int((time.monotonic() - t0) * 1000)
    with open(a.transcript, "w", encoding="utf-8") as f:
        f.write("".join(log).replace("\r", ""))
    status = child.exitstatus if child.exitstatus is not None else \
        128 + (child.signalstatus or 0)
    print(result)
    print("EXIT %d" % status)
    print("ELAPSED %d" % elapsed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
