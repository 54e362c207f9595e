# shellcheck shell=bash disable=SC2034 # REASON, RC, TREE_PIDS, NSWRAP: for the sourcing script
# Shell helpers shared by the zdtm runner (test/zdtm/run) and the fault
# suite (test/zdtm/fault): running under the subreaper, processes seen
# through /proc, waits with a timeout, and the cleanup of what a case
# started. Sourced, not run.
#
# The script sets ZDTM_DIR and ROOT (the repository) before sourcing, and,
# before calling the helpers, BINS (the test binaries' folder), CR (the
# cr binary), T (the timeout of every wait, in seconds), OWNED=() (the
# pids it started or restored) and TREE_PIDS=(). Failing helpers set
# REASON through err().

# What `make` built: build/ of the repository, or $B as make was given it.
BUILD=${B:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
ZBUILD=$BUILD/test/zdtm
BINS=$ZBUILD/static
SR=$ZBUILD/subreaper
UNS_EXEC=$ZBUILD/uns-exec
TREE=()		# scratch list filled by tree_add
KIDS=()		# scratch list filled by children_of
NSWRAP=()	# the ns flavor's start command, filled by ns_wrap

# subreaper_exec SCRIPT ARGS...: unless already done, build the subreaper
# helper when missing or stale and re-execute SCRIPT under it, so that the
# script is a child subreaper: tests restored with -d, or left behind by a
# killed cr, get reparented to it and are reaped at once, freeing their
# pids.
subreaper_exec()
{
	[ -z "${ZDTM_SUBREAPER:-}" ] || return 0
	if [ ! -x "$SR" ] || [ "$ZDTM_DIR/subreaper.c" -nt "$SR" ]; then
		# Build to a private name, then rename: two runners starting at
		# once never execute a half-written binary.
		mkdir -p "$ZBUILD" &&
		gcc -O2 -Wall -Wextra -Werror -o "$SR.$$" "$ZDTM_DIR/subreaper.c" &&
			mv -f "$SR.$$" "$SR" || { echo "zdtm: cannot build $SR" >&2; exit 2; }
	fi
	exec "$SR" "$@"
}

# drop_job_notices [COMMANDS]: bash reports background jobs that died of a
# signal ("line N: PID Killed ( cd "$WD" ...") on its stderr; a test
# started by `( cd "$WD" ...) &` and then killed by a dump is no news, nor
# are the COMMANDS (an extended regex of how further commands start):
# drop exactly those notices and keep everything else.
drop_job_notices()
{
	local cmds='\( cd "\$WD"'
	[ -n "${1:-}" ] && cmds="$cmds|$1"
	exec 2> >(grep --line-buffered -Ev "^.*: line [0-9]+: +[0-9]+ [A-Za-z ]+ +($cmds)" >&2)
}

# ensure_bins NAME...: build the test binaries that are missing or older
# than their source.
ensure_bins()
{
	local t missing=0
	for t in "$@"; do
		[ -x "$STATIC/$t" ] && [ ! "$STATIC/$t.c" -nt "$STATIC/$t" ] || missing=1
	done
	if [ $missing = 1 ]; then
		make -C "$ROOT" --no-print-directory -s zdtm-bins >&2 ||
			echo "zdtm: make zdtm-bins failed; unbuilt tests will fail" >&2
	fi
}

# cr_opts NAME: the options a test asks for on every dump and restore (a
# line "zdtm: cr-opts: --tcp-established" in its source), or nothing.
cr_opts()
{
	sed -n 's/.*zdtm: cr-opts: *\(.*\)$/\1/p' "$STATIC/$1.c" | head -n1
}

# test_flavors NAME: the flavors a test runs in (a line "zdtm: flavors: ns"
# in its source, for a test of namespace state that needs namespaces of
# its own; "-F" entries leave flavor F out, a "(reason)" after the list
# is not part of it), or "all".
test_flavors()
{
	local f
	f=$(sed -n 's/.*zdtm: flavors: *\([^(]*\).*$/\1/p' "$STATIC/$1.c" | head -n1)
	echo "${f:-all}"
}

# ns_unshare NAME: the unshare options of the ns flavor for a test (a line
# "zdtm: unshare: --pid ... --time" in its source), or the default set.
# The uns flavor's default adds a user namespace with a shifted map:
# ids 0-65535 inside are 100000-165535 outside (util-linux syntax,
# OUTER,INNER,COUNT; uns_args turns them into uns-exec's).
UNS_DEFAULT="--user --map-users=100000,0,65536 --map-groups=100000,0,65536"
ns_unshare()
{
	local u
	u=$(sed -n 's/.*zdtm: unshare: *\(.*\)$/\1/p' "$STATIC/$1.c" | head -n1)
	u=${u:---pid --mount --net --uts --ipc --cgroup --mount-proc}
	# A test's own line without maps gets the uns flavor's default ones.
	case "${FLAVOR:-}:$u" in uns:*--map-users=*) ;; uns:*) u="$UNS_DEFAULT $u" ;; esac
	echo "$u"
}

