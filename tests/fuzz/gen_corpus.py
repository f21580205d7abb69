#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/<target>/: a handful of
small valid inputs per target (run once; the output is committed).

    python3 tests/fuzz/gen_corpus.py

Each seed is named after what it is. Re-running rewrites the same files.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- protocol frames (include/mailotp/protocol.h)
def field(tag, val):
    if isinstance(val, str):
        val = val.encode()
    return struct.pack(">HH", tag, len(val)) + val


def u32(tag, v):
    return field(tag, struct.pack(">I", v))


def frame(mtype, *fields):
    payload = b"".join(fields)
    return b"MOTP" + struct.pack(">BBHI", 1, mtype, 0, len(payload)) + payload


USER, PASSWORD, SERVICE, RHOST, RUSER, TTY, FLAGS, CODE = 1, 2, 3, 4, 5, 6, 7, 8
STATUS, INFO, ERROR, PROMPT, REMAINING, ANSWER, OLD_PW, NEW_PW = 9, 10, 11, 12, 13, 14, 15, 16

frames = {
    "auth_begin": frame(1, field(USER, "alice"), field(PASSWORD, "S3cret!pass"),
                        field(SERVICE, "sshd"), field(RHOST, "192.0.2.7"),
                        field(RUSER, "alice"), field(TTY, "ssh"), u32(FLAGS, 0x8)),
    "auth_begin_otp_only": frame(1, field(USER, "hanako"), field(SERVICE, "login"),
                                 u32(FLAGS, 0x9)),
    "auth_code": frame(2, field(CODE, "123456")),
    "acct": frame(3, field(USER, "bob"), field(SERVICE, "sshd"), u32(FLAGS, 0)),
    "consent": frame(4, field(ANSWER, "yes")),
    "chauthtok": frame(5, field(USER, "carol"), field(SERVICE, "passwd"),
                       field(OLD_PW, "old-Pass-1"), field(NEW_PW, "N3w-Pass-word"),
                       u32(FLAGS, 0)),
    "reply_auth_begin": frame(0x81, u32(STATUS, 0), field(INFO, "A code was sent to a***@example.org"),
                              field(PROMPT, "One-time code: ")),
    "reply_auth_code_retry": frame(0x82, u32(STATUS, 3), field(ERROR, "Wrong code."),
                                   field(PROMPT, "One-time code: "), u32(REMAINING, 2)),
    "reply_acct_consent_ja": frame(0x83, u32(STATUS, 9),
                                   field(INFO, "利用規約に同意してください。"),
                                   field(PROMPT, "同意しますか (yes/no): ")),
    "reply_chauthtok_err": frame(0x85, u32(STATUS, 8),
                                 field(ERROR, "Use at least 10 characters.")),
    "two_frames": frame(2, field(CODE, "000000")) + frame(0x82, u32(STATUS, 0)),
    "empty_payload": frame(0x84),
}
for name, data in frames.items():
    put("fuzz_proto_read", name, data)


def op(kind, tag, val):
    if isinstance(val, str):
        val = val.encode()
    return bytes([kind]) + struct.pack(">HH", tag, len(val)) + val


put("fuzz_proto_build", "auth_begin",
    bytes([1]) + op(1, USER, "alice") + op(1, PASSWORD, "pw") + op(1, SERVICE, "sshd")
    + op(2, FLAGS, b"\0\0\0\x08"))
put("fuzz_proto_build", "reply_ja", bytes([0x81]) + op(2, STATUS, b"\0\0\0\0")
    + op(1, INFO, "コードを送信しました") + op(0, PROMPT, "コード: "))
put("fuzz_proto_build", "big_field", bytes([3]) + bytes([0]) + struct.pack(">HH", 1, 0xffff))
put("fuzz_proto_build", "dup_tag", bytes([2]) + op(0, CODE, "1") + op(0, CODE, "2"))

