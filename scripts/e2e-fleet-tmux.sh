#!/usr/bin/env bash
# End-to-end drive of fleet mode in tmux at 140x40, the way the README's
# worked example runs it: three pgsim replicas (the third with pg=outage)
# scraped every second by a real Prometheus (Debian's prometheus package),
# and `resiltop --prometheus URL --selector '{job="orders"}'
# --admin-template 'http://{{.instance}}/actuator'`:
#   wait for three pg rows and the third replica's breaker OPEN; force a
#   replica's mail breaker open with `o` `y` and wait for
#   "FORCED_OPEN (confirmed)"; quit with `q`.
# Any step that does not appear in time prints the captured screen and
# exits 1. Everything started here is stopped on exit.
set -euo pipefail

cd "$(dirname "$0")/.."
for bin in tmux prometheus; do
	command -v "$bin" >/dev/null || { echo "e2e-fleet: $bin is not installed" >&2; exit 1; }
done

tmp=$(mktemp -d)
session="resiltop-fleet-$$"
pids=()
tm() { tmux -L "$session" "$@"; }
cleanup() {
	tm kill-server 2>/dev/null || true
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "e2e-fleet: FAILED: $*" >&2
	for f in "$tmp"/*.log; do echo "----- $f -----" >&2; tail -20 "$f" >&2; done
	exit 1
}

echo "e2e-fleet: building"
go build -o "$tmp/resiltop" ./cmd/resiltop
go build -o "$tmp/pgsim" ./cmd/pgsim

# Every listener on port 0; each pgsim prints the address it got.
export PGSIM_ADMIN_TOKEN=e2e-fleet-token
hosts=()
for i in 1 2 3; do
	scenario=()
	[ "$i" = 3 ] && scenario=(-scenario pg=outage)
	"$tmp/pgsim" -gateway-addr 127.0.0.1:0 -client-addr 127.0.0.1:0 "${scenario[@]}" >"$tmp/pgsim$i.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do
		grep -q '^metrics:' "$tmp/pgsim$i.log" && break
		sleep 0.1
	done
	host=$(sed -n 's|^metrics: *http://\([^/]*\)/metrics$|\1|p' "$tmp/pgsim$i.log")
	[ -n "$host" ] || fail "pgsim $i did not start"
	hosts+=("$host")
done

cat >"$tmp/prometheus.yml" <<YAML
global: {scrape_interval: 1s, scrape_timeout: 900ms}
scrape_configs:
  - job_name: orders
    static_configs: [{targets: ['${hosts[0]}', '${hosts[1]}', '${hosts[2]}']}]
YAML
# Prometheus cannot listen on port 0 and report it: try free-looking ports.
prom=""
for _ in $(seq 5); do
	port=$((20000 + RANDOM % 20000))
	(echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
	prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
		--web.listen-address="127.0.0.1:$port" --log.level=warn >"$tmp/prometheus.log" 2>&1 &
	pid=$!
	for _ in $(seq 300); do
		if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then prom="http://127.0.0.1:$port"; break; fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ -n "$prom" ]; then pids+=("$pid"); break; fi
	kill "$pid" 2>/dev/null || true
done
[ -n "$prom" ] || fail "prometheus did not start"
echo "e2e-fleet: prometheus at $prom, replicas ${hosts[*]}"
sleep 3 # a few scrapes, so the first frame has history

tm new-session -d -s "$session" -x 140 -y 40 \
	"RESILTOP_ADMIN_TOKEN=$PGSIM_ADMIN_TOKEN $tmp/resiltop --prometheus $prom --selector '{job=\"orders\"}' --admin-template 'http://{{.instance}}/actuator' --no-color 2>$tmp/stderr.log; sleep 30"

screen() { tm capture-pane -p -t "$session"; }

# wait_for DESCRIPTION TIMEOUT_S ERE: polls the screen until a line matches.
wait_for() {
	local what=$1 re=$3 deadline=$((SECONDS + $2))
	while ((SECONDS < deadline)); do
		if screen | grep -Eq -- "$re"; then
			echo "e2e-fleet: ok: $what"
			return 0
		fi
		sleep 0.2
	done
	echo "----- screen -----" >&2
	screen >&2 || true
	fail "after ${2}s waiting for: $what (/$re/)"
}
keys() { tm send-keys -t "$session" "$@"; }
re() { printf '%s' "$1" | sed 's/\./\\./g'; }

for h in "${hosts[@]}"; do
	wait_for "a pg row for $h" 30 "^pg +$(re "$h") "
done
wait_for "the outage replica's breaker OPEN" 60 "^pg +$(re "${hosts[2]}") +✖ OPEN"
wait_for "three replicas and Prometheus up" 10 '^resiltop 4/4 up'

# Force a replica's mail breaker open: filter to the mail rows (the top
# one is selected), `o`, then `y`; the admin URL comes from the template.
keys / '^mail$' Enter
wait_for "mail selected" 5 'filter: \^mail\$'
keys o
wait_for "the confirmation" 10 'Force OPEN the breaker of «mail» on target 127\.0\.0\.1:[0-9]+\?'
keys y
wait_for "mail FORCED_OPEN confirmed through Prometheus" 30 'FORCED_OPEN \(confirmed\)'

keys q
for _ in $(seq 50); do
	tm list-panes -t "$session" -F '#{pane_current_command}' 2>/dev/null | grep -q resiltop || { echo "e2e-fleet: ok: quit with q"; echo "e2e-fleet: passed"; exit 0; }
	sleep 0.1
done
fail "resiltop did not exit on q"