# uns_args OPTS...: splits unshare options into UNS_ARGS (uns-exec's: the
# user namespace and its maps, which unshare would need newuidmap for),
# UNS_REST (the rest, for unshare) and UNS_ROOT (OUTER uid:gid of the
# namespace's root, to own the work dir).
uns_args()
{
	local o ru="" rg=""
	UNS_ARGS=() UNS_REST=() UNS_ROOT=""
	for o in "$@"; do
		case $o in
		--user) ;;
		--map-users=*) UNS_ARGS+=(-u "${o#*=}")
			[ "$(echo "${o#*=}" | cut -d, -f2)" = 0 ] && ru=$(echo "${o#*=}" | cut -d, -f1) ;;
		--map-groups=*) UNS_ARGS+=(-g "${o#*=}")
			[ "$(echo "${o#*=}" | cut -d, -f2)" = 0 ] && rg=$(echo "${o#*=}" | cut -d, -f1) ;;
		--setgroups=*) UNS_ARGS+=(-s "${o#*=}") ;;
		*) UNS_REST+=("$o") ;;
		esac
	done
	[ -n "$ru" ] && UNS_ROOT=$ru:${rg:-$ru}
}

# uns_exec_build: the uns flavor's helper, built like the subreaper.
uns_exec_build()
{
	if [ ! -x "$UNS_EXEC" ] || [ "$ZDTM_DIR/uns-exec.c" -nt "$UNS_EXEC" ]; then
		mkdir -p "$ZBUILD" &&
		gcc -O2 -Wall -Wextra -Werror -o "$UNS_EXEC.$$" "$ZDTM_DIR/uns-exec.c" &&
			mv -f "$UNS_EXEC.$$" "$UNS_EXEC" || { echo "zdtm: cannot build $UNS_EXEC" >&2; exit 2; }
	fi
}

# ns_wrap NAME ERRFILE: NSWRAP = the command that starts test NAME (its
# arguments follow) the way the ns flavor does: as the init of fresh
# namespaces (ZDTM_NS_UNSHARE, else the test's "zdtm: unshare:" line, else
# the default set), through lib/ns-init. unshare's own complaints (when a
# dump kills its child) go to ERRFILE: the test's output file is the
# test's, and must not grow meanwhile.
ns_wrap()
{
	local opts=${ZDTM_NS_UNSHARE:-$(ns_unshare "$1")}
	# shellcheck disable=SC2206 # the options split on purpose
	NSWRAP=(/bin/sh -c 'exec "$@" 2>>"$0"' "$2" "$(command -v unshare)" --fork $opts "$ZDTM_DIR/lib/ns-init")
}

# ns_root PIDFILE: after a test started (as LPID) through ns_wrap wrote
# PIDFILE, TPID = its first process in a pid namespace other than LPID's
# (below unshare, itself below any wrapper): the pid cr is given. The
# test, pid 1 of its namespace, wrote 1.
ns_root()
{
	local p mine
	[ "$(cat "$1")" = 1 ] || { err "ns flavor: pid file says $(cat "$1"), not 1"; return 1; }
	mine=$(readlink "/proc/$LPID/ns/pid")
	TREE=()
	tree_add "$LPID"
	TPID=""
	for p in "${TREE[@]}"; do
		[ "$(readlink "/proc/$p/ns/pid" 2>/dev/null)" != "$mine" ] && { TPID=$p; break; }
	done
	[ -n "$TPID" ] || { err "ns flavor: $LPID has no process in a pid namespace of its own"; return 1; }
}

