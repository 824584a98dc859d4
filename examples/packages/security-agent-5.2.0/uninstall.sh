#!/bin/sh
# security-agent 5.2.0: removes what install.sh installed.
set -eu
: "${FERRY_INSTALL_ROOT:?is not set: run this through the ferry agent, or set it (to / for a real install)}"
: "${FERRY_PACKAGE_DIR:?is not set: run this through the ferry agent, or set it to the unpacked artifact}"
root="${FERRY_INSTALL_ROOT%/}"
dest="$root/opt/security-agent"
# agent.conf is kept: it may hold local changes (like a package manager's conffile).
rm -rf "$dest" "$dest.new"
echo "security-agent removed from $dest"
