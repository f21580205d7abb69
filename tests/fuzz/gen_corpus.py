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
print("corpus written to", CORPUS)