# host_mounts: our mount table without the mount ids (a restore must leave
# nothing mounted here).
host_mounts()
{
	cut -d' ' -f3- /proc/self/mountinfo | sort
}

err()
{
	REASON=$*
	return 1
}

# ---- the network lock (criu-lite/netlock.h) --------------------------------
# FLAVOR h: the tree in our net namespace; TPID: its root; CR: cr.
# netlock_of DIR: the name of the network lock DIR's inventory records
# (the dump's, in cr's net namespace), or nothing.
netlock_of()
{
	"$CR" show "$1/inventory.img" 2>/dev/null | sed -n 's/^ *"name": "\(cr-[0-9a-f]\{8\}\)",*$/\1/p'
}

# ruleset [PID]: the netfilter rules of our net namespace (or PID's);
# iptables-nft's chains show there too.
ruleset()
{
	if [ -n "${1:-}" ]; then
		nsenter -t "$1" -n nft list ruleset 2>/dev/null
	else
		nft list ruleset 2>/dev/null
	fi
}

# check_unlocked DIR WHEN: the dump's lock DIR records is gone from our
# net namespace and, in a tree's net namespace of its own, no lock of cr
# is left.
check_unlocked()
{
	local name
	name=$(netlock_of "$1")
	if [ -n "$name" ] && ruleset | grep -qw -- "$name"; then
		err "the network lock $name is still there $2"
		return 1
	fi
	if [ "$FLAVOR" != h ] && [ -e "/proc/$TPID" ] && ruleset "$TPID" | grep -q 'cr-[0-9a-f]\{8\}'; then
		err "a network lock of cr is left in the tree's net namespace $2: $(ruleset "$TPID" | grep -o 'cr-[0-9a-f]\{8\}' | head -n1)"
		return 1
	fi
	return 0
}

# check_no_lock_of LOG WHEN: no network lock LOG (cr's) names is left, in
# our net namespace or the tree's (a tree that runs on: nothing locked).
check_no_lock_of()
{
	local name
	for name in $(grep -o 'network lock cr-[0-9a-f]\{8\}' "$1" 2>/dev/null | sort -u | cut -d' ' -f3); do
		if ruleset | grep -qw -- "$name" ||
		   { [ "$FLAVOR" != h ] && [ -e "/proc/$TPID" ] && ruleset "$TPID" | grep -qw -- "$name"; }; then
			err "the network lock $name is left $2"
			return 1
		fi
	done
	return 0
}

# netlock_cleanup: a case may leave its dump's lock (a dump that was not
# restored, a restore that failed keeps it for the next one): the locks
# the inventories under $WD name are taken out here.
netlock_cleanup()
{
	local inv name
	[ -n "$WD" ] && [ -d "$WD" ] || return 0
	while read -r inv; do
		name=$(netlock_of "$(dirname "$inv")")
		[ -n "$name" ] && ruleset | grep -qw -- "$name" || continue
		nft delete table inet "$name" 2>/dev/null ||
			{ iptables -w -D INPUT -j "$name"; iptables -w -D OUTPUT -j "$name"; iptables -w -F "$name"; iptables -w -X "$name"; } 2>/dev/null
	done < <(find "$WD" -name inventory.img 2>/dev/null)
}

