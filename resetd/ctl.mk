# resetd/ctl.mk: mailotpctl, the administrator's command line (included
# from resetd/local.mk). It links the same lib/ as mailotpd, nothing more.
sbin_PROGRAMS += resetd/mailotpctl

resetd_mailotpctl_SOURCES = \
	resetd/mailotpctl.c resetd/ctl.h \
	resetd/ctl_account.c resetd/ctl_check.c \
	resetd/ctl_ldap.c resetd/ctl_ldap.h
resetd_mailotpctl_CFLAGS = $(AM_CFLAGS) $(SODIUM_CFLAGS) $(LDAP_CFLAGS) $(GNUTLS_CFLAGS) -fPIE
resetd_mailotpctl_LDFLAGS = $(AM_LDFLAGS) -pie
resetd_mailotpctl_LDADD = lib/libmailotp.la

dist_man_MANS += docs/mailotpctl.8

# Transcript tests on the test-bed (slapd and the SMTP sink); the script
# skips itself when they are not installed.
TESTS += tests/mailotpctl.sh
dist_check_SCRIPTS += tests/mailotpctl.sh
