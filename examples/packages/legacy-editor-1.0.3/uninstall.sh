#!/bin/sh
# legacy-editor 1.0.3: removes what install.sh installed.
set -eu
: "${FERRY_INSTALL_ROOT:?is not set: run this through the ferry agent, or set it (to / for a real install)}"
: "${FERRY_PACKAGE_DIR:?is not set: run this through the ferry agent, or set it to the unpacked artifact}"
root="${FERRY_INSTALL_ROOT%/}"
dest="$root/opt/legacy-editor"
rm -rf "$dest" "$dest.new"
echo "legacy-editor removed from $dest"
