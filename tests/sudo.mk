# sudo end to end (tests/sudo_e2e.sh): Debian's sudo with
# examples/pam.d/sudo as the "sudo" service and a private /etc/sudoers, in
# a private mount namespace with throwaway local accounts; the terminal
# driven by python3-pexpect (tests/pexpect_drive.py). Needs root, sudo,
# runuser, python3-pexpect and unshare; skipped with the reason without
# them. examples/pam.d/sudo is distributed from here (examples/local.mk
# lists the other PAM examples).
TESTS += tests/sudo_e2e.sh
dist_check_SCRIPTS += tests/sudo_e2e.sh
EXTRA_DIST += examples/pam.d/sudo
