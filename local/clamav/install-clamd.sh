#!/usr/bin/env bash
# Makes clamd (ClamAV's daemon) available to the malware checks: the local
# stack and the tests start their own clamd (local/clamav). Quick when clamd
# is installed. Otherwise, as root on Debian/Ubuntu (CI, containers), installs
# Debian's clamav-daemon: not pinned to a version, because the archive keeps
# only the current security release of it; the version used is printed.
# Elsewhere it prints how to install it: without clamd the tests that need it
# skip, except in CI (CI set), where they fail.
set -euo pipefail

# clamd on PATH, else where the packages put it (/usr/sbin is often not on
# a user's PATH); as local/clamav.Find looks for it.
find_clamd() {
	for p in "$(command -v clamd || true)" /usr/sbin/clamd /usr/local/sbin/clamd /opt/homebrew/sbin/clamd; do
		if [ -n "$p" ] && [ -f "$p" ] && [ -x "$p" ]; then
			echo "$p"
			return
		fi
	done
	return 1
}

if c=$(find_clamd); then
	echo "clamd: $c ($("$c" --version))"
	exit 0
fi
hint='sudo apt-get install clamav-daemon (Debian/Ubuntu) or brew install clamav (macOS)'
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
	echo "clamd not found: install it with: $hint. Without it the malware tests skip, and fail in CI." >&2
	exit 0
fi

echo "installing clamav-daemon from the distribution's packages"
running() { pgrep -x clamd; pgrep -x freshclam; true; }
before=$(running)
# The packages' scripts would start clamd and freshclam as services: clamd
# would bind 3310 and hold ~1 GB of signatures, freshclam would poll mirrors.
# A policy-rc.d refusing every start is Debian's way to prevent it (both
# invoke-rc.d and deb-systemd-invoke ask it); one already present is kept.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod +x "$policy"
	trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clamav-daemon
# Should a service have started anyway, stop it, and only what the install
# started (pids not running before).
for pid in $(running); do
	if ! grep -qx "$pid" <<<"$before"; then
		for svc in clamav-daemon clamav-freshclam; do
			service "$svc" stop >/dev/null 2>&1 || true
		done
		kill "$pid" 2>/dev/null || true
	fi
done
c=$(find_clamd)
echo "clamd: $c ($("$c" --version))"
