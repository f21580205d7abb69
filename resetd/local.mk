# resetd/: the daemon mailotpd (and later mailotpctl), thin shells over lib/.
sbin_PROGRAMS += resetd/mailotpd

resetd_mailotpd_SOURCES = \
	resetd/mailotpd.c \
	resetd/ctx.c resetd/ctx.h \
	resetd/pam_server.c resetd/pam_server.h \
	resetd/jobs.c resetd/jobs.h \
	resetd/sd.c resetd/sd.h
resetd_mailotpd_CFLAGS = $(AM_CFLAGS) $(SODIUM_CFLAGS) $(LDAP_CFLAGS) $(GNUTLS_CFLAGS) -fPIE
resetd_mailotpd_LDFLAGS = $(AM_LDFLAGS) -pie
resetd_mailotpd_LDADD = lib/libmailotp.la
include resetd/ctl.mk
include resetd/http.mk
