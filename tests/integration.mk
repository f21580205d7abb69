# Integration tests on the real test-bed: slapd, the SMTP sink, mailotpd
# and PAM through pam_wrapper (tests/testbed/testbed.sh, tests/pam_env.sh).
if HAVE_PAMTEST
check_PROGRAMS += tests/pam_driver
tests_pam_driver_CFLAGS = $(AM_CFLAGS) $(PAMTEST_CFLAGS) $(PAM_CFLAGS)
tests_pam_driver_LDADD = $(PAMTEST_LIBS) $(PAM_LIBS)

integration_tests = \
	tests/testbed_smoke.sh \
	tests/login_basic.sh \
	tests/login_inputs.sh \
	tests/login_codes.sh \
	tests/login_faults.sh \
	tests/login_combined.sh \
	tests/password.sh \
	tests/consent.sh \
	tests/reset_temporary.sh \
	tests/ppolicy.sh \
	tests/daemon.sh \
	tests/socket_activation.sh
TESTS += $(integration_tests)
dist_check_SCRIPTS += $(integration_tests)
endif

check_PROGRAMS += tests/dlopen_module
tests_dlopen_module_LDADD = -ldl
TESTS += tests/dlopen_module

# The SMTP client against the aiosmtpd sink (STARTTLS, smtps, AUTH, modes)
# and a scripted server (pipelining, malformed replies, injection): no
# pam_wrapper needed. tests/smtp_send drives lib/'s mailotp_smtp_send.
check_PROGRAMS += tests/smtp_send
tests_smtp_send_CFLAGS = $(AM_CFLAGS) $(SODIUM_CFLAGS) $(LDAP_CFLAGS) $(GNUTLS_CFLAGS)
tests_smtp_send_LDADD = lib/libmailotp.la
TESTS += tests/smtp_client.sh
dist_check_SCRIPTS += tests/smtp_client.sh

dist_check_DATA += tests/pam_env.sh \
	tests/testbed/testbed.sh tests/testbed/tap.sh tests/testbed/smtp_sink.py tests/testbed/smtp_script.py \
	tests/testbed/mailtool.py \
	tests/testbed/pwhash.py tests/testbed/data.ldif.in
