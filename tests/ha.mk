# Two directory servers in multi-provider replication (syncprov, serverID
# 1/2; tb_start_slapd_pair in tests/testbed/testbed.sh) and three mailotpd
# against them: a reset on one instance used at login on another, per-account
# limits across instances, replication lag and a partition, failover to the
# second ldap_uri and back.  Skipped when slapd's syncprov module is missing.
# Needs the test-bed of tests/integration.mk (pam_driver, pam_wrapper).
if HAVE_PAMTEST
TESTS += tests/ha.sh
dist_check_SCRIPTS += tests/ha.sh
endif
EXTRA_DIST += docs/ha.md
