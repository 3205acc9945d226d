#!/bin/sh
# Generic command stub for event script tests.  Installed under the name of
# the command it replaces (ip, ss, ctdb, ...).  Every call is appended to
# $STUB_LOG as "NAME ARGS".  Rules live in $STUB_RULES/NAME/NNN files:
#   line 1: a shell glob the joined arguments must match
#   line 2: exit status
#   rest:   text to print on stdout
# A call that matches no rule fails loudly (exit 99) so tests notice it.
name=$(basename "$0")
args="$*"
echo "${name} ${args}" >>"${STUB_LOG:?}"
if [ "${name}" = "ctdb_killtcp" ]; then
	cat >>"${STUB_LOG}.stdin"
fi
for rule in "${STUB_RULES:?}/${name}"/*; do
	[ -f "$rule" ] || continue
	pattern=$(sed -n 1p "$rule")
	# shellcheck disable=SC2254 # the pattern is a glob on purpose
	case "$args" in
	$pattern)
		sed -n '3,$p' "$rule"
		exit "$(sed -n 2p "$rule")"
		;;
	esac
done
echo "STUB ${name}: unexpected call: ${args}" >&2
echo "UNEXPECTED ${name} ${args}" >>"${STUB_LOG}"
exit 99
