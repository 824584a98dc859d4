#!/bin/sh
# vpn-client 3.1.0: removes what install.sh installed.
set -eu
: "${FERRY_INSTALL_ROOT:?is not set: run this through the ferry agent, or set it (to / for a real install)}"
: "${FERRY_PACKAGE_DIR:?is not set: run this through the ferry agent, or set it to the unpacked artifact}"
root="${FERRY_INSTALL_ROOT%/}"
dest="$root/opt/vpn-client"
rm -f "$root/etc/vpn-client/company.profile"
rmdir "$root/etc/vpn-client" 2>/dev/null || true
rm -rf "$dest" "$dest.new"
echo "vpn-client removed from $dest"
