#!/usr/bin/python3
"""Scripted SMTP server for tests/smtp_client.sh: behaviours a real MTA
does not show on demand.  Plain sockets, one thread per connection.

  smtp_script.py --port PORT --scenario NAME [--host 127.0.0.1]
                 [--pidfile FILE] [--out FILE] [--garbage-at greeting|ehlo|mail]
                 [--idle-421] [--tls-cert FILE --tls-key FILE]

Every line on stderr starts with "smtp_script: ".  Always logged:
  connection N from HOST:PORT / connection N closed
  cmd VERB [ARG]        each command line received (AUTH without its
                        argument); "bare LF in command" when one ends in LF
                        without CR
  message received bytes=B  a DATA phase ended with <CRLF>.<CRLF> (B raw bytes
                        on the wire, dot-stuffing and the final dot included)

Scenarios (the client is expected to ...):
  pipelining-required  advertises PIPELINING; after MAIL it does not answer
                       until RCPT and DATA have arrived too (up to 3 s), then
                       logs "pipelined", else "not pipelined" and answers
                       anyway (... pipeline: one message, log "pipelined")
  no-pipelining        no PIPELINING; after MAIL and after each RCPT it waits
                       0.3 s and logs "sent ahead" if more bytes came before
                       its reply, else "waited" (... wait for each reply)
  multiline            a three-line greeting, a 40-line EHLO reply written in
                       small pieces, multi-line and code-only ("250") replies
                       (... deliver the message)
  overlong             an EHLO reply line of 5000 bytes (... fail, no MAIL)
  garbage              a reply that is not "ddd text": at --garbage-at
                       greeting, ehlo or mail (default) (... fail, no message)
  greeting-421         greets with 421 (... fail as refused, no EHLO)
  close-in-data        after 354, closes once part of the body came in
                       (logs "closed in DATA after B bytes") (... fail)
  starttls-inject      offers STARTTLS (needs --tls-cert/--tls-key) and
                       answers it with "220 go ahead\\r\\n250 injected\\r\\n" in
                       one write; logs "tls handshake ok" or "no tls
                       handshake", and at the end of the connection
                       "mail-sent=yes|no" (... fail at once: no handshake, no MAIL)
  rcpt-partial         advertises PIPELINING; first RCPT 250, every later one
                       550; DATA gets 354 when a recipient was accepted, then
                       logs "empty message delivered" (a lone "."), "body
                       received B bytes", "connection dropped in DATA" or
                       "no data within 2 s" (... return refused, send nothing)
  idle-close           serves mail normally, but 0.5 s after a message was
                       accepted without a next command it closes the
                       connection, logging "idle close"; with --idle-421 it
                       first sends "421 4.4.2 ... idle timeout", as Postfix
                       does (... send the next mail on a new connection)
  dotstuff             stores the raw DATA bytes (up to and with the final
                       ".\\r\\n") into --out FILE (... dot-stuff every line
                       beginning with ".")
  slow                 waits 1 s before each reply (... give up when
                       smtp_timeout, which bounds the whole dialogue, runs out)

Runs until SIGTERM/SIGINT; the pid file is written once it listens.
"""
import argparse
import os
import re
import signal
import socket
import ssl
import sys
import threading
import time

SCENARIOS = ("pipelining-required", "no-pipelining", "multiline", "overlong", "garbage",
             "greeting-421", "close-in-data", "starttls-inject", "rcpt-partial",
             "idle-close", "dotstuff", "slow")
HOSTNAME = "script.test"
IDLE_TIMEOUT = 15.0      # a silent client is dropped after this
MAX_LINE = 4096          # a command line longer than this ends the connection

LOCK = threading.Lock()


def log(msg):
    with LOCK:
        print("smtp_script: " + msg, file=sys.stderr, flush=True)


def safe(b, limit=200):
    if isinstance(b, bytes):
        b = b.decode("utf-8", "replace")
    return re.sub(r"[^\x20-\x7e]", "?", b)[:limit]


class Closed(Exception):
    pass


