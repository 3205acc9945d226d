#!/bin/sh
# Hung event script debug hook, set with "[event] debug script" in ctdb.conf.
# ctdb-eventd runs it as: debug-hung-script.sh PID EVENT
# before it kills a script that overran its deadline.  Everything printed
# ends up in the eventd log: the process tree under PID and the kernel stack
# and wait channel of every process in it.

: "${CTDB_PROC_DIR:=/proc}"

pid="${1:?usage: debug-hung-script.sh PID EVENT}"
event="${2:-unknown}"

echo "===== hung script debug: pid ${pid}, event ${event} ====="

# descendants PID - print PID and every process below it
descendants()
{
	echo "$1"
	cat "${CTDB_PROC_DIR}/$1/task/"*/children 2>/dev/null | tr ' ' '\n' |
		while read -r child; do
			[ -n "$child" ] && descendants "$child"
		done
}

if command -v pstree >/dev/null 2>&1; then
	pstree -p -a -l "$pid" 2>/dev/null
fi

descendants "$pid" | while read -r p; do
	cmd=$(tr '\0' ' ' <"${CTDB_PROC_DIR}/${p}/cmdline" 2>/dev/null)
	wchan=$(cat "${CTDB_PROC_DIR}/${p}/wchan" 2>/dev/null)
	echo "--- pid ${p}: ${cmd:-?} (wchan ${wchan:-?})"
	if [ -r "${CTDB_PROC_DIR}/${p}/stack" ]; then
		cat "${CTDB_PROC_DIR}/${p}/stack" 2>/dev/null
	fi
done

echo "===== end of hung script debug ====="
exit 0
