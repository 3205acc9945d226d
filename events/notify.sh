#!/bin/sh
# Notification hook: ctdbd runs "<CTDB_BASE>/notify.sh EVENT" on init, setup,
# startup, healthy and unhealthy.  It runs every executable
# <CTDB_BASE>/events/notification/*.script with EVENT, in name order, and
# fails when any of them fails.

: "${CTDB_BASE:=$(cd "$(dirname "$0")" && pwd)}"

event="${1:?usage: notify.sh EVENT}"
rc=0
for script in "${CTDB_BASE}/events/notification/"*.script; do
	[ -x "$script" ] || continue
	"$script" "$event" || {
		echo "notify.sh: ${script} failed for ${event}" >&2
		rc=1
	}
done
exit "$rc"