# --- config (tests/testbed's tb_write_config shape, and examples/mailotp.conf)
tb = """# mailotp.conf written by tb_write_config
ldap_uri ldap://127.0.0.1:38901
ldap_base ou=people,dc=example,dc=org
ldap_bind_dn cn=mailotp,ou=services,dc=example,dc=org
ldap_bind_pw_file /tmp/tb.abc123/svc.pw
smtp_url smtp://127.0.0.1:38902
smtp_starttls no
mail_from mailotp@example.org
user root
pam_socket /tmp/tb.abc123/pam.sock
reset_listen none
template_dir /usr/share/mailotp/templates
otp_resend_interval 0
"""
put("fuzz_config", "testbed", tb)
put("fuzz_config", "testbed_crlf", tb.replace("\n", "\r\n"))
put("fuzz_config", "testbed_reset", tb.replace(
    "reset_listen none\n",
    "reset_listen 127.0.0.1:8080\nreset_public_url https://account.example.org/mailotp\n"
    "reset_mode temporary\nreset_request_fields realm,user,email\nreset_realm_attr o\n"
    "reset_trusted_proxies 127.0.0.1 ::1\n"))
put("fuzz_config", "testbed_full", tb + """otp_digits 8
otp_ttl 600
otp_max_attempts 5
otp_lockout_failures 20
otp_lockout_time 1800
ldap_starttls yes
ldap_timeout 10
ldap_user_filter (&(objectClass=inetOrgPerson)(|(uid=%u)(mail=%u)))
ldap_mail_attr mail
ldap_notify_attr mailotpNotifyMail
ldap_name_attr displayName
ldap_lang_attr preferredLanguage
smtp_user mailotp
smtp_password_file /etc/mailotp/smtp.pw
smtp_timeout 30
pam_allow root @www-data 0
pam_max_clients 128
password_min_length 12
password_min_classes 2
password_hash_opslimit 3
password_hash_memlimit 65536
language ja
reset_ttl 7200
invite_ttl 86400
""")
with open(os.path.join(TOP, "examples", "mailotp.conf"), "rb") as f:
    put("fuzz_config", "examples_mailotp_conf", f.read())

# --- secrets
put("fuzz_secret", "password_nl", "s3cret-bind-pw\n")
put("fuzz_secret", "password", "s3cret")
put("fuzz_secret", "ja", "秘密のパスワード\n")

# --- escape: byte 0 = log size / template flag
put("fuzz_escape", "plain", b"\x20alice")
put("fuzz_escape", "specials", b"\x10st*r(pa)ren\\o,brien#\"+;<> ")
put("fuzz_escape", "ja", "\x30山田 花子".encode())
put("fuzz_escape", "controls", b"\x05a\r\nb\x00c\x7f\xc2\x85\xe2\x80\xa8")
put("fuzz_escape", "template", b"\x84(&(uid=%u)(|(mail=%u)(cn=100%%)))\x00bob*")
put("fuzz_escape", "invalid_utf8", b"\x02\xff\xc0\xaf\xed\xa0\x80ok")

# --- header / addr / message
put("fuzz_header", "ascii", b"\x00Your one-time code")
put("fuzz_header", "ja", "\x00ワンタイムパスワードのお知らせ".encode())
put("fuzz_header", "ja_long", ("\x00" + "パスワード再設定のご案内（山田 花子 様）" * 4).encode())
put("fuzz_header", "injection", "\x00お知らせ\r\nBcc: x@evil.org\x85z".encode())
put("fuzz_header", "long_name", "\xa0ユーザー登録".encode())
put("fuzz_header", "emoji", "\x00Code 🔑 for 山田".encode())

for name, a in {"plain": "alice@example.org", "sub": "no-reply@mail.sub.example.co.jp",
                "plus": "a.b+tag@example.org", "bad_space": "a b@example.org",
                "bad_two_at": "a@b@example.org", "bad_crlf": "a@example.org\r\nRCPT TO:<x@y>",
                "bad_label": "a@-.example..org"}.items():
    put("fuzz_addr", name, a)

t0 = struct.pack(">q", 1700000000)
put("fuzz_message", "ascii", t0 + b"mailotp@example.org\0Your code\0Code: 123456\nBye\n\0alice@example.org")
put("fuzz_message", "ja", t0 + "mailotp@example.org\0ワンタイムパスワード\0山田 花子 様\r\n\r\n123456\r\n\0hanako@example.org\0proxy-alice@example.org".encode())
put("fuzz_message", "cr_only", t0 + b"a@b.c\0s\0line1\rline2\r\0x@y.z\0p@q.r\0s@t.u\0v@w.x")

