# Negative cases of restore --lazy-pages (criu-lite/lazy.h), sourced by
# test/zdtm/run: the tree never runs with memory that is not its own.

# lazy_server_gone DIR: the lazy-pages server named in DIR/lazy-pages.pid, and its keeper, end.
lazy_server_gone()
{
	local pid
	pid=$(cat "$1/lazy-pages.pid" 2>/dev/null) || { err "no $1/lazy-pages.pid"; return 1; }
	wait_gone "$pid" || { err "the lazy-pages server $pid is still there"; return 1; }
	no_strays "the lazy restore" || return 1
}

# lazy_tree_killed WHAT: after a restore the daemon was to kill, no task
# of the tree is left, and the test never passed.
lazy_tree_killed()
{
	local pid
	for pid in "${TREE_PIDS[@]}"; do
		wait_gone "$pid" || { kill_ours "$pid"; err "pid $pid still runs after $1"; return 1; }
	done
	! passed_out || { err "the test passed after $1"; return 1; }
}

# lazy_dumped NAME: NAME started, dumped (killed), in $WD/dump.
lazy_dumped()
{
	start_test "$1" || return 1
	dump dump "$WD/dump" || return 1
	wait_tree_gone "after dump" || return 1
	DETAIL="$DETAIL $WD/dump/restore.log"
}

# neg_lazy_bad_page: a bit of anon_64m's pages flipped: the daemon finds
# the run's checksum wrong before any of it goes in, says so, and kills
# the tree (the restore may have returned already: it runs before its
# memory is there).
neg_lazy_bad_page()
{
	local size
	lazy_dumped anon_64m || return 1
	size=$(stat -c %s "$WD/dump/pages-1.img")
	flip_bit "$WD/dump/pages-1.img" $((size / 2))
	cr_run restore restore -D "$WD/dump" -d -v4 -o restore.log --lazy-pages
	[ "$RC" = 0 ] && OWNED+=("$TPID")
	lazy_tree_killed "a page failed its checksum" || return 1
	grep -q "checksum mismatch in the .* pages at file offset" "$WD/dump/restore.log" ||
		{ err "no line names the page that failed its checksum"; return 1; }
	lazy_server_gone "$WD/dump"
}

# neg_lazy_server_killed: the server SIGKILLed at its 3rd copy, memory
# still missing: its keeper kills the tree before the last copy of the
# userfaultfds closes (the tree would read zeros), and says why.
neg_lazy_server_killed()
{
	lazy_dumped anon_64m || return 1
	CR_FAIL_AT=sigkill:lazy-copy@3 cr_run restore restore -D "$WD/dump" -d -v4 -o restore.log --lazy-pages
	[ "$RC" = 0 ] && OWNED+=("$TPID")
	lazy_tree_killed "the lazy-pages server was killed" || return 1
	grep -q "lazy-pages: the server (pid [0-9]*) ended with .* killing the restored tree" \
		"$WD/dump/restore.log" || { err "the keeper did not say why it killed the tree"; return 1; }
	lazy_server_gone "$WD/dump"
}

# neg_lazy_cr_killed: cr restore --lazy-pages SIGKILLed before the go:
# the tree leaves by itself, and the daemon, finding it gone, ends.
neg_lazy_cr_killed()
{
	lazy_dumped anon_64m || return 1
	CR_FAIL_AT=sigkill:go cr_run restore restore -D "$WD/dump" -d -v4 -o restore.log --lazy-pages
	[ "$RC" = 137 ] || { err "cr restore exited with $RC, not killed at the go"; return 1; }
	lazy_tree_killed "cr was killed before the go" || return 1
	lazy_server_gone "$WD/dump"
}

# lazy_daemon_first: `cr lazy-pages -D DIR` started first, listening on
# DIR/lazy-pages.socket: the restore uses it (no daemon of its own), the
# restored test passes, and the daemon ends by itself.
lazy_daemon_first()
{
	local dpid
	lazy_dumped anon_64m || return 1
	DETAIL="$DETAIL $WD/dump/lazy-pages.log $WD/lazy-pages.err"
	"$CR" lazy-pages -D "$WD/dump" -v4 -o lazy-pages.log 2>"$WD/lazy-pages.err" &
	dpid=$!
	OWNED+=("$dpid")
	for _ in $(seq 250); do [ -S "$WD/dump/lazy-pages.socket" ] && break; sleep 0.02; done
	[ -S "$WD/dump/lazy-pages.socket" ] || { err "cr lazy-pages made no socket"; return 1; }
	restores_and_passes restore "$WD/dump" --lazy-pages || return 1
	grep -q "lazy-pages: using the daemon listening on lazy-pages.socket" "$WD/dump/restore.log" ||
		{ err "the restore did not use the daemon listening"; return 1; }
	wait_child "$dpid" || { err "cr lazy-pages did not end"; return 1; }
	wait "$dpid" || { err "cr lazy-pages exited with $?"; return 1; }
	[ ! -e "$WD/dump/lazy-pages.socket" ] || { err "cr lazy-pages left its socket"; return 1; }
	grep -q "lazy-pages: .* bytes copied in" "$WD/dump/lazy-pages.log" ||
		{ err "the daemon did not say it filled the memory"; return 1; }
	lazy_server_gone "$WD/dump"
}

