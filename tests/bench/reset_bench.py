#!/usr/bin/python3
"""The reset web service under load, for tests/bench/run.sh (`make bench`).

    reset_bench.py --port P --pid PID --maildir DIR --log FILE --lua FILE
                   --table FILE --json FILE [--known-prefix bench-r]
                   [--known-count N] [--duration 10] [--hash-conc 50]
                   [--conns 1000]

With mailotpd's reset service on 127.0.0.1:P (reset_trusted_proxies
127.0.0.1, so that a rotating X-Forwarded-For stands for many clients):

1. wrk -t2 -c50 GET /;
2. wrk POST /request for unknown addresses, then for known ones (the
   accounts PREFIX0001..PREFIXN): the first request for each known account
   mails it a reset link (later ones within 60 s are dropped by the
   mail-bombing guard), in the background, after the answer;
3. the links' tokens are read from the sink's maildir; wrk GET / runs again
   while HASH_CONC threads keep that many POST /reset (set a new password:
   argon2id at the configured cost, then an LDAP modify) in flight;
4. VmRSS with CONNS idle connections open (each sent half a request; read
   well inside libmicrohttpd's 10 s connection timeout).

Appends rows in tests/bench/login_bench's column layout to --table and
writes the figures run.sh needs for its targets to --json. Judges no time;
exits 1 only when something does not work at all (no wrk, no token...).
"""
import argparse
import email
import email.policy
import http.client
import json
import os
import re
import resource
import secrets
import socket
import subprocess
import sys
import threading
import time

WRK_THREADS, WRK_CONNS = 2, 50


def say(msg):
    print("# " + msg, file=sys.stderr, flush=True)


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "Threads", "RssAnon", "RssFile"):
                out[k] = int(v.split()[0])
    out["fds"] = len(os.listdir("/proc/%d/fd" % pid))
    return out


def to_ms(s):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", s)
    if not m:
        raise ValueError("wrk time %r" % s)
    v = float(m.group(1))
    return {"us": v / 1000, "ms": v, "s": v * 1000, "m": v * 60000}[m.group(2)]


def parse_wrk(text):
    r = {"non2xx": 0, "errors": ""}
    m = re.search(r"^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)", text, re.M)
    r["mean"], r["max"] = to_ms(m.group(1)), to_ms(m.group(3))
    for q in ("50", "75", "90", "99"):
        m = re.search(r"^\s+%s%%\s+(\S+)" % q, text, re.M)
        r["p" + q] = to_ms(m.group(1))
    m = re.search(r"^\s+(\d+) requests in ([\d.]+)(\w+)", text, re.M)
    r["requests"] = int(m.group(1))
    r["rps"] = float(re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M).group(1))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        r["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: (.*)", text)
    if m:
        r["errors"] = m.group(1).strip()
    return r


def wrk(url, duration, args=(), script=None):
    cmd = ["wrk", "-t%d" % WRK_THREADS, "-c%d" % WRK_CONNS, "-d%ds" % duration, "--latency"]
    if script:
        cmd += ["-s", script]
    cmd += [url]
    if args:
        cmd += ["--"] + list(args)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wrk_run(url, duration, args=(), script=None):
    p = wrk(url, duration, args, script)
    out, _ = p.communicate()
    if p.returncode != 0:
        raise RuntimeError("wrk failed:\n" + out)
    return parse_wrk(out), out


def row(table, label, w):
    note = ""
    if w["non2xx"]:
        note += ", %d not 200" % w["non2xx"]
    if w["errors"]:
        note += ", socket errors: " + w["errors"]
    with open(table, "a") as f:
        f.write("| %s%s | %d | %d | %.2f | %.2f | %.2f | %.2f | %.0f | – | – | – |\n" % (
            label, " (" + note[2:] + ")" if note else "", w["requests"], WRK_CONNS,
            w["p50"], w["p90"], w["p99"], w["max"], w["rps"]))


def csrf_from(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path, headers={"X-Forwarded-For": "10.250.0.1"})
    resp = c.getresponse()
    resp.read()
    cookie = resp.getheader("Set-Cookie") or ""
    c.close()
    m = re.match(r"mailotp_csrf=([A-Za-z0-9_-]+)", cookie)
    if resp.status != 200 or not m:
        raise RuntimeError("GET %s: %d, no CSRF cookie" % (path, resp.status))
    return m.group(1)


