#!/bin/sh
# cad-suite 2026.1.0: removes what install.sh installed.
set -eu
: "${FERRY_INSTALL_ROOT:?is not set: run this through the ferry agent, or set it (to / for a real install)}"
: "${FERRY_PACKAGE_DIR:?is not set: run this through the ferry agent, or set it to the unpacked artifact}"
root="${FERRY_INSTALL_ROOT%/}"
dest="$root/opt/cad-suite"
rm -rf "$dest" "$dest.new"
echo "cad-suite removed from $dest"
