#!/usr/bin/python3
"""SMTP sink for the mailotp test-bed (aiosmtpd, Debian's /usr/bin/python3).

  smtp_sink.py --port PORT --maildir DIR [--mode MODE] [--mode-file FILE]
               [--pidfile FILE] [--host 127.0.0.1] [--no-pipelining]
               [--tls-cert FILE --tls-key FILE [--implicit-tls | --require-starttls]]
               [--auth-user USER --auth-password-file FILE [--auth-plaintext]]

Modes:
  accept       every message is stored in DIR as NNNNNNNNNNNNNNNNNNNN-PID.eml
               (sortable by arrival), written to a temporary name and renamed
               so readers never see half a message.  The envelope is kept in
               prepended X-Sink-MailFrom / X-Sink-RcptTo / X-Sink-Peer headers.
  refuse_rcpt  550 to every RCPT TO        (libcurl reports error 55)
  refuse_data  554 after DATA              (libcurl reports error 8)
  tempfail     451 to every RCPT TO        (a greylisting/overloaded server)
  tarpit       accepts the TCP connection but waits 120 s before the greeting

If --mode-file names a file, its content (one mode word) overrides --mode and
is re-read for every connection and command, so a test can switch modes
without restarting the sink or changing its port.  Runs until SIGTERM/SIGINT.
The pid file is written once the sink accepts connections.

Extensions (the EHLO reply, TLS, AUTH):
  PIPELINING (RFC 2920) is advertised in the EHLO reply, as real MTAs do
  (aiosmtpd reads pipelined commands correctly); --no-pipelining drops it.
  --tls-cert/--tls-key (PEM) offer STARTTLS; with --require-starttls every
  command but EHLO/NOOP/QUIT/STARTTLS is refused until TLS is up.  With
  --implicit-tls the connection is TLS from the first byte (smtps) instead.
  --auth-user/--auth-password-file require AUTH (PLAIN or LOGIN) before
  MAIL (530 otherwise).  AUTH is offered over TLS only (after STARTTLS, or
  on an --implicit-tls connection); --auth-plaintext offers it on plain
  connections too.

Log lines (stderr), besides the ones above:
  connection from HOST:PORT      one per TCP connection accepted (for
                                 --implicit-tls: once the handshake is done)
  ehlo NAME tls=yes|no           one per EHLO
  auth ok user=U mech=M tls=yes|no / auth failed user=U mech=M tls=yes|no
                                 one per AUTH whose credentials were checked
                                 (the password is never logged)
  mail from=ADDR tls=yes|no auth=yes|no
                                 one per MAIL FROM the sink accepted
"""
import argparse
import asyncio
import hmac
import logging
import os
import re
import signal
import ssl
import sys
import threading
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult

MODES = ("accept", "refuse_rcpt", "refuse_data", "tempfail", "tarpit")
TARPIT_SECONDS = 120
NAME_RE = re.compile(r"^(\d{20})-\d+\.eml$")


def log(msg):
    print("smtp_sink: " + msg, file=sys.stderr, flush=True)


class State:
    def __init__(self, args):
        self.default_mode = args.mode
        self.mode_file = args.mode_file
        self.maildir = args.maildir
        self.ready = False  # the Controller's own start-up probe is never tarpitted
        self.lock = threading.Lock()
        self.counter = 0
        for name in os.listdir(self.maildir):
            m = NAME_RE.match(name)
            if m:
                self.counter = max(self.counter, int(m.group(1)))

    def mode(self):
        if self.mode_file:
            try:
                with open(self.mode_file, encoding="ascii") as f:
                    word = f.read().strip()
                if word in MODES:
                    return word
                if word:
                    log("ignoring unknown mode %r in %s" % (word, self.mode_file))
            except FileNotFoundError:
                pass
        return self.default_mode

    def store(self, data):
        with self.lock:
            self.counter += 1
            n = self.counter
        name = "%020d-%d.eml" % (n, os.getpid())
        tmp = os.path.join(self.maildir, ".tmp-" + name)
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(self.maildir, name))
        return name


def header_safe(s):
    return re.sub(r"[\r\n]", " ", s)


