#!/bin/bash
# Install what mailotp needs to build, test and run its demo on Debian 12.
# Idempotent: when every package is already installed it does nothing (no
# apt-get update), so a developer's re-run costs a second.  As root on a
# fresh machine it preseeds slapd (no default database: the test-bed runs
# its own throwaway slapd), runs `apt-get update` and installs the lot.
#
#   scripts/setup-deps.sh            # install what is missing
#   scripts/setup-deps.sh --list     # print the package list and exit
#   scripts/setup-deps.sh --check    # exit 1 if something is missing
set -euo pipefail

BUILD_PKGS=(
	build-essential autoconf automake libtool pkg-config autopoint gettext
	libpam0g-dev libsodium-dev libldap-dev libgnutls28-dev
	libmicrohttpd-dev libcmocka-dev libpam-wrapper
	libpamtest0-dev
)
TEST_PKGS=(slapd ldap-utils python3-aiosmtpd curl openssh-server openssh-client python3-pexpect openssl
	valgrind faketime cppcheck clang libclang-rt-14-dev sudo)
# tests/gateway_e2e.sh runs Apache with mod_authnz_pam as the web gateway
# (its own configuration on a random loopback port; it skips itself
# without them).
GATEWAY_PKGS=(apache2 libapache2-mod-authnz-pam)
# tests/web_browser.sh drives the reset pages in headless chromium (it
# skips itself without them)
BROWSER_PKGS=(chromium chromium-driver python3-selenium fonts-ipafont-gothic)
PKGS=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}" "${GATEWAY_PKGS[@]}" "${BROWSER_PKGS[@]}")

case "${1:-}" in
--list)
	printf '%s\n' "${PKGS[@]}"
	exit 0
	;;
--check | '') ;;
*)
	echo "usage: $0 [--list|--check]" >&2
	exit 2
	;;
esac

missing=()
for p in "${PKGS[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[[ "$st" == installed ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
	echo "setup-deps: all ${#PKGS[@]} packages are installed"
	exit 0
fi
echo "setup-deps: missing: ${missing[*]}"
[[ "${1:-}" != --check ]] || exit 1

if ((EUID != 0)); then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=(sudo)
	else
		echo "setup-deps: run as root (or install sudo) to install them" >&2
		exit 1
	fi
else
	SUDO=()
fi

export DEBIAN_FRONTEND=noninteractive
# slapd must not build a default database (or ask for an admin password):
# the tests and the demo start their own slapd on a free loopback port.
echo 'slapd slapd/no_configuration boolean true' | "${SUDO[@]}" debconf-set-selections
"${SUDO[@]}" apt-get update
# install the whole list (not only the missing ones): apt-get marks them
# manually installed and leaves the ones already there alone
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
	"${PKGS[@]}"
# The tests start their own sshd and Apache on loopback ports. Debian
# enables and starts the packages' own servers (port 22, port 80) when it
# installs them: a machine set up here should not grow listening servers
# it did not have, so those installed just now are stopped and disabled.
for unit in ssh:openssh-server apache2:apache2 apache-htcacheclean:apache2; do
	case " ${missing[*]} " in
	*" ${unit#*:} "*)
		if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
			"${SUDO[@]}" systemctl disable --now "${unit%%:*}" >/dev/null 2>&1 &&
				echo "setup-deps: ${unit%%:*} was installed for the tests only: stopped and disabled"
		fi
		;;
	esac
done
echo "setup-deps: done"