# neg_lazy_cr_killed_live: cr restore --lazy-pages SIGKILLed right after
# the go, before it let the first task out of its restorer: its guard
# finishes the release, the daemon fills the memory, and the test passes.
neg_lazy_cr_killed_live()
{
	lazy_dumped anon_64m || return 1
	CR_FAIL_AT=sigkill:live cr_run restore restore -D "$WD/dump" -d -v4 -o restore.log --lazy-pages
	[ "$RC" = 137 ] || { err "cr restore exited with $RC, not killed after the go"; return 1; }
	OWNED+=("$TPID")
	wait_cr_guard || return 1
	check_running "$TPID" || return 1
	kill -TERM "$TPID"
	wait_gone "$TPID" || { err "test did not exit after SIGTERM"; return 1; }
	passed_out || { err "last output: $(tail -n 1 "$WD/test.out" 2>/dev/null)"; return 1; }
	lazy_server_gone "$WD/dump"
}

# lazy_remote_ready STEP FIFO PID: the '\0' cr STEP (PID) writes into FIFO once it listens.
lazy_remote_ready()
{
	[ "$(timeout "$T" dd if="$2" bs=1 count=1 2>/dev/null | wc -c)" = 1 ] && return 0
	wait "$3"
	err "$1 exited with $? before it listened: $(tail -2 "$WD/$1.err")"
	return 1
}

# mode_lazy_remote NAME: mode_lazy as a lazy migration over loopback: `cr dump
# --lazy-pages` in $WD/src serves the pages (the tree dies when the
# destination starts), the other images are copied to $WD/dump, where `cr
# lazy-pages --page-server` fetches the pages for `cr restore --lazy-pages`;
# both end 0 once every page is in.
mode_lazy_remote()
{
	local port=$((20000 + RANDOM % 30000)) dpid lpid rc try
	start_test "$1" || return 1
	record_tree
	mkdir -p "$WD/src" "$WD/dump"
	mkfifo "$WD/lz-dump.status" "$WD/lz-pages.status" || return 1
	DETAIL="$DETAIL $WD/src/dump.log $WD/lz-dump.err $WD/dump/lazy.log $WD/lz-pages.err"
	# A port of loopback's another test may hold: the dump fails before it touches the tree.
	for try in 1 2 3; do
		timeout -k 5 "$T" "$CR" dump -t "$TPID" -D "$WD/src" -v4 -o dump.log --lazy-pages \
			--address 127.0.0.1 --port "$port" --status-fd 3 "${TEST_CR_OPTS[@]}" \
			3>"$WD/lz-dump.status" >"$WD/lz-dump.err" 2>&1 &
		dpid=$!
		lazy_remote_ready lz-dump "$WD/lz-dump.status" "$dpid" && break
		grep -q "Address already in use" "$WD/lz-dump.err" && [ "$try" != 3 ] || return 1
		REASON=""	# lazy_remote_ready's, of a try that does not count
		port=$((20000 + RANDOM % 30000))
	done
	images_tree "$WD/src" || return 1
	cp -a "$WD/src"/*.img "$WD/dump"/ || { err "copying the images"; return 1; }
	timeout -k 5 "$T" "$CR" lazy-pages -D "$WD/dump" -v4 -o lazy.log --page-server --address 127.0.0.1 \
		--port "$port" --status-fd 3 3>"$WD/lz-pages.status" >"$WD/lz-pages.err" 2>&1 &
	lpid=$!
	lazy_remote_ready lz-pages "$WD/lz-pages.status" "$lpid" || return 1
	wait_tree_gone "after the destination started" || return 1
	# shellcheck disable=SC2034	# plain_restore's
	RESTORE_EXTRA=(--lazy-pages)
	plain_restore
	rc=$?
	# shellcheck disable=SC2034
	RESTORE_EXTRA=()
	[ "$rc" = 0 ] || return "$rc"
	wait "$lpid" || { err "cr lazy-pages --page-server exited $?"; return 1; }
	wait "$dpid" || { err "cr dump --lazy-pages exited $?"; return 1; }
	grep -q "has every page" "$WD/src/dump.log" || { err "the source did not say all was in"; return 1; }
	no_strays "the lazy migration"
}