def log_safe(s, limit=200):
    """Client-supplied text for a log line: printable ASCII, bounded."""
    if isinstance(s, bytes):
        s = s.decode("utf-8", "replace")
    return re.sub(r"[^\x21-\x7e]", "?", s)[:limit]


def is_tls(server):
    transport = getattr(server, "transport", None)
    return transport is not None and transport.get_extra_info("ssl_object") is not None


def yes_no(flag):
    return "yes" if flag else "no"


class Authenticator:
    """aiosmtpd authenticator: one user, its password from a file."""

    def __init__(self, user, password):
        self.user = user.encode("utf-8")
        self.password = password.encode("utf-8")

    def __call__(self, server, session, envelope, mechanism, auth_data):
        login = getattr(auth_data, "login", b"") or b""
        password = getattr(auth_data, "password", b"") or b""
        # both compared, in constant time, whatever the first one gave
        ok_user = hmac.compare_digest(login, self.user)
        ok_password = hmac.compare_digest(password, self.password)
        ok = ok_user and ok_password
        log("auth %s user=%s mech=%s tls=%s" % ("ok" if ok else "failed", log_safe(login),
                                                log_safe(mechanism), yes_no(is_tls(server))))
        if ok:
            return AuthResult(success=True, auth_data=auth_data)
        # handled=False: smtp_AUTH answers 535 (with the default, handled=True,
        # it would answer nothing and the client would wait)
        return AuthResult(success=False, handled=False)


class Handler:
    def __init__(self, state, pipelining=True):
        self.state = state
        self.pipelining = pipelining

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # the new-style hook replaces aiosmtpd's own bookkeeping: keep it
        session.host_name = hostname
        log("ehlo %s tls=%s" % (log_safe(hostname), yes_no(is_tls(server))))
        if self.pipelining:
            # before the last line ("250 HELP"), which has no dash
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        # what aiosmtpd does without the hook, plus the log line
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        log("mail from=%s tls=%s auth=%s" % (log_safe(address), yes_no(is_tls(server)),
                                             yes_no(session.authenticated)))
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        mode = self.state.mode()
        if mode == "refuse_rcpt":
            log("refuse_rcpt %s" % address)
            return "550 5.1.1 <%s>: recipient refused (test-bed)" % address
        if mode == "tempfail":
            log("tempfail %s" % address)
            return "451 4.3.0 <%s>: try again later (test-bed)" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        mode = self.state.mode()
        if mode == "refuse_data":
            log("refuse_data from=%s rcpt=%s" % (envelope.mail_from,
                                                 ",".join(envelope.rcpt_tos)))
            return "554 5.6.0 message refused (test-bed)"
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        prefix = ("X-Sink-MailFrom: %s\r\nX-Sink-RcptTo: %s\r\nX-Sink-Peer: %s\r\n"
                  % (header_safe(envelope.mail_from or ""),
                     header_safe(", ".join(envelope.rcpt_tos)),
                     header_safe(peer))).encode("utf-8")
        name = self.state.store(prefix + content)
        log("accept from=%s rcpt=%s file=%s" % (envelope.mail_from,
                                                ",".join(envelope.rcpt_tos), name))
        return "250 2.0.0 OK queued as %s" % name


class SinkSMTP(SMTP):
    def __init__(self, handler, state, **kwargs):
        super().__init__(handler, **kwargs)
        self.sink_state = state

    async def _handle_client(self):
        if self.sink_state.ready and self.sink_state.mode() == "tarpit":
            log("tarpit connection from %r" % (self.session.peer,))
            await asyncio.sleep(TARPIT_SECONDS)
        return await super()._handle_client()

    def connection_made(self, transport):
        # Called a second time, on the TLS transport, after STARTTLS: one
        # line per TCP connection. The Controller's own start-up probe
        # (before ready) is not counted.
        if self._original_transport is None and self.sink_state.ready:
            peer = transport.get_extra_info("peername")
            if isinstance(peer, tuple) and len(peer) >= 2:
                host = peer[0]
                peer_s = ("[%s]:%d" if ":" in host else "%s:%d") % (host, peer[1])
            else:
                peer_s = str(peer)
            log("connection from %s" % peer_s)
        super().connection_made(transport)

    def connection_lost(self, error):
        # A client that gave recipients and went away before its message
        # was complete: nothing was stored. Said in the log, so that tests
        # can tell a withheld message from one never started.
        env = getattr(self, "envelope", None)
        if env is not None and env.rcpt_tos:
            log("connection lost before the message was complete from=%s rcpt=%s: nothing stored"
                % (header_safe(env.mail_from or ""),
                   header_safe(",".join(env.rcpt_tos))))
        super().connection_lost(error)