# --- templates: the ten example files, one input
secs = []
for lang in ("en", "ja"):
    for name in ("otp", "reset_link", "reset_temporary", "invite", "password_changed"):
        with open(os.path.join(TOP, "examples", "templates", lang, name + ".txt"), "rb") as f:
            secs.append(f.read())
vals = "\x1f".join(["123456", "5", "alice", "Alice Example", "sshd", "192.0.2.7",
                    "https://account.example.org/mailotp/reset?t=abc", "Tmp-Pass-1", "24",
                    "2025-01-01 00:00 UTC"]).encode()
put("fuzz_template", "examples_en_otp", b"\n@@\n".join(secs) + b"\n@@\n" + bytes([0]) + vals)
put("fuzz_template", "examples_ja_reset", b"\n@@\n".join(secs) + b"\n@@\n" + bytes([1 + 5]) + vals)
put("fuzz_template", "examples_ja_values",
    b"\n@@\n".join(secs) + b"\n@@\n" + bytes([1 + 10])
    + "\x1f".join(["987654", "10", "hanako", "山田\r\n花子", "login", "host\x00x",
                   "https://x/reset", "Pass\nword", "72", "\x1b[31m"]).encode())
put("fuzz_template", "defaults_only", b"")
put("fuzz_template", "one_file", secs[0])

# --- policy: [min_len|deny flag][classes|explain size] pw \0 [deny \0] lang \0 personal...
put("fuzz_policy", "good", b"\x02\x7e" + b"Correct-Horse-9\0en\0alice\0alice@example.org")
put("fuzz_policy", "ja", b"\x02\xfe" + "山田花子のパスワード2024\0ja\0hanako\0山田 花子".encode())
put("fuzz_policy", "fullwidth", b"\x02\x42" + "ｐａｓｓｗｏｒｄ２０２４！\0ja-JP\0".encode())
put("fuzz_policy", "denylist", b"\x42\x7e" + b"Tr0ub4dor&3\0hunter2\r\nTr0ub4dor&3\n  \n#x\n\0en\0bob")
put("fuzz_policy", "invalid", b"\x02\x0e" + b"pa\x01ss\xff\0en\0")

# --- token
put("fuzz_token", "token", b"\x00" + b"AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde")
put("fuzz_token", "token_bad", b"\x00" + b"AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/abcde")
put("fuzz_token", "info_reset", b"\x01reset 20250101120000Z")
put("fuzz_token", "info_invite", b"\x01invite 20991231235959.5Z")

# --- form bodies
put("fuzz_form", "request", "csrf=abc.def&email=alice%40example.org&email_confirm=alice%40example.org")
put("fuzz_form", "request_realm", "csrf=x&realm=%E6%9C%AC%E7%A4%BE&user=st*r&email=star%40example.org")
put("fuzz_form", "reset", "csrf=x&token=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde"
    "&password=N3w-Pass-word&password_confirm=N3w-Pass-word")
put("fuzz_form", "ja_password", "csrf=x&password=" + "".join("%%%02X" % b for b in "山田花子のパスワード2024".encode()))
put("fuzz_form", "injection", "email=a%40b.c%0D%0ABcc%3A+x%40y.z&user=%29%28uid%3D*&user=dup&x=%00&password=a%ZZ")

# --- SMTP server dialogues (fuzz_smtp_server): byte 0 = settings (see the
# target's comment: 0x01 AUTH, 0x02 STARTTLS auto, 0x04 gate says no,
# 0x08 two recipients, 0x10 tick, 0x20 small err, 0x40 no gate, 0xc0 probe,
# 0x80 alone: no pacing), then everything the server says.
GREET = "220 mail.example.org ESMTP Postfix (Debian/GNU)\r\n"
EHLO_PIPE = ("250-mail.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
             "250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 CHUNKING\r\n")
