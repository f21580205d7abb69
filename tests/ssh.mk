# SSH end to end (tests/ssh_e2e.sh): Debian's OpenSSH sshd on a random
# loopback port, in a private mount namespace whose /etc/pam.d holds
# examples/pam.d/sshd (and sshd-otp-only) as the "sshd" service, with
# throwaway local accounts; the ssh client driven by python3-pexpect
# (tests/pexpect_drive.py).  Needs root, openssh-server, openssh-client,
# python3-pexpect and unshare; skipped with the reason without them.
TESTS += tests/ssh_e2e.sh
dist_check_SCRIPTS += tests/ssh_e2e.sh
dist_check_DATA += tests/pexpect_drive.py