class SinkController(Controller):
    def __init__(self, handler, state, **kwargs):
        super().__init__(handler, **kwargs)
        self.sink_state = state

    def factory(self):
        return SinkSMTP(self.handler, self.sink_state, **self.SMTP_kwargs)


def main():
    p = argparse.ArgumentParser(description="SMTP sink for the mailotp test-bed")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--maildir", required=True)
    p.add_argument("--mode", choices=MODES, default="accept")
    p.add_argument("--mode-file")
    p.add_argument("--pidfile")
    p.add_argument("--no-pipelining", action="store_true",
                   help="do not advertise PIPELINING in the EHLO reply")
    p.add_argument("--tls-cert", help="PEM certificate (chain): offer STARTTLS")
    p.add_argument("--tls-key", help="PEM private key of --tls-cert")
    p.add_argument("--implicit-tls", action="store_true",
                   help="TLS from the first byte (smtps) instead of STARTTLS")
    p.add_argument("--require-starttls", action="store_true",
                   help="refuse MAIL and the rest until STARTTLS is done")
    p.add_argument("--auth-user", help="require AUTH PLAIN/LOGIN as this user")
    p.add_argument("--auth-password-file", help="the password of --auth-user")
    p.add_argument("--auth-plaintext", action="store_true",
                   help="offer AUTH on connections without TLS too")
    args = p.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if (args.implicit_tls or args.require_starttls) and not args.tls_cert:
        p.error("--implicit-tls and --require-starttls need --tls-cert/--tls-key")
    if args.implicit_tls and args.require_starttls:
        p.error("--implicit-tls and --require-starttls exclude each other")
    if bool(args.auth_user) != bool(args.auth_password_file):
        p.error("--auth-user and --auth-password-file go together")
    os.makedirs(args.maildir, exist_ok=True)

    kwargs = {}
    ssl_context = None
    if args.tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.implicit_tls:
            ssl_context = ctx
        else:
            kwargs["tls_context"] = ctx
            kwargs["require_starttls"] = args.require_starttls
    if args.auth_user:
        with open(args.auth_password_file, encoding="utf-8") as f:
            password = f.read()
        if password.endswith("\n"):
            password = password[:-1]
        kwargs["auth_required"] = True
        kwargs["authenticator"] = Authenticator(args.auth_user, password)
        # aiosmtpd only knows STARTTLS as "TLS": an implicit-TLS connection
        # is encrypted all along, so AUTH is offered there from the start
        kwargs["auth_require_tls"] = not (args.auth_plaintext or args.implicit_tls)
        # aiosmtpd warns about AUTH without TLS; here it is on purpose
        warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
        logging.getLogger("mail.log").setLevel(logging.ERROR)

    state = State(args)
    controller = SinkController(Handler(state, pipelining=not args.no_pipelining), state,
                                hostname=args.host, port=args.port,
                                server_hostname="sink.test",
                                data_size_limit=10 * 1024 * 1024,
                                ssl_context=ssl_context, **kwargs)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    controller.start()
    state.ready = True
    if args.pidfile:
        tmp = args.pidfile + ".tmp"
        with open(tmp, "w", encoding="ascii") as f:
            f.write("%d\n" % os.getpid())
        os.rename(tmp, args.pidfile)
    log("listening on %s:%d mode %s%s%s%s" % (
        args.host, args.port, state.mode(),
        " pipelining=no" if args.no_pipelining else "",
        (" tls=implicit" if args.implicit_tls else " tls=starttls") if args.tls_cert else "",
        " auth=%s" % log_safe(args.auth_user) if args.auth_user else ""))
    while not stop.wait(3600):
        pass
    controller.stop()
    if args.pidfile:
        try:
            os.unlink(args.pidfile)
        except FileNotFoundError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
