#!/bin/sh
# https.sh: HTTPS (TLS 1.3, HTTP/2) requests per second for a 1 KiB file,
# gohttp-smol against nginx and Caddy, with the same certificate, in one run.
#
#   bench/https.sh BINARY [ROUNDS]
#
# Each server runs pinned to CPU 1 and h2load to CPU 0; every server gets
# the same ROUNDS (default 3) of `h2load -c 32 -m 10 -n 200000` on the same
# file, interleaved, after a warm-up; the script prints each round and the
# median req/s of each, and the ratio of gohttp-smol to each other server.
# TLS handshakes are 32 per round against 200000 requests, so the figure is
# that of TLS 1.3 records and HTTP/2 frames, not of handshakes.
#
# gohttp-smol is started with --tls-cert: with --acme-domain it serves its
# certificate through the same tls.Config, with a lookup in a map more per
# handshake.
set -eu

bin=$(realpath "$1")
rounds=${2:-3}
for tool in h2load nginx caddy openssl taskset; do
	command -v "$tool" >/dev/null || { echo "https.sh: $tool not found (apt-get install nghttp2-client nginx caddy openssl util-linux)" >&2; exit 1; }
done

dir=$(mktemp -d)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

mkdir -p "$dir/www" "$dir/nginx" "$dir/caddy"
# nginx's workers run as nobody when started as root.
chmod 755 "$dir" "$dir/www"
head -c 1024 /dev/zero | tr '\0' 'a' >"$dir/www/1k.html"
chmod 644 "$dir/www/1k.html"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
	-keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null

cat >"$dir/nginx/nginx.conf" <<EOF
worker_processes 1;
master_process on;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log error;
events { worker_connections 1024; }
http {
    default_type text/html;
    access_log off;
    # Default 1000: nginx would close each HTTP/2 connection after 1000
    # requests, which h2load counts as failures.
    keepalive_requests 10000000;
    client_body_temp_path $dir/nginx/body;
    proxy_temp_path $dir/nginx/proxy;
    fastcgi_temp_path $dir/nginx/fastcgi;
    uwsgi_temp_path $dir/nginx/uwsgi;
    scgi_temp_path $dir/nginx/scgi;
    server {
        listen 127.0.0.1:18444 ssl http2;
        ssl_certificate $dir/cert.pem;
        ssl_certificate_key $dir/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:SSL:1m;
        root $dir/www;
    }
}
EOF
cat >"$dir/caddy/Caddyfile" <<EOF
{
	admin off
	auto_https disable_redirects
	storage file_system $dir/caddy/data
	log {
		output discard
	}
}
https://localhost:18445 {
	bind 127.0.0.1
	tls $dir/cert.pem $dir/key.pem
	root * $dir/www
	file_server
}
EOF

taskset -c 1 env GOMAXPROCS=1 "$bin" --addr 127.0.0.1:18443 --tls-cert "$dir/cert.pem" --tls-key "$dir/key.pem" \
	--log-format off "$dir/www" >"$dir/smol.log" 2>&1 &
pids="$pids $!"
taskset -c 1 nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -e "$dir/nginx/error.log" -g 'daemon off;' &
pids="$pids $!"
taskset -c 1 env GOMAXPROCS=1 HOME="$dir/caddy" XDG_DATA_HOME="$dir/caddy/data" XDG_CONFIG_HOME="$dir/caddy/config" \
	caddy run --config "$dir/caddy/Caddyfile" --adapter caddyfile >"$dir/caddy.log" 2>&1 &
pids="$pids $!"

for port in 18443 18444 18445; do
	i=0
	until h2load -n 1 -c 1 "https://127.0.0.1:$port/1k.html" 2>/dev/null | grep -q '1 succeeded'; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "https.sh: nothing answers on $port" >&2; cat "$dir"/*.log "$dir"/nginx/error.log >&2 2>/dev/null; exit 1; }
		sleep 0.1
	done
done

run() { # port -> req/s
	out=$(taskset -c 0 h2load -c 32 -m 10 -n 200000 "https://127.0.0.1:$1/1k.html")
	echo "$out" | grep -q '200000 succeeded' || { echo "https.sh: failed requests on $1:" >&2; echo "$out" >&2; exit 1; }
	echo "$out" | grep -q 'Application protocol: h2' || { echo "https.sh: not HTTP/2 on $1" >&2; exit 1; }
	echo "$out" | awk '/^finished in/ { gsub(",", "", $4); print $4 }'
}

for port in 18443 18444 18445; do run "$port" >/dev/null; done # warm-up
: >"$dir/results"
r=1
while [ $r -le "$rounds" ]; do
	for name in gohttp-smol:18443 nginx:18444 caddy:18445; do
		v=$(run "${name#*:}")
		echo "round $r ${name%%:*} $v req/s"
		echo "${name%%:*} $v" >>"$dir/results"
	done
	r=$((r + 1))
done
median() { grep "^$1 " "$dir/results" | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
s=$(median gohttp-smol); n=$(median nginx); c=$(median caddy)
echo "median req/s: gohttp-smol $s, nginx $n, caddy $c"
awk -v s="$s" -v n="$n" -v c="$c" 'BEGIN { printf "gohttp-smol / nginx = %.2fx, gohttp-smol / caddy = %.2fx\n", s/n, s/c }'
