#!/bin/sh
# measure-rss.sh BINARY [SITE_DIR]: the peak resident memory (VmHWM) of
# gohttp-smol serving SITE_DIR on loopback under wrk load, the figure the
# Nomad job's resources are sized from. Without SITE_DIR it makes a test site:
# a 1 KiB page, a 100 KiB script fetched with gzip, and a 10 MiB file.
# Loopback only; each wrk run is bounded (DURATION, default 10s).
set -eu

bin=${1:?usage: measure-rss.sh BINARY [SITE_DIR]}
site=${2:-}
duration=${DURATION:-10s}
conns=${CONNS:-64}
command -v wrk >/dev/null || { echo "measure-rss.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }

tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM

if [ -z "$site" ]; then
	site=$tmp/site
	mkdir -p "$site"
	head -c 1024 /dev/zero | tr '\0' 'a' | sed 's/^/<p>/' >"$site/index.html"
	i=0
	while [ $i -lt 1600 ]; do echo "function f$i(a,b){return a+b*$i}"; i=$((i + 1)); done | head -c 102400 >"$site/app.js"
	head -c 10485760 /dev/urandom >"$site/big.bin"
fi

"$bin" --addr 127.0.0.1:0 --log-format off "$site" >"$tmp/log" 2>&1 &
pid=$!
i=0
# The server names the port it was given in its start-up line.
until addr=$(sed -n 's/.*msg=serving.* addr=\(127\.0\.0\.1:[0-9]*\).*/\1/p' "$tmp/log") && [ -n "$addr" ] &&
	curl -fs -o /dev/null "http://$addr/healthz"; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "measure-rss.sh: server did not start:" >&2; cat "$tmp/log" >&2; exit 1; }
	sleep 0.05
done
kib() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" /proc/$pid/status; }
echo "idle:            VmRSS $(kib VmRSS) KiB"
for path in / /app.js /big.bin; do
	hdr=; [ "$path" = /app.js ] && hdr="Accept-Encoding: gzip"
	wrk -t 2 -c "$conns" -d "$duration" ${hdr:+-H "$hdr"} "http://$addr$path" >"$tmp/wrk.txt"
	printf '%-16s %s req/s, VmRSS %s KiB, peak VmHWM %s KiB\n' "$path:" \
		"$(sed -n 's/^Requests\/sec:[[:space:]]*//p' "$tmp/wrk.txt")" "$(kib VmRSS)" "$(kib VmHWM)"
done
echo "peak under load: VmHWM $(kib VmHWM) KiB ($conns connections, wrk -t 2, $duration per path)"
