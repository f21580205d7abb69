#!/usr/bin/python3
"""Look for secrets in a running process's memory (tests/hostile/memscan.sh).

  memscan.py PID SECRETS_FILE [CONTEXT]

SECRETS_FILE: one "KIND<TAB>VALUE" per line.  Every readable mapping of
PID listed in /proc/PID/maps (heap, thread stacks, anonymous and file
mappings; not [vvar]/[vsyscall]) is read through /proc/PID/mem, which does
not stop the process (no ptrace attach; the reader needs the right to
ptrace it: root or CAP_SYS_PTRACE for a non-dumpable daemon), and every
VALUE is searched for as bytes (UTF-8, exact).

Prints one line per secret:
  FOUND<TAB>KIND<TAB>VALUE<TAB>N<TAB>where...   (N hits, up to 4 shown as
                                                 address=mapping +offset)
  CLEAN<TAB>KIND<TAB>VALUE
then, for each hit shown, "  ctx ADDRESS (MAPPING): ..." with CONTEXT bytes
(48) on either side, printable ASCII kept, other bytes as '.', and last
"regions=N bytes=N unreadable=N skipped=N secrets=N found=N" (unreadable:
pages read as zeros; skipped: mappings over 4 GiB, reservations such as
ASan's shadow, not read).
Exit 0 (also when something is found: the caller decides), 2 on a usage
error, 3 when the memory cannot be read at all (no right to ptrace PID).
"""
import os
import sys

CHUNK = 1 << 20
SKIP = ("[vvar]", "[vvar_vclock]", "[vsyscall]")
# A readable mapping this large is a reservation (a sanitizer's shadow
# memory), not data: it is counted as skipped, not read.
MAX_REGION = 1 << 32


def regions(pid):
    out = []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split(None, 5)
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            perms = parts[1]
            name = parts[5].strip() if len(parts) > 5 else ""
            if "r" not in perms or name in SKIP:
                continue
            out.append((lo, hi, perms, name))
    return out


def read_region(fd, lo, hi):
    """The region's bytes; pages that cannot be read come back as zeros."""
    data = bytearray()
    bad = 0
    addr = lo
    while addr < hi:
        n = min(CHUNK, hi - addr)
        try:
            data += os.pread(fd, n, addr)
            addr += n
            continue
        except OSError:
            pass
        # page by page through the chunk that failed
        end = addr + n
        while addr < end:
            try:
                data += os.pread(fd, 4096, addr)
            except OSError:
                data += bytes(4096)
                bad += 1
            addr += 4096
    return bytes(data), bad


def printable(b):
    return "".join(chr(c) if 0x20 <= c < 0x7F else "." for c in b)


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    pid = int(argv[1])
    ctxlen = int(argv[3]) if len(argv) > 3 else 48
    secrets = []
    with open(argv[2], encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if "\t" in line:
                kind, value = line.split("\t", 1)
                if value:
                    secrets.append((kind, value, value.encode("utf-8")))
    try:
        fd = os.open("/proc/%d/mem" % pid, os.O_RDONLY)
        regs = regions(pid)
    except OSError as e:
        print("cannot read the memory of pid %d: %s" % (pid, e.strerror or e), file=sys.stderr)
        return 3
    hits = {i: [] for i in range(len(secrets))}
    total = unreadable = skipped = 0
    try:
        for lo, hi, perms, name in regs:
            if hi - lo > MAX_REGION:
                skipped += 1
                continue
            data, bad = read_region(fd, lo, hi)
            total += len(data)
            unreadable += bad
            label = "%x-%x %s %s" % (lo, hi, perms, name or "[anon]")
            for i, (_, _, pat) in enumerate(secrets):
                at = data.find(pat)
                while at >= 0:
                    a = max(0, at - ctxlen)
                    ctx = data[a:at + len(pat) + ctxlen]
                    hits[i].append((lo + at, label, at, printable(ctx)))
                    at = data.find(pat, at + 1)
    finally:
        os.close(fd)
    if total == 0 or unreadable * 4096 >= total:
        print("nothing of pid %d could be read" % pid, file=sys.stderr)
        return 3
    found = 0
    for i, (kind, value, _) in enumerate(secrets):
        h = hits[i]
        if not h:
            print("CLEAN\t%s\t%s" % (kind, value))
            continue
        found += 1
        where = " ".join("0x%x=%s+0x%x" % (addr, label.split(" ", 2)[2], off)
                         for addr, label, off, _ in h[:4])
        print("FOUND\t%s\t%s\t%d\t%s" % (kind, value, len(h), where))
        for addr, label, off, ctx in h[:4]:
            print("  ctx 0x%x (%s): %s" % (addr, label, ctx))
    print("regions=%d bytes=%d unreadable=%d skipped=%d secrets=%d found=%d"
          % (len(regs) - skipped, total, unreadable, skipped, len(secrets), found))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
