#!/bin/sh
# security-agent 5.2.0: the endpoint security agent (Linux build).
# Installs into $FERRY_INSTALL_ROOT/opt/security-agent. Run by the ferry agent in the unpacked artifact.
set -eu
: "${FERRY_INSTALL_ROOT:?is not set: run this through the ferry agent, or set it (to / for a real install)}"
: "${FERRY_PACKAGE_DIR:?is not set: run this through the ferry agent, or set it to the unpacked artifact}"
root="${FERRY_INSTALL_ROOT%/}"
dest="$root/opt/security-agent"

# Stage next to the target, then swap, so an upgrade never leaves a half-copied tree.
rm -rf "$dest.new"
mkdir -p "$dest.new"
cp -R "$FERRY_PACKAGE_DIR/payload/." "$dest.new/"
mkdir -p "$root/etc/security-agent"
[ -f "$root/etc/security-agent/agent.conf" ] || cp "$FERRY_PACKAGE_DIR/config/agent.conf" "$root/etc/security-agent/agent.conf"
rm -rf "$dest"
mv "$dest.new" "$dest"
printf '%s\n' "5.2.0" > "$dest/VERSION"   # written last: the completion marker
echo "security-agent 5.2.0 installed in $dest"
