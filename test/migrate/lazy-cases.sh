# shellcheck shell=bash disable=SC2153  # WPID, W, CR...: set by run
# Sourced by test/migrate/run: the cases of a pre-dump through the page
# server and of a lazy migration (see run's header). Uses run's hosts
# (SA, SB, in_a, in_b), start_server, start_writer, check_writer.

# wait_exit PID: waits for this shell's child PID (killed after TIMEOUT s); its exit status.
wait_exit()
{
	local _
	for _ in $(seq $((TIMEOUT * 20))); do
		case "$(awk '/^State/ {print $2}' /proc/"$1"/status 2>/dev/null)" in
		Z | X | "") wait "$1"; return ;;
		esac
		sleep 0.05
	done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 124
}

# gone PID: PID (not this shell's child) has ended: dead, a zombie, or reaped.
gone()
{
	local _
	for _ in $(seq $((TIMEOUT * 20))); do
		case "$(awk '/^State/ {print $2}' /proc/"$1"/status 2>/dev/null)" in
		Z | X | "") return 0 ;;
		esac
		sleep 0.05
	done
	return 1
}

# none_left NAME: no cr is left whose command line names case NAME's -D (its guard, its daemon).
none_left()
{
	local _
	for _ in $(seq $((TIMEOUT * 20))); do
		pgrep -f -- "$W/$1-(src|dst)" >/dev/null || return 0
		sleep 0.05
	done
	return 1
}

# status_started FIFO: the '\0' of a --status-fd that writes into FIFO.
status_started()
{
	[ "$(dd if="$1" bs=1 count=1 2>/dev/null | wc -c)" = 1 ]
}

# lazy_source DIR [ENV=VALUE...]: cr dump --lazy-pages of WPID in the source, serving; its pid in DPID.
lazy_source()
{
	local dir=$1 fifo=$W/lzs.$RANDOM
	shift
	mkfifo "$fifo" || return 1
	# shellcheck disable=SC2094
	(exec env "$@" nsenter -t "$SA" -n "$CR" dump -t "$WPID" -D "$dir" --lazy-pages --address "$ADDR_A" \
		--port "$PORT" -o dump.log -v4 --status-fd 3 3>"$fifo" </dev/null >/dev/null 2>"$dir.stderr") &
	DPID=$!
	PIDS+=("$DPID")
	status_started "$fifo"
}

# lazy_dest DIR [ENV=VALUE...]: cr lazy-pages --page-server in the destination, ready; its pid in LPID.
lazy_dest()
{
	local dir=$1 fifo=$W/lzd.$RANDOM
	shift
	mkfifo "$fifo" || return 1
	# shellcheck disable=SC2094
	(exec env "$@" nsenter -t "$SB" -n "$CR" lazy-pages --page-server --address "$ADDR_A" --port "$PORT" \
		-D "$dir" -o lazy.log -v4 --status-fd 3 3>"$fifo" </dev/null >/dev/null 2>"$dir.lz.stderr") &
	LPID=$!
	PIDS+=("$LPID")
	status_started "$fifo"
}

