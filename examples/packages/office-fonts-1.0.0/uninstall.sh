#!/bin/sh
# office-fonts 1.0.0: removes what install.sh installed.
set -eu
: "${FERRY_INSTALL_ROOT:?is not set: run this through the ferry agent, or set it (to / for a real install)}"
: "${FERRY_PACKAGE_DIR:?is not set: run this through the ferry agent, or set it to the unpacked artifact}"
root="${FERRY_INSTALL_ROOT%/}"
dest="$root/usr/local/share/fonts/office-fonts"
rm -rf "$dest" "$dest.new"
echo "office-fonts removed from $dest"
