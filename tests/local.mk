# tests/: unit tests (cmocka, TAP output) and integration tests on the
# real test-bed (slapd, SMTP sink, mailotpd, PAM through pam_wrapper).
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
AM_TESTS_ENVIRONMENT = \
	CMOCKA_MESSAGE_OUTPUT=TAP; export CMOCKA_MESSAGE_OUTPUT; \
	top_srcdir='$(abs_top_srcdir)'; export top_srcdir; \
	top_builddir='$(abs_top_builddir)'; export top_builddir;

UNIT_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(SODIUM_CFLAGS) $(LDAP_CFLAGS) $(GNUTLS_CFLAGS)
UNIT_LDADD = lib/libmailotp.la $(CMOCKA_LIBS)

if HAVE_CMOCKA
unit_tests = \
	tests/unit/test_config \
	tests/unit/test_escape \
	tests/unit/test_otp \
	tests/unit/test_pending \
	tests/unit/test_proto \
	tests/unit/test_message \
	tests/unit/test_template \
	tests/unit/test_i18n \
	tests/unit/test_policy \
	tests/unit/test_pwhash \
	tests/unit/test_http_pool \
	tests/unit/test_sd \
	tests/unit/test_smtp
check_PROGRAMS += $(unit_tests)
TESTS += $(unit_tests)
endif

tests_unit_test_config_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_config_LDADD = $(UNIT_LDADD)
tests_unit_test_escape_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_escape_LDADD = $(UNIT_LDADD)
tests_unit_test_otp_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_otp_LDADD = $(UNIT_LDADD)
tests_unit_test_pending_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_pending_LDADD = $(UNIT_LDADD)
tests_unit_test_proto_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_proto_LDADD = $(UNIT_LDADD)
tests_unit_test_message_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_message_LDADD = $(UNIT_LDADD)
tests_unit_test_template_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_template_LDADD = $(UNIT_LDADD)
tests_unit_test_i18n_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_i18n_LDADD = $(UNIT_LDADD)
tests_unit_test_policy_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_policy_LDADD = $(UNIT_LDADD)
tests_unit_test_pwhash_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_pwhash_LDADD = $(UNIT_LDADD)
tests_unit_test_smtp_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_smtp_LDADD = $(UNIT_LDADD)
tests_unit_test_http_pool_SOURCES = tests/unit/test_http_pool.c resetd/http_pool.c \
	resetd/http_pool.h
tests_unit_test_http_pool_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/resetd
tests_unit_test_http_pool_LDADD = $(UNIT_LDADD)
tests_unit_test_sd_SOURCES = tests/unit/test_sd.c resetd/sd.c resetd/sd.h
tests_unit_test_sd_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/resetd
tests_unit_test_sd_LDADD = $(UNIT_LDADD)

# Integration tests live in tests/integration.mk (the test-bed and the
# scripts that use it).
include tests/integration.mk
include tests/bench/bench.mk
include tests/web.mk
include tests/ssh.mk
include tests/gateway.mk
include tests/ha.mk
include tests/hostile.mk
include tests/fuzz/fuzz.mk
include tests/sudo.mk
