#!/usr/bin/env bash
# Installs a Debian package when its command is missing:  debian-package.sh COMMAND PACKAGE WITHOUT
# (WITHOUT says what happens when it cannot be installed). As root it runs apt-get; otherwise it
# says what to run. It never fails the make target that calls it.
set -u
command_name=$1 package=$2 without=$3
if ! command -v "$command_name" >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    echo "installing $package"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null) \
      || echo "warning: could not install $package; $without" >&2
  else
    echo "warning: $command_name is missing and this is not root; run: sudo apt-get install $package" >&2
  fi
fi
exit 0
