#!/bin/sh
# systemd/install.sh: installs packbench on a systemd system without dpkg
# (Fedora, Arch, Alpine with systemd, a hand-built image), in the layout of
# the Debian package: docs/install.md.
#
#   go build -o /tmp/packbenchd ./cmd/packbenchd
#   go build -o /tmp/packbench ./cmd/packbench
#   sudo systemd/install.sh /tmp/packbenchd /tmp/packbench
#
# DESTDIR=DIR installs into a staging root instead (an image being built):
# the user goes into DIR's database and no service is touched.
# Running it again upgrades: binaries, unit and rules are replaced, the
# config in /etc/packbench and the data in /var/lib/packbench are kept.
set -eu

if [ $# -ne 2 ]; then
	echo "usage: $0 PACKBENCHD PACKBENCH (binaries built for this machine)" >&2
	exit 2
fi
daemon=$1
cli=$2
here=$(cd "$(dirname "$0")" && pwd)
root=${DESTDIR:-}

install -D -m 0755 "$daemon" "$root/usr/lib/packbench/packbenchd"
install -D -m 0755 "$cli" "$root/usr/bin/packbench"
install -D -m 0644 "$here/packbenchd.service" "$root/usr/lib/systemd/system/packbenchd.service"
install -D -m 0644 "$here/60-packbench.rules" "$root/usr/lib/udev/rules.d/60-packbench.rules"
install -D -m 0644 "$here/modules-load.conf" "$root/usr/lib/modules-load.d/packbench.conf"
install -D -m 0644 "$here/sysusers.conf" "$root/usr/lib/sysusers.d/packbench.conf"
install -D -m 0644 "$here/packbenchd-low-ports.conf" "$root/usr/share/doc/packbench/examples/packbenchd-low-ports.conf"
if [ ! -e "$root/etc/packbench/packbench.toml" ]; then
	install -D -m 0644 "$here/packbench.toml" "$root/etc/packbench/packbench.toml"
fi

# The user and the groups the unit needs (SupplementaryGroups: a missing
# group stops the service from starting).
if [ -n "$root" ]; then
	systemd-sysusers --root="$root" "$root/usr/lib/sysusers.d/packbench.conf"
else
	systemd-sysusers /usr/lib/sysusers.d/packbench.conf
fi
for g in lp dialout; do
	grep -q "^$g:" "$root/etc/group" || {
		echo "install.sh: group $g is missing; create it (groupadd --system $g)" >&2
		exit 1
	}
done

if [ -n "$root" ]; then
	systemctl --root="$root" enable packbenchd.service
	exit 0
fi
udevadm control --reload-rules 2>/dev/null || true
udevadm trigger --action=change --subsystem-match=hidraw --subsystem-match=usbmisc \
	--subsystem-match=input --subsystem-match=gpio 2>/dev/null || true
modprobe -qa usbserial cdc_acm 2>/dev/null || true
systemctl daemon-reload
systemctl enable packbenchd.service
systemctl restart packbenchd.service
echo "packbench: running (systemctl status packbenchd); the API key is printed once in: journalctl -u packbenchd"
