# docs/: the man pages (installed into man5/man8 by their suffix) and the
# administrator's guide (distributed only).
dist_man_MANS += \
	docs/pam_mailotp.8 \
	docs/mailotpd.8 \
	docs/mailotp.conf.5

EXTRA_DIST += docs/admin-guide.md