EHLO_PLAIN = "250-mail.example.org Hello\r\n250-SIZE 35882577\r\n250 HELP\r\n"
EHLO_AUTH = ("250-mail.example.org\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN\r\n"
             "250-AUTH=PLAIN LOGIN\r\n250 8BITMIME\r\n")
EHLO_TLS = "250-mail.example.org\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 SMTPUTF8\r\n"
OK_MAIL = "250 2.1.0 Ok\r\n"
OK_RCPT = "250 2.1.5 Ok\r\n"
GO = "354 End data with <CR><LF>.<CR><LF>\r\n"
QUEUED = "250 2.0.0 Ok: queued as 4Xyz1abcde\r\n"


def smtp(name, flags, *parts):
    put("fuzz_smtp_server", name, b"".join([bytes([flags])] + [
        p if isinstance(p, bytes) else p.encode("latin-1") for p in parts]))


# A TLS 1.2 server's first flight (ServerHello, a self-signed certificate for
# mail.example.org whose key was thrown away, ServerKeyExchange, ServerHelloDone),
# recorded once: the client's handshake gets as far as checking the certificate.
TLS12_FLIGHT = bytes.fromhex(
    "160303005d020000590303296049a4cde4314758023bbb95bcdde057a14140b134ac56a0"
    "66ef5dc2c8fde42055c00aaead0dc7df6de4a636fa9a2f6c75e8b167be7c0494d7218060"
    "2d0f4f82c02c000011ff01000100000b00040300010200170000160303019b0b00019700"
    "01940001913082018d30820133a0030201020214518b8ec11861fbf250839f8da17ae5a4"
    "8bf13c8b300a06082a8648ce3d040302301b3119301706035504030c106d61696c2e6578"
    "616d706c652e6f72673020170d3236313132323232353935395a180f3231323631303239"
    "3232353935395a301b3119301706035504030c106d61696c2e6578616d706c652e6f7267"
    "3059301306072a8648ce3d020106082a8648ce3d030107034200042f187d57d7ca8f3c4b"
    "fa31d9f4edf27738ea86b7b0af50304216885e354631a7f70fd985d041ae9d089aae4f8a"
    "7b1b785bd5c3dcbdb1c13c1bbdac3146de84e1a3533051301d0603551d0e0416041412be"
    "acf39f6bcda6316b4ac3baee1e06265b5f5e301f0603551d2304183016801412beacf39f"
    "6bcda6316b4ac3baee1e06265b5f5e300f0603551d130101ff040530030101ff300a0608"
    "2a8648ce3d0403020348003045022100d5533eae9a572749e222ba078346966a1928b9bd"
    "e53fa24f89436451824140fb022024a0e2e0f79e011be6a804fb777af3aeb56080550506"
    "6f00e1dc86b8bb66857a16030300730c00006f03001d203c992f203f8005b1a757f8eeea"
    "b9bae9d80740882855b533b557ecac5626e146040300473045022100e6d2e0fffb174e0b"
    "2d72e82552e42ca3bdeceee3c91f91417446f9dbdd1f8b5a022025d5a8b5bb8554386b85"
    "40a5d952d66f7f98e1aca49cc2938e8866fadc59690a16030300040e000000"
)


smtp("plain", 0x00, GREET, EHLO_PLAIN, OK_MAIL, OK_RCPT, GO, QUEUED, "221 2.0.0 Bye\r\n")
smtp("pipelining_two_rcpt", 0x08, GREET, EHLO_PIPE, OK_MAIL, OK_RCPT, OK_RCPT, GO, QUEUED)
smtp("auth_plain", 0x01, GREET, EHLO_AUTH, "235 2.7.0 Authentication successful\r\n",
     OK_MAIL, OK_RCPT, GO, QUEUED)
smtp("auth_login", 0x01, GREET, "250-mail.example.org\r\n250 AUTH=LOGIN\r\n",
     "334 VXNlcm5hbWU6\r\n", "334 UGFzc3dvcmQ6\r\n", "235 2.7.0 Accepted\r\n",
     OK_MAIL, OK_RCPT, GO, QUEUED)
smtp("auth_refused", 0x01, GREET, EHLO_AUTH,
     "535 5.7.8 Error: authentication failed: bad credentials\r\n")