def tokens_by_account(maildir, prefix):
    """The newest reset token mailed to each PREFIXnnnn account."""
    out = {}
    for name in sorted(n for n in os.listdir(maildir) if n.endswith(".eml")):
        with open(os.path.join(maildir, name), "rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.default)
        to = str(msg.get("To", "")).lower()
        m = re.search(r"(%s\d{4})@example\.org" % re.escape(prefix), to)
        if not m:
            continue
        body = msg.get_body(preferencelist=("plain",))
        t = re.search(r"/reset\?token=([A-Za-z0-9_-]+)", body.get_content() if body else "")
        if t:
            out[m.group(1)] = t.group(1)
    return out


def count_mail(maildir):
    return sum(1 for n in os.listdir(maildir) if n.endswith(".eml"))


def wait_quiet(maildir, settle=1.5, limit=60):
    """Waits until no new mail has arrived for SETTLE s (the background queue drained)."""
    last, since, t0 = count_mail(maildir), time.monotonic(), time.monotonic()
    while time.monotonic() - since < settle and time.monotonic() - t0 < limit:
        time.sleep(0.2)
        n = count_mail(maildir)
        if n != last:
            last, since = n, time.monotonic()
    return last


def hash_phase(port, tokens, csrf, conc, deadline):
    """Keeps CONC POST /reset in flight until DEADLINE or the tokens run out."""
    lock = threading.Lock()
    queue = list(tokens)
    lat, statuses, ends = [], {}, []

    def worker(i):
        k = 0
        while time.monotonic() < deadline:
            with lock:
                if not queue:
                    break
                tok = queue.pop()
            k += 1
            pw = "Zq7-" + secrets.token_hex(8)
            body = "csrf=%s&token=%s&password=%s&password_confirm=%s" % (csrf, tok, pw, pw)
            t0 = time.monotonic()
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            c.request("POST", "/reset", body=body, headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": "mailotp_csrf=" + csrf,
                "X-Forwarded-For": "10.251.%d.%d" % (i, k % 250 + 1)})
            resp = c.getresponse()
            resp.read()
            c.close()
            t1 = time.monotonic()
            with lock:
                lat.append((t1 - t0) * 1000)
                statuses[resp.status] = statuses.get(resp.status, 0) + 1
        with lock:
            ends.append(time.monotonic())

    ths = [threading.Thread(target=worker, args=(i,)) for i in range(conc)]
    t0 = time.monotonic()
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    return lat, statuses, t0, min(ends) if ends else t0


def pct(v, q):
    v = sorted(v)
    if not v:
        return 0.0
    k = max(1, min(len(v), int(q * len(v) + 0.999999)))
    return v[k - 1]


def open_idle(port, n):
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\nX-Forwarded-For: 10.252.%d.%d\r\n"
                  % (i // 250, i % 250 + 1))
        socks.append(s)
    return socks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--maildir", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--lua", required=True)
    ap.add_argument("--table", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--known-prefix", default="bench-r")
    ap.add_argument("--known-count", type=int, default=1000)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--hash-conc", type=int, default=50)
    ap.add_argument("--conns", type=int, default=1000)
    a = ap.parse_args()
    url = "http://127.0.0.1:%d/" % a.port
    res = {}
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, a.conns + 256)), hard))

    say("wrk GET /")
    w, _ = wrk_run(url, a.duration)
    row(a.table, "reset GET / (wrk)", w)
    res["get"] = w

    csrf = csrf_from(a.port, "/")
    say("wrk POST /request, unknown addresses")
    w, _ = wrk_run(url, a.duration, [csrf, "unknown"], a.lua)
    row(a.table, "reset POST /request, unknown address (wrk)", w)
    res["post_unknown"] = w
    res["drops_unknown"] = open(a.log, errors="replace").read().count("queue full")
    wait_quiet(a.maildir)

    say("wrk POST /request, %d known accounts" % a.known_count)
    m0 = count_mail(a.maildir)
    w, _ = wrk_run(url, a.duration, [csrf, "known", a.known_prefix, str(a.known_count)], a.lua)
    m_end = count_mail(a.maildir) - m0
    row(a.table, "reset POST /request, known address (wrk)", w)
    res["post_known"] = w
    res["mails_during_known"] = m_end
    res["mails_after_known"] = wait_quiet(a.maildir) - m0
    res["drops_total"] = open(a.log, errors="replace").read().count("queue full")

    tokens = tokens_by_account(a.maildir, a.known_prefix)
    if not tokens:
        raise RuntimeError("no reset link in the maildir")
    res["tokens"] = len(tokens)
    csrf_reset = csrf_from(a.port, "/reset?token=" + next(iter(tokens.values())))
    say("wrk GET / while %d POST /reset hash (%d tokens)" % (a.hash_conc, len(tokens)))
    p = wrk(url, a.duration)
    time.sleep(0.5)
    lat, statuses, h0, h_end = hash_phase(a.port, tokens.values(), csrf_reset, a.hash_conc,
                                          time.monotonic() + a.duration - 1)
    out, _ = p.communicate()
    w = parse_wrk(out)
    busy = h_end - h0
    row(a.table, "reset GET / (wrk) while %d POST /reset hash" % a.hash_conc, w)
    res["get_hashing"] = w
    res["reset_posts"] = {"n": len(lat), "statuses": statuses, "median": pct(lat, 0.5),
                          "p90": pct(lat, 0.9), "p99": pct(lat, 0.99),
                          "max": max(lat) if lat else 0, "full_for_s": busy,
                          "per_s": len(lat) / busy if busy > 0 else 0}
    r = res["reset_posts"]
    with open(a.table, "a") as f:
        f.write("| reset POST /reset, %d in flight (argon2id + LDAP modify)%s | %d | %d | %.2f "
                "| %.2f | %.2f | %.2f | %.1f | – | – | – |\n" % (
                    a.hash_conc,
                    "" if set(statuses) == {200} else " (statuses %s)" % statuses,
                    r["n"], a.hash_conc, r["median"], r["p90"], r["p99"], r["max"],
                    r["per_s"]))

    say("%d idle connections" % a.conns)
    before = proc_status(a.pid)
    socks = open_idle(a.port, a.conns)
    time.sleep(2)
    during = proc_status(a.pid)
    alive = 0
    for s in socks:
        s.setblocking(False)
        try:
            alive += s.recv(1) != b""  # b"" = closed by the server
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
    for s in socks:
        s.close()
    time.sleep(1)
    res["rss_before_conns"] = before
    res["rss_conns"] = during
    res["conns_open"] = alive
    res["conns"] = a.conns
    res["rss_after_conns"] = proc_status(a.pid)
    with open(a.json, "w") as f:
        json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
