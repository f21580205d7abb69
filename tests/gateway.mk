# Web gateway end to end (tests/gateway_e2e.sh): Debian's Apache httpd
# with mod_authnz_pam and mod_authn_socache over HTTPS on random loopback
# ports, examples/apache/mailotp-gateway.conf included unchanged, its
# workers running PAM as www-data in a private mount namespace whose
# /etc/pam.d holds examples/pam.d/mailotp-web; curl as the browser.  Needs
# root, apache2, libapache2-mod-authnz-pam, curl, openssl and unshare;
# skipped with the reason without them.
TESTS += tests/gateway_e2e.sh
dist_check_SCRIPTS += tests/gateway_e2e.sh
