# examples/: what is installed for the administrator to use or adapt.
#
#   $(pkgdatadir)/templates/{en,ja}/*.txt   mail templates (template_dir)
#   $(pkgdatadir)/ldap/                     the schema, both forms
#   $(sysconfdir)/mailotp/mailotp.conf.example
#   $(systemdsystemunitdir)/mailotpd.{service,socket}
#
# The PAM, sshd and Apache examples are only distributed: they replace
# files the administrator already has and must be merged by hand.

templatesendir = $(pkgdatadir)/templates/en
dist_templatesen_DATA = \
	examples/templates/en/invite.txt \
	examples/templates/en/otp.txt \
	examples/templates/en/password_changed.txt \
	examples/templates/en/reset_link.txt \
	examples/templates/en/reset_temporary.txt

templatesjadir = $(pkgdatadir)/templates/ja
dist_templatesja_DATA = \
	examples/templates/ja/invite.txt \
	examples/templates/ja/otp.txt \
	examples/templates/ja/password_changed.txt \
	examples/templates/ja/reset_link.txt \
	examples/templates/ja/reset_temporary.txt

ldapschemadir = $(pkgdatadir)/ldap
dist_ldapschema_DATA = \
	examples/ldap/mailotp.ldif \
	examples/ldap/acl.ldif \
	examples/ldap/mailotp.schema

# Under the prefix, so that "make distcheck" and non-root installs work;
# systemd also reads /usr/local/lib/systemd/system. Packagers override it:
#   make install systemdsystemunitdir=/lib/systemd/system
systemdsystemunitdir = $(prefix)/lib/systemd/system
systemdsystemunit_DATA = examples/systemd/mailotpd.service
dist_systemdsystemunit_DATA = examples/systemd/mailotpd.socket

# Made by make, not configure, so that ExecStart= follows the sbindir of
# this make run ("make install prefix=/opt/mailotp" included): the rule
# runs every time and replaces the file only when the result changed. The
# [@] keeps config.status from substituting the pattern itself.
examples/systemd/mailotpd.service: $(srcdir)/examples/systemd/mailotpd.service.in mailotpd-service-check
	$(AM_V_GEN)$(MKDIR_P) examples/systemd && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' \
		$(srcdir)/examples/systemd/mailotpd.service.in > $@.tmp && \
	if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi

mailotpd-service-check:

.PHONY: mailotpd-service-check

CLEANFILES += examples/systemd/mailotpd.service examples/systemd/mailotpd.service.tmp

# The example configuration goes beside the real one under another name,
# so that "make install" never overwrites a configuration in use. It holds
# no secret; the real file is installed by hand, mode 0640 (mailotp.conf(5)).
confexampledir = $(sysconfdir)/mailotp

install-data-local: install-conf-example
uninstall-local: uninstall-conf-example

install-conf-example:
	$(MKDIR_P) '$(DESTDIR)$(confexampledir)'
	$(INSTALL_DATA) '$(srcdir)/examples/mailotp.conf' \
		'$(DESTDIR)$(confexampledir)/mailotp.conf.example'

uninstall-conf-example:
	rm -f '$(DESTDIR)$(confexampledir)/mailotp.conf.example'

.PHONY: install-conf-example uninstall-conf-example

EXTRA_DIST += \
	examples/mailotp.conf \
	examples/systemd/mailotpd.service.in \
	examples/pam.d/sshd \
	examples/pam.d/sshd-otp-only \
	examples/pam.d/login \
	examples/pam.d/mailotp-web \
	examples/sshd_config.d/mailotp.conf \
	examples/apache/mailotp-gateway.conf \
	examples/apache/mailotp-signin.html \
	examples/nginx/mailotp-reset.conf
