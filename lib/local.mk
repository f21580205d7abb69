# lib/: shared code. Two convenience libraries:
#  - libmailotp_proto: the socket protocol and error strings; libc only, so
#    the PAM module can link it without pulling in any other library;
#  - libmailotp: everything the daemon and the CLI share.
noinst_LTLIBRARIES += lib/libmailotp_proto.la lib/libmailotp.la

lib_libmailotp_proto_la_SOURCES = \
	include/mailotp/error.h include/mailotp/protocol.h \
	lib/error.c lib/proto.c
lib_libmailotp_proto_la_CFLAGS = $(AM_CFLAGS) -fPIC

lib_libmailotp_la_SOURCES = \
	lib/config.c lib/config.h \
	lib/escape.c lib/escape.h \
	lib/otp.c lib/otp.h \
	lib/pending.c lib/pending.h \
	lib/log.c lib/log.h \
	lib/harden.c lib/harden.h \
	lib/message.c lib/message.h \
	lib/template.c lib/template.h \
	lib/mail.c lib/mail.h \
	lib/smtp.c lib/smtp.h \
	lib/netconn.c lib/netconn.h \
	lib/ldap_pool.c lib/ldap_pool.h \
	lib/account.c lib/account.h \
	lib/i18n.c lib/i18n.h \
	lib/timing.c lib/timing.h \
	lib/login.c lib/login.h \
	lib/token.c lib/token.h \
	lib/policy.c lib/policy.h \
	lib/pwhash.c lib/pwhash.h \
	lib/reset.c lib/reset.h \
	lib/chpass.c lib/chpass.h
lib_libmailotp_la_CFLAGS = $(AM_CFLAGS) $(SODIUM_CFLAGS) $(LDAP_CFLAGS) $(GNUTLS_CFLAGS)
lib_libmailotp_la_LIBADD = lib/libmailotp_proto.la $(SODIUM_LIBS) $(LDAP_LIBS) $(GNUTLS_LIBS) -lpthread
