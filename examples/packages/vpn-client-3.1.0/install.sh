#!/bin/sh
# vpn-client 3.1.0: the corporate VPN client and its company profile.
# Installs into $FERRY_INSTALL_ROOT/opt/vpn-client. Run by the ferry agent in the unpacked artifact.
set -eu
: "${FERRY_INSTALL_ROOT:?is not set: run this through the ferry agent, or set it (to / for a real install)}"
: "${FERRY_PACKAGE_DIR:?is not set: run this through the ferry agent, or set it to the unpacked artifact}"
root="${FERRY_INSTALL_ROOT%/}"
dest="$root/opt/vpn-client"

# Stage next to the target, then swap, so an upgrade never leaves a half-copied tree.
rm -rf "$dest.new"
mkdir -p "$dest.new"
cp -R "$FERRY_PACKAGE_DIR/payload/." "$dest.new/"
mkdir -p "$root/etc/vpn-client"
cp "$FERRY_PACKAGE_DIR/config/company.profile" "$root/etc/vpn-client/company.profile"
rm -rf "$dest"
mv "$dest.new" "$dest"
printf '%s\n' "3.1.0" > "$dest/VERSION"   # written last: the completion marker
echo "vpn-client 3.1.0 installed in $dest"
