#!/usr/bin/python3
"""SMTP sink for the mailotp test-bed (aiosmtpd, Debian's /usr/bin/python3).

  smtp_sink.py --port PORT --maildir DIR [--mode MODE] [--mode-file FILE]
               [--pidfile FILE] [--host 127.0.0.1]

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
"""
import argparse
import asyncio
import os
import re
import signal
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

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


class Handler:
    def __init__(self, state):
        self.state = state

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
    args = p.parse_args()
    os.makedirs(args.maildir, exist_ok=True)

    state = State(args)
    controller = SinkController(Handler(state), state, hostname=args.host,
                                port=args.port, server_hostname="sink.test",
                                data_size_limit=10 * 1024 * 1024)
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
    log("listening on %s:%d mode %s" % (args.host, args.port, state.mode()))
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