# ---- processes -----------------------------------------------------------
# proc_state_v PID: PSTATE = R/S/D/T/t/Z, empty if gone. Builtins only:
# no fork per process, which counts on trees of hundreds.
proc_state_v()
{
	local s=""
	PSTATE=""
	{ read -r s <"/proc/$1/stat"; } 2>/dev/null
	[ -n "$s" ] || return 0
	s=${s##*) }
	PSTATE=${s%% *}
}

proc_state()	# R/S/D/T/t/Z, empty if gone
{
	proc_state_v "$1"
	echo "$PSTATE"
}

# children_of PID: KIDS = the children of all threads of PID. Builtins
# only: no fork per process.
children_of()
{
	local f k
	local -a line
	KIDS=()
	for f in "/proc/$1"/task/*/children; do
		line=()
		{ read -r -a line <"$f"; } 2>/dev/null
		for k in "${line[@]}"; do
			KIDS+=("$k")
		done
	done
}

# tree_add PID: append PID and all its descendants to TREE.
tree_add()
{
	local pid=$1 k
	local -a kids
	[ -d "/proc/$pid" ] || return 0
	TREE+=("$pid")
	children_of "$pid"
	kids=("${KIDS[@]}")
	for k in "${kids[@]}"; do
		tree_add "$k"
	done
}

# same_file A B: the two (small) files have the same lines; no fork.
same_file()
{
	local -a a b
	{ mapfile -t a <"$1"; mapfile -t b <"$2"; } 2>/dev/null
	local IFS=$'\n'
	[ "${a[*]}" = "${b[*]}" ]
}

# ---- waits -----------------------------------------------------------------
# wait_gone PID [SECS]: until the pid no longer exists. A zombie keeps the
# pid taken; bash reaps every child (ours or reparented to us as
# subreaper) from its SIGCHLD handler, so zombies go away by themselves.
# reap_if_child PID: a zombie PID that is a child of this shell is
# waited for. Only then: pids come round again (pid_max 32768 here), and
# bash's `wait` of a pid it once had as a job but is another's now blocks
# for good.
reap_if_child()
{
	local s=
	{ read -r s <"/proc/$1/stat"; } 2>/dev/null
	[ -n "$s" ] || return 0
	s=${s##*) }
	set -- $1 $s
	# $2 state, $3 ppid
	[ "$2" = Z ] && [ "$3" = "$BASHPID" ] && wait "$1" 2>/dev/null
	return 0
}

wait_gone()
{
	local pid=$1 end=$((SECONDS + ${2:-$T}))
	while [ -e "/proc/$pid" ]; do
		reap_if_child "$pid"
		[ $SECONDS -ge $end ] && return 1
		sleep 0.02
	done
	return 0
}

# wait_child PID: wait (with timeout) for a child of ours to exit, set RC.
wait_child()
{
	local pid=$1 end=$((SECONDS + T))
	while kill -0 "$pid" 2>/dev/null && [ "$(proc_state "$pid")" != Z ]; do
		if [ $SECONDS -ge $end ]; then
			RC=timeout
			return 1
		fi
		sleep 0.02
	done
	wait "$pid"
	RC=$?
	return 0
}

# wait_pidfile FILE: until the test started as LPID has written its pid
# file (it is ready), or failed, or T seconds passed.
wait_pidfile()
{
	local end=$((SECONDS + T))
	while [ ! -s "$1" ]; do
		if ! kill -0 "$LPID" 2>/dev/null || [ "$(proc_state "$LPID")" = Z ]; then
			wait "$LPID"
			err "test exited with $? before it was ready"
			return 1
		fi
		[ $SECONDS -ge $end ] && { err "test not ready after ${T}s"; return 1; }
		sleep 0.02
	done
	return 0
}

# ---- cleanup -----------------------------------------------------------------
# Kill the pids that still run one of our test binaries or cr (a pid we
# used may have been reused by an unrelated process since), then wait
# until they are gone.
kill_ours()
{
	local pid exe killed=()
	for pid in "$@"; do
		exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || continue
		case $exe in
		"$BINS"/*|"$CR") kill -KILL "$pid" 2>/dev/null && killed+=("$pid") ;;
		esac
	done
	for pid in "${killed[@]}"; do
		wait_gone "$pid" 5 || true
	done
}

# Kill everything a case left: the owned pids, their descendants, and the
# test processes reparented to us (we are a subreaper) when their parent
# died. Descendants are collected before anything is killed.
cleanup_owned()
{
	local pid
	TREE=()
	for pid in "${OWNED[@]}"; do
		tree_add "$pid"
	done
	children_of $$
	for pid in "${KIDS[@]}"; do
		tree_add "$pid"
	done
	kill_ours "${OWNED[@]}" "${TREE[@]}"
	OWNED=()
	TREE_PIDS=()
}