# lazy_start NAME MIB [SRC_ENV] [DST_ENV] [RESTORE_ENV]: writer, source, images copied, destination
# ready, restore run.
lazy_start()
{
	local src=$W/$1-src dst=$W/$1-dst res=$W/$1-res
	mkdir -p "$src" "$dst"
	start_writer "$2" "$res" || { echo "the writer did not start"; return 1; }
	sleep 0.2	# writes going on (no timing is checked)
	# shellcheck disable=SC2086
	lazy_source "$src" ${3:-} || { echo "dump --lazy-pages did not get ready: $(cat "$src.stderr")"; return 1; }
	ls "$src"/pages-*.img >/dev/null 2>&1 && { echo "page images in the source's -D: $(ls "$src")"; return 1; }
	cp "$src"/*.img "$dst"/ || { echo "copying the images"; return 1; }
	# shellcheck disable=SC2086
	lazy_dest "$dst" ${4:-} || { echo "lazy-pages did not get ready: $(cat "$dst.lz.stderr")"; return 1; }
	# The source killed the tree once the destination opened its pages: its pid is free.
	wait "$WPID" 2>/dev/null
	# shellcheck disable=SC2086
	in_b env ${5:-} "$CR" restore -D "$dst" --lazy-pages -d -o restore.log -v4 2>"$dst.stderr"
}

case_lazy()
{
	local src=$W/lz-src dst=$W/lz-dst out
	lazy_start lz "$MIB" || { echo "restore failed: $(cat "$dst.stderr")"; return; }
	wait_exit "$LPID" || { echo "lazy-pages exited $?: $(grep Error "$dst/lazy.log")"; return; }
	wait_exit "$DPID" || { echo "the source's dump exited $?: $(cat "$src.stderr")"; return; }
	[ "$(readlink /proc/"$WPID"/ns/net)" = "$(readlink /proc/"$SB"/ns/net)" ] ||
		{ echo "the restored process is not on the destination"; return; }
	grep -q "has every page" "$src/dump.log" || { echo "the source did not say the destination had every page"; return; }
	[ -e "$dst/pages-1.img" ] && { echo "lazy-pages left its local pages-1.img"; return; }
	out=$(check_writer "$WPID" "$W/lz-res") || { echo "after restore: $out"; return; }
	kill -9 "$WPID"
	wait "$WPID" 2>/dev/null
}

# lazy_fault_case NAME SRC_ENV DST_ENV EXPECT: the restored process must be killed; EXPECT in a log.
lazy_fault_case()
{
	local src=$W/$1-src dst=$W/$1-dst
	lazy_start "$1" 16 "$2" "$3"	# the restore may fail: the tree may be killed before it returns
	wait_exit "$LPID" && { echo "lazy-pages exited 0"; return; }
	wait_exit "$DPID" && { echo "the source's dump exited 0"; return; }
	grep -q "$4" "$src/dump.log" "$dst/lazy.log" 2>/dev/null ||
		{ echo "no log says '$4': $(grep -h Error "$src/dump.log" "$dst/lazy.log")"; return; }
	grep -q "killing the restored tree" "$dst/lazy.log" ||
		{ echo "lazy-pages did not say it killed the tree: $(grep Error "$dst/lazy.log")"; return; }
	gone "$WPID" || { echo "the restored pid $WPID runs on"; return; }
	none_left "$1" || { echo "processes left: $(pgrep -a -f -- "$W/$1-(src|dst)")"; return; }
}

# A restore that fails before any task runs: lazy-pages does not tell the source all is well.
case_lazy_restore_fails()
{
	local src=$W/lazy-restore-fails-src dst=$W/lazy-restore-fails-dst
	lazy_start lazy-restore-fails 16 "" "" CR_FAIL_AT=fork && { echo "the restore succeeded"; return; }
	wait_exit "$LPID" && { echo "lazy-pages exited 0"; return; }
	wait_exit "$DPID" && { echo "the source's dump exited 0"; return; }
	grep -q "ended before it restored any task" "$dst/lazy.log" ||
		{ echo "lazy-pages did not say why: $(grep Error "$dst/lazy.log")"; return; }
	grep -q "went away before it had every page" "$src/dump.log" ||
		{ echo "the source did not say why: $(grep Error "$src/dump.log")"; return; }
	none_left lazy-restore-fails || { echo "processes left: $(pgrep -a -f -- "$W/lazy-restore-fails-")"; return; }
}

# A pre-dump through one page server, the dump through another with it as its parent.
case_pre_dump_ps()
{
	local src=$W/pd-src dst=$W/pd-dst res=$W/pd-res out
	mkdir -p "$src/pre" "$src/dump" "$dst/pre" "$dst/dump"
	start_writer 64 "$res" || { echo "the writer did not start"; return; }
	start_server "$dst/pre" || { echo "the page server did not start"; return; }
	in_a "$CR" pre-dump -t "$WPID" -D "$src/pre" --page-server --address "$ADDR_B" --port "$PORT" \
		-o pre-dump.log -v4 2>"$src.stderr" || { echo "pre-dump failed: $(cat "$src.stderr")"; return; }
	wait "$SPID" || { echo "the pre-dump's page server exited $?"; return; }
	sleep 0.2	# written meanwhile: the dump sends those
	start_server "$dst/dump" || { echo "the page server did not start again"; return; }
	in_a "$CR" dump -t "$WPID" -D "$src/dump" --prev-images-dir ../pre --track-mem --page-server \
		--address "$ADDR_B" --port "$PORT" -o dump.log -v4 2>"$src.stderr" ||
		{ echo "dump failed: $(cat "$src.stderr")"; return; }
	wait "$WPID" 2>/dev/null
	wait "$SPID" || { echo "the dump's page server exited $?"; return; }
	[ -f "$dst/pre/pages-1.img" ] && [ -f "$dst/dump/pages-1.img" ] ||
		{ echo "page images missing on the destination: $(ls "$dst"/*)"; return; }
	cp "$src/pre"/*.img "$dst/pre"/ && cp "$src/dump"/*.img "$dst/dump"/ && cp -P "$src/dump/parent" "$dst/dump/" ||
		{ echo "copying the images"; return; }
	in_b "$CR" restore -D "$dst/dump" -d -o restore.log -v4 2>"$dst.stderr" ||
		{ echo "restore failed: $(cat "$dst.stderr")"; return; }
	out=$(check_writer "$WPID" "$res") || { echo "after restore: $out"; return; }
	kill -9 "$WPID"
	wait "$WPID" 2>/dev/null
}

# lazy_early_case NAME SRC_ENV DST_ENV EXPECT: a lazy migration that fails before any restore may
# start: lazy-pages never gets ready, both cr fail (EXPECT in a log), the process runs on, whole.
lazy_early_case()
{
	local src=$W/$1-src dst=$W/$1-dst res=$W/$1-res out
	mkdir -p "$src" "$dst"
	start_writer 16 "$res" || { echo "the writer did not start"; return; }
	# shellcheck disable=SC2086
	lazy_source "$src" $2 || { echo "dump --lazy-pages did not get ready: $(cat "$src.stderr")"; return; }
	cp "$src"/*.img "$dst"/ || { echo "copying the images"; return; }
	# shellcheck disable=SC2086
	lazy_dest "$dst" $3 && { echo "lazy-pages got ready"; return; }
	wait_exit "$LPID" && { echo "lazy-pages exited 0"; return; }
	wait_exit "$DPID" && { echo "the source's dump exited 0"; return; }
	grep -q "$4" "$src/dump.log" "$dst/lazy.log" "$src.stderr" "$dst.lz.stderr" 2>/dev/null ||
		{ echo "no log says '$4': $(cat "$src.stderr" "$dst.lz.stderr")"; return; }
	[ -e "$dst/pages-1.img" ] && { echo "lazy-pages left a pages-1.img"; return; }
	untraced "$WPID" || { echo "pid $WPID is still traced"; return; }
	out=$(check_writer "$WPID" "$res") || { echo "the process after the failed migration: $out"; return; }
	none_left "$1" || { echo "processes left: $(pgrep -a -f -- "$W/$1-(src|dst)")"; return; }
	kill -9 "$WPID"
	wait "$WPID" 2>/dev/null
}

# lazy_images_case NAME [bad]: a dump's images in the source, their pages served by `cr page-server
# --lazy-pages` there, restored lazily on the destination; with "bad", a byte of the page image is
# changed first: the restored process is killed (checksum mismatch), every cr ends.
lazy_images_case()
{
	local src=$W/$1-src dst=$W/$1-dst res=$W/$1-res fifo=$W/lzi.$RANDOM out size
	mkdir -p "$src" "$dst"
	start_writer 16 "$res" || { echo "the writer did not start"; return; }
	in_a "$CR" dump -t "$WPID" -D "$src" -o dump.log -v4 2>"$src.stderr" || { echo "dump failed: $(cat "$src.stderr")"; return; }
	wait "$WPID" 2>/dev/null
	for f in "$src"/*.img; do
		case $f in */pages-*) ;; *) cp "$f" "$dst"/ || { echo "copying $f"; return; } ;; esac
	done
	if [ "${2:-}" = bad ]; then
		size=$(stat -c %s "$src/pages-1.img")
		printf '\x5a' | dd of="$src/pages-1.img" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
	fi
	mkfifo "$fifo" || return
	# shellcheck disable=SC2094
	(exec nsenter -t "$SA" -n "$CR" page-server --lazy-pages -D "$src" --address "$ADDR_A" --port "$PORT" \
		-o lps.log -v4 --status-fd 3 3>"$fifo" </dev/null >/dev/null 2>"$src.lps.stderr") &
	DPID=$!
	PIDS+=("$DPID")
	status_started "$fifo" || { echo "page-server --lazy-pages did not get ready: $(cat "$src.lps.stderr")"; return; }
	lazy_dest "$dst" || { echo "lazy-pages did not get ready: $(cat "$dst.lz.stderr")"; return; }
	in_b "$CR" restore -D "$dst" --lazy-pages -d -o restore.log -v4 2>"$dst.stderr"
	if [ "${2:-}" = bad ]; then
		wait_exit "$LPID" && { echo "lazy-pages exited 0"; return; }
		wait_exit "$DPID" && { echo "page-server --lazy-pages exited 0"; return; }
		grep -q "checksum mismatch" "$dst/lazy.log" || { echo "lazy-pages did not find the bad run"; return; }
		gone "$WPID" || { echo "the restored pid $WPID runs on"; return; }
		none_left "$1" || { echo "processes left: $(pgrep -a -f -- "$W/$1-(src|dst)")"; return; }
		return
	fi
	wait_exit "$LPID" || { echo "lazy-pages exited $?: $(grep Error "$dst/lazy.log")"; return; }
	wait_exit "$DPID" || { echo "page-server --lazy-pages exited $?: $(cat "$src.lps.stderr")"; return; }
	out=$(check_writer "$WPID" "$res") || { echo "after restore: $out"; return; }
	kill -9 "$WPID"
	wait "$WPID" 2>/dev/null
}
