#!/bin/sh
# callgrind.sh: user-space instructions per 1 KiB request, for gohttp-smol
# builds and lighttpd, counted by valgrind's callgrind in one run.
#
#   bench/callgrind.sh BINARY...
#
# Instructions, unlike seconds, do not move with whatever else the machine
# runs, so this tells two builds apart on a shared machine where req/s
# cannot. Each server runs under callgrind with instrumentation off; wrk
# (-t1 -c32, keep-alive) warms it up for 3 s, then instrumentation is
# switched on for 20 s of load and the count dumped: the figure is the
# server's user-space instructions (its own code, Go's runtime or libc)
# divided by the requests wrk completed. Kernel work (system calls, TCP)
# is not counted. Go servers run with GOMAXPROCS=1 like lighttpd's one
# process, and GODEBUG=asyncpreemptoff=1, without which callgrind trips on
# the runtime's preemption signals; a saturated server preempts nothing.
set -eu

[ $# -gt 0 ] || { echo "usage: bench/callgrind.sh BINARY..." >&2; exit 2; }
for tool in valgrind callgrind_control wrk lighttpd; do
	command -v "$tool" >/dev/null || { echo "callgrind.sh: $tool not found (apt-get install valgrind wrk lighttpd)" >&2; exit 1; }
done

dir=$(mktemp -d)
pid=""
cleanup() {
	[ -z "$pid" ] || kill -9 "$pid" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM
mkdir -p "$dir/www"
chmod 755 "$dir" "$dir/www"
head -c 1024 /dev/zero | tr '\0' 'a' >"$dir/www/1k.html"
chmod 644 "$dir/www/1k.html"
cat >"$dir/lighttpd.conf" <<CONF
server.document-root = "$dir/www"
server.bind = "127.0.0.1"
server.port = 18391
server.errorlog = "$dir/lighttpd.err"
server.max-keep-alive-requests = 100000
mimetype.assign = (".html" => "text/html")
CONF

# For the Go servers; lighttpd reads neither.
export GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1

# measure NAME COMMAND...: start COMMAND under callgrind, load it, print.
measure() {
	name=$1
	shift
	out="$dir/cg.$name"
	valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" "$@" >"$dir/$name.log" 2>&1 &
	pid=$!
	for _ in $(seq 50); do
		curl -fso /dev/null http://127.0.0.1:18391/1k.html && break
		sleep 0.2
	done
	wrk -t1 -c32 -d3s http://127.0.0.1:18391/1k.html >/dev/null
	callgrind_control -i on "$pid" >/dev/null 2>&1
	reqs=$(wrk -t1 -c32 -d20s http://127.0.0.1:18391/1k.html | awk '/requests in/ {print $1}')
	callgrind_control -d "$pid" >/dev/null 2>&1
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	pid=""
	ir=$(awk '/^totals:/ {print $2}' "$out".*)
	rm -f "$out".*
	echo "$name $ir $reqs" | awk '{printf "%-28s %8.0f instructions per request (%s over %s requests)\n", $1, $2/$3, $2, $3}'
}

for bin in "$@"; do
	measure "$(basename "$bin")" "$(realpath "$bin")" \
		--addr 127.0.0.1:18391 --root "$dir/www" --log-format off
done
measure lighttpd lighttpd -D -f "$dir/lighttpd.conf"
