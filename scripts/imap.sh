#!/usr/bin/env bash
# Makes sure Debian's dovecot (a real IMAP server) is installed for the EmailTrigger tests.
# Idempotent: does nothing when `dovecot` is already there. The tests start their own dovecot
# with a configuration in a temporary folder, on a free loopback port (tests/integrations/imap_server.py);
# no system service is started or changed here.
set -u
if command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "warning: dovecot is not installed and installing it needs root (apt-get install dovecot-imapd);" \
         "the EmailTrigger tests against a real IMAP server will be skipped" >&2
    exit 0
  fi
else
  SUDO=""
fi
echo "installing dovecot-imapd"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq dovecot-imapd >/dev/null \
  || echo "warning: could not install dovecot-imapd; the EmailTrigger tests will be skipped" >&2
# the package's own service is not needed (and may not start without systemd)
$SUDO service dovecot stop >/dev/null 2>&1 || true
exit 0
