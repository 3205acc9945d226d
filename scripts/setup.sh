#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine (run as root for
# the apt part; skipped when the packages are already there), then the npm
# dependencies and the build.
set -euo pipefail
cd "$(dirname "$0")/.."
APT_PACKAGES="ctdb tdb-tools libtdb1 iproute2 iptables ipvsadm shellcheck procps psmisc groff-base man-db dash tmux etcd-server nginx-light samba smbclient samba-testsuite"
missing=""
for p in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends $missing >/dev/null
    # Packages may start system services; the tests run their own instances.
    for svc in smbd nmbd winbind samba-ad-dc nginx etcd ctdb; do
      command -v systemctl >/dev/null 2>&1 && systemctl stop "$svc" >/dev/null 2>&1 || true
    done
  else
    echo "setup: missing apt packages:$missing (run as root to install them)" >&2
  fi
fi
# --system-only: just the Debian packages (CI then runs npm ci and the build itself).
[ "${1:-}" = "--system-only" ] && exit 0
npm ci --no-audit --no-fund --loglevel=error
npm run build --silent