smtp("auth_not_offered", 0x01, GREET, EHLO_PIPE, OK_MAIL, OK_RCPT, GO, QUEUED)
smtp("starttls_garbage", 0x02, GREET, EHLO_TLS, "220 2.0.0 Ready to start TLS\r\n",
     "HTTP/1.1 400 Bad Request\r\n\r\n")
smtp("starttls_alert", 0x03, GREET, EHLO_TLS, "220 2.0.0 Ready to start TLS\r\n",
     "\x15\x03\x03\x00\x02\x02\x28")
smtp("starttls_untrusted_cert", 0x02, GREET, EHLO_TLS, "220 2.0.0 Ready to start TLS\r\n",
     TLS12_FLIGHT)
smtp("starttls_injection", 0x82, GREET, EHLO_TLS, "220 2.0.0 Ready to start TLS\r\n",
     "250-injected\r\n250 AUTH PLAIN\r\n")
smtp("starttls_not_offered", 0x02, GREET, EHLO_PIPE, OK_MAIL, OK_RCPT, GO, QUEUED)
smtp("starttls_refused", 0x02, GREET, EHLO_TLS, "454 4.7.0 TLS not available\r\n",
     OK_MAIL, OK_RCPT, GO, QUEUED)
smtp("gate_no", 0x04, GREET, EHLO_PIPE, OK_MAIL, OK_RCPT, GO, QUEUED)
smtp("gate_no_tick", 0x1c, GREET, EHLO_PLAIN, OK_MAIL, OK_RCPT, OK_RCPT, GO, QUEUED)
smtp("no_gate_small_err", 0x60, GREET, EHLO_PIPE, OK_MAIL, OK_RCPT,
     "554 5.5.1 Error: no valid recipients\r\n")
smtp("rcpt_550_pipelined", 0x08, GREET, EHLO_PIPE, OK_MAIL,
     "550 5.1.1 <alice@example.org>: Recipient address rejected: User unknown\r\n",
     OK_RCPT, GO, QUEUED)
smtp("mail_451", 0x00, GREET, EHLO_PLAIN,
     "451 4.3.0 <mailotp@example.org>: Temporary lookup failure\r\n")
smtp("multiline_replies", 0x08, GREET.replace("220 ", "220-") + "220-second line\r\n220 ready\r\n",
     EHLO_PLAIN, "250-2.1.0 Sender\r\n250 2.1.0 ok\r\n", OK_RCPT,
     "250-first\r\n250-second\r\n250 third\r\n", "354-go\r\n354 ahead\r\n",
     "250-2.0.0 Ok\r\n250 2.0.0 queued\r\n")
smtp("message_554", 0x00, GREET, EHLO_PIPE, OK_MAIL, OK_RCPT, GO,
     "554-5.7.1 Message rejected\r\n554 5.7.1 see https://example.org/policy\r\n")
smtp("overlong_line", 0x00, GREET, "250-" + "x" * 2000 + "\r\n250 PIPELINING\r\n",
     OK_MAIL, OK_RCPT, GO, QUEUED)
smtp("greeting_421", 0x00, "421 4.3.2 mail.example.org Service not available, closing\r\n")
smtp("421_after_mail", 0x00, GREET, EHLO_PLAIN,
     "421 4.4.2 mail.example.org Error: timeout exceeded\r\n")
smtp("helo_fallback", 0x00, GREET, "502 5.5.2 Error: command not recognized\r\n",
     "250 mail.example.org\r\n", OK_MAIL, OK_RCPT, GO, QUEUED)
smtp("bare_lf_binary", 0x08, "220 x\n250-x\n250 PIPELINING\n250 a\n250 b\n250 c\n354 d\n"
     "\x00\xff\x1b[31m250 e\n")
smtp("probe", 0xc0, GREET, EHLO_PIPE, "250 2.0.0 Ok\r\n", "221 2.0.0 Bye\r\n")
smtp("probe_starttls", 0xc2, GREET, EHLO_TLS, "220 2.0.0 Ready to start TLS\r\n", "\x16\x03")

print("corpus written to", CORPUS)