class Conn:
    def __init__(self, sock, n):
        self.sock = sock
        self.n = n
        self.buf = b""
        self.eof = False
        self.tls = False

    def send(self, data):
        self.sock.sendall(data)

    def fill(self, timeout):
        """Reads more into buf: True, or None on timeout; raises Closed at EOF."""
        if self.eof:
            raise Closed()
        self.sock.settimeout(max(timeout, 0.001))
        try:
            d = self.sock.recv(65536)
        except socket.timeout:
            return None
        except (OSError, ssl.SSLError):
            d = b""
        if not d:
            self.eof = True
            raise Closed()
        self.buf += d
        return True

    def readline(self, timeout=IDLE_TIMEOUT):
        """One line with its LF, or None on timeout; raises Closed at EOF."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            if len(self.buf) > MAX_LINE:
                log("command line over %d bytes" % MAX_LINE)
                raise Closed()
            left = deadline - time.monotonic()
            if left <= 0 or self.fill(left) is None:
                return None
        line, _, self.buf = self.buf.partition(b"\n")
        return line + b"\n"

    def more_within(self, wait):
        """True when bytes are buffered or arrive within wait seconds."""
        if self.buf:
            return True
        try:
            return self.fill(wait) is True
        except Closed:
            return False

    def read_data(self, timeout):
        """The raw DATA bytes up to and with <CRLF>.<CRLF> (or a lone ".\\r\\n"
        first): (raw, "complete" | "eof" | "timeout")."""
        deadline = time.monotonic() + timeout
        pos = 0
        while True:
            if self.buf.startswith(b".\r\n"):
                raw, self.buf = self.buf[:3], self.buf[3:]
                return raw, "complete"
            i = self.buf.find(b"\r\n.\r\n", max(pos - 4, 0))
            if i >= 0:
                raw, self.buf = self.buf[:i + 5], self.buf[i + 5:]
                return raw, "complete"
            pos = len(self.buf)
            left = deadline - time.monotonic()
            try:
                if left <= 0 or self.fill(left) is None:
                    return self.buf, "timeout"
            except Closed:
                return self.buf, "eof"

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def unstuff(raw):
    """The message from raw DATA bytes (final dot line removed, dots undone)."""
    if raw == b".\r\n":
        return b""
    body = raw[:-3]  # keeps the CRLF before the final dot
    lines = body.split(b"\r\n")
    return b"\r\n".join(l[1:] if l.startswith(b".") else l for l in lines)


class Session:
    def __init__(self, conn, args):
        self.c = conn
        self.args = args
        self.sc = args.scenario
        self.mail_seen = False
        self.mute = False
        self.reset()

    def reset(self):
        self.in_txn = False
        self.rcpt_n = 0
        self.rcpt_ok = 0

    def reply(self, text):
        if self.sc == "slow":
            time.sleep(1.0)
        self.c.send(text)

    # --- EHLO replies

    def ehlo_lines(self):
        sc = self.sc
        lines = [HOSTNAME + " greets you", "SIZE 10485760", "8BITMIME"]
        if sc in ("pipelining-required", "multiline", "rcpt-partial", "idle-close",
                  "dotstuff", "close-in-data"):
            lines.append("PIPELINING")
        if sc == "starttls-inject":
            lines.append("STARTTLS")
        if sc == "multiline":
            lines[3:3] = ["X-FILLER-%02d %s" % (i, "lorem ipsum dolor sit amet")
                          for i in range(1, 37)]
            lines.append("ENHANCEDSTATUSCODES")
            lines.append("help")
        if sc == "overlong":
            lines.insert(1, "X-LONG " + "X" * (5000 - 11))
        return lines

    def send_ehlo(self):
        if self.sc == "garbage" and self.args.garbage_at == "ehlo":
            self.reply(b"what is this?\r\n")
            log("sent garbage to EHLO")
            self.mute = True
            return
        lines = self.ehlo_lines()
        data = "".join("250%s%s\r\n" % ("-" if i < len(lines) - 1 else " ", l)
                       for i, l in enumerate(lines)).encode("ascii")
        if self.sc == "multiline":
            # in pieces that cut lines anywhere: the client must reassemble
            for i in range(0, len(data), 50):
                self.c.send(data[i:i + 50])
                time.sleep(0.005)
        else:
            self.reply(data)

    # --- the DATA phase

    def data_phase(self):
        sc = self.sc
        if sc == "rcpt-partial":
            raw, how = self.c.read_data(2.0)
            if raw == b".\r\n":
                log("empty message delivered")
                self.reply(b"250 2.0.0 Ok: queued (empty!)\r\n")
            elif raw:
                log("body received %d bytes (%s)" % (len(raw), how))
                if how == "complete":
                    self.reply(b"250 2.0.0 Ok: queued\r\n")
                    log("message received bytes=%d" % len(raw))
            elif how == "eof":
                log("connection dropped in DATA")
                raise Closed()
            else:
                log("no data within 2 s")
                raise Closed()
            self.reset()
            return
        if sc == "close-in-data":
            raw, how = self.c.read_data(2.0)
            if not raw and how == "timeout":
                log("no data within 2 s")
            log("closed in DATA after %d bytes" % len(raw))
            raise Closed()
        raw, how = self.c.read_data(IDLE_TIMEOUT)
        if how != "complete":
            log("DATA ended by %s after %d bytes" % (how, len(raw)))
            raise Closed()
        log("message received bytes=%d" % len(raw))
        if sc == "dotstuff" and self.args.out:
            tmp = self.args.out + ".tmp"
            with open(tmp, "wb") as f:
                f.write(raw)
            os.rename(tmp, self.args.out)
        if sc == "multiline":
            self.reply(b"250-2.0.0 accepted\r\n250-2.0.0 (a multi-line reply)\r\n"
                       b"250 2.0.0 Ok: queued as SCRIPT1\r\n")
        else:
            self.reply(b"250 2.0.0 Ok: queued as SCRIPT\r\n")
        self.reset()
        if sc == "idle-close" and not self.c.more_within(0.5):
            if self.c.eof:
                log("client closed")
                raise Closed()
            log("idle close")
            if self.args.idle_421:
                self.c.send(b"421 4.4.2 %s idle timeout, closing\r\n" % HOSTNAME.encode())
            raise Closed()

    # --- STARTTLS with injected bytes

    def starttls_inject(self):
        self.c.send(b"220 go ahead\r\n250 injected\r\n")
        log("injected a reply after 220")
        if self.c.buf:
            log("plaintext after STARTTLS: %r" % safe(self.c.buf))
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.args.tls_cert, self.args.tls_key)
        s = ctx.wrap_socket(self.c.sock, server_side=True, do_handshake_on_connect=False)
        s.settimeout(3.0)
        try:
            s.do_handshake()
        except (OSError, ssl.SSLError, socket.timeout) as e:
            log("no tls handshake (%s)" % safe(str(e) or e.__class__.__name__))
            raise Closed()
        log("tls handshake ok")
        self.c.sock = s
        self.c.buf = b""
        self.c.tls = True

    # --- the command loop

    def run(self):
        sc = self.sc
        a = self.args
        if sc == "greeting-421":
            self.c.send(b"421 4.3.2 %s service not available\r\n" % HOSTNAME.encode())
        elif sc == "garbage" and a.garbage_at == "greeting":
            self.c.send(b"hello, this is not SMTP\r\n")
            log("sent garbage greeting")
            self.mute = True
        elif sc == "multiline":
            greet = (b"220-%s ESMTP scripted\r\n220-second line of the greeting\r\n"
                     b"220 ready\r\n" % HOSTNAME.encode())
            self.c.send(greet[:30])
            time.sleep(0.02)
            self.c.send(greet[30:])
        else:
            self.reply(b"220 %s ESMTP scripted\r\n" % HOSTNAME.encode())
        while True:
            line = self.c.readline()
            if line is None:
                log("client silent for %d s" % IDLE_TIMEOUT)
                return
            if not line.endswith(b"\r\n"):
                log("bare LF in command")
            text = line.rstrip(b"\r\n")
            verb, _, arg = text.partition(b" ")
            verb = verb.upper()
            if verb == b"AUTH":
                log("cmd AUTH (argument not logged)")
            else:
                log(("cmd %s %s" % (safe(verb), safe(arg))).rstrip())
            if sc == "greeting-421":
                if verb == b"QUIT":
                    self.c.send(b"221 2.0.0 bye\r\n")
                    return
                self.c.send(b"421 4.3.2 still not available\r\n")
                return
            if self.mute:
                # after garbage, no more answers: a client that goes on waits
                continue
            if sc == "garbage" and a.garbage_at == "mail" and verb == b"MAIL":
                self.mail_seen = True
                self.reply(b"2.1.0 sender ok\r\n")
                log("sent garbage to MAIL")
                self.mute = True
                continue
            if verb in (b"EHLO", b"HELO"):
                self.reset()
                if verb == b"HELO":
                    self.reply(b"250 %s\r\n" % HOSTNAME.encode())
                else:
                    self.send_ehlo()
            elif verb == b"STARTTLS" and sc == "starttls-inject" and not self.c.tls:
                self.starttls_inject()
            elif verb == b"MAIL":
                self.mail_seen = True
                if self.in_txn:
                    self.reply(b"503 5.5.1 nested MAIL\r\n")
                    continue
                self.in_txn = True
                if sc == "pipelining-required":
                    deadline = time.monotonic() + 3.0
                    while not re.search(rb"(?im)^DATA\r?$", self.c.buf):
                        left = deadline - time.monotonic()
                        try:
                            if left <= 0 or self.c.fill(left) is None:
                                break
                        except Closed:
                            break
                    if re.search(rb"(?im)^DATA\r?$", self.c.buf) and \
                            re.search(rb"(?im)^RCPT ", self.c.buf):
                        log("pipelined")
                    else:
                        log("not pipelined")
                elif sc == "no-pipelining":
                    log("sent ahead" if self.c.more_within(0.3) else "waited")
                if sc == "multiline":
                    self.reply(b"250-2.1.0 sender\r\n250-2.1.0 looks\r\n250 2.1.0 Ok\r\n")
                else:
                    self.reply(b"250 2.1.0 Ok\r\n")
            elif verb == b"RCPT":
                if not self.in_txn:
                    self.reply(b"503 5.5.1 need MAIL first\r\n")
                    continue
                self.rcpt_n += 1
                if sc == "no-pipelining":
                    log("sent ahead" if self.c.more_within(0.3) else "waited")
                if sc == "rcpt-partial" and self.rcpt_n > 1:
                    self.reply(b"550 5.1.1 %s: no such user (script)\r\n" % arg[3:])
                    continue
                self.rcpt_ok += 1
                if sc == "multiline":
                    self.reply(b"250\r\n")  # a code alone is a valid reply
                else:
                    self.reply(b"250 2.1.5 Ok\r\n")
            elif verb == b"DATA":
                if not self.in_txn or self.rcpt_ok == 0:
                    self.reply(b"554 5.5.1 no valid recipients\r\n")
                    self.reset()
                    continue
                self.reply(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                self.data_phase()
            elif verb == b"RSET":
                self.reset()
                self.reply(b"250 2.0.0 Ok\r\n")
            elif verb == b"NOOP":
                self.reply(b"250 2.0.0 Ok\r\n")
            elif verb == b"QUIT":
                self.reply(b"221 2.0.0 Bye\r\n")
                return
            else:
                self.reply(b"502 5.5.2 command not implemented\r\n")


def handle(sock, peer, n, args):
    c = Conn(sock, n)
    s = Session(c, args)
    log("connection %d from %s:%d" % (n, peer[0], peer[1]))
    try:
        s.run()
    except Closed:
        pass
    except (OSError, ssl.SSLError) as e:
        log("connection %d: %s" % (n, safe(str(e))))
    finally:
        if args.scenario == "starttls-inject":
            log("mail-sent=%s" % ("yes" if s.mail_seen else "no"))
        c.close()
        log("connection %d closed" % n)


def main():
    p = argparse.ArgumentParser(description="scripted SMTP server for the SMTP client tests")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--scenario", choices=SCENARIOS, required=True)
    p.add_argument("--pidfile")
    p.add_argument("--out", help="dotstuff: where the raw DATA bytes go")
    p.add_argument("--garbage-at", choices=("greeting", "ehlo", "mail"), default="mail")
    p.add_argument("--idle-421", action="store_true",
                   help="idle-close: say 421 before closing, as Postfix does")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    args = p.parse_args()
    if args.scenario == "starttls-inject" and not (args.tls_cert and args.tls_key):
        p.error("starttls-inject needs --tls-cert and --tls-key")

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    ls = socket.socket(family, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((args.host, args.port))
    ls.listen(16)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: os._exit(0))
    if args.pidfile:
        tmp = args.pidfile + ".tmp"
        with open(tmp, "w", encoding="ascii") as f:
            f.write("%d\n" % os.getpid())
        os.rename(tmp, args.pidfile)
    log("listening on %s:%d scenario %s" % (args.host, args.port, args.scenario))
    n = 0
    while True:
        sock, peer = ls.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        n += 1
        threading.Thread(target=handle, args=(sock, peer, n, args), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
