# pam_module/: the thin PAM client. Links libc, libpam and the libc-only
# protocol code; exports only pam_sm_*.
pam_LTLIBRARIES += pam_module/pam_mailotp.la

pam_module_pam_mailotp_la_SOURCES = \
	pam_module/pam_mailotp.c \
	pam_module/client.c pam_module/client.h
pam_module_pam_mailotp_la_CFLAGS = $(AM_CFLAGS) $(PAM_CFLAGS)
pam_module_pam_mailotp_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared \
	-export-symbols-regex '^pam_sm_' -Wl,--no-undefined
pam_module_pam_mailotp_la_LIBADD = lib/libmailotp_proto.la $(PAM_LIBS)

# The installed module must not be a libtool archive: drop the .la.
install-data-hook:
	rm -f $(DESTDIR)$(pamdir)/pam_mailotp.la

# ... and so libtool cannot uninstall it: do it here.
uninstall-hook:
	rm -f $(DESTDIR)$(pamdir)/pam_mailotp.so
