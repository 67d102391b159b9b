#!/usr/bin/env bash
# End-to-end drive of `resiltop --demo` in tmux at 120x40:
#   wait for the pg row; switch pg to the outage scenario with `f`; wait for
#   pg's breaker to show OPEN; force mail open with `o` `y` and wait for
#   "FORCED_OPEN (confirmed)"; quit with `q`.
# Any step that does not appear in time prints the captured screen and exits
# 1. The tmux session is always killed.
set -euo pipefail

cd "$(dirname "$0")/.."
command -v tmux >/dev/null || { echo "e2e-tmux: tmux is not installed" >&2; exit 1; }

tmp=$(mktemp -d)
session="resiltop-e2e-$$"
# A private tmux server socket keeps the test away from the user's sessions;
# killing that server on exit kills the session and resiltop with it.
tm() { tmux -L "$session" "$@"; }
cleanup() {
	tm kill-server 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "e2e-tmux: building"
go build -o "$tmp/resiltop" ./cmd/resiltop

# The pane outlives resiltop briefly so a failure can still be captured.
tm new-session -d -s "$session" -x 120 -y 40 "$tmp/resiltop --demo --no-color 2>$tmp/stderr; sleep 30"

screen() { tm capture-pane -p -t "$session"; }

# wait_for DESCRIPTION TIMEOUT_S ERE: polls the screen until a line matches.
wait_for() {
	local what=$1 timeout=$2 re=$3 deadline=$((SECONDS + $2))
	while ((SECONDS < deadline)); do
		if screen | grep -Eq -- "$re"; then
			echo "e2e-tmux: ok: $what"
			return 0
		fi
		sleep 0.2
	done
	echo "e2e-tmux: FAILED after ${timeout}s waiting for: $what (/$re/)" >&2
	echo "----- screen -----" >&2
	screen >&2 || true
	echo "----- stderr -----" >&2
	cat "$tmp/stderr" >&2 || true
	exit 1
}

keys() { tm send-keys -t "$session" "$@"; }

wait_for "the pg row" 20 '^pg +'

# Select pg with the filter so `f` preselects it, then pick the outage
# scenario by its first letter.
keys / '^pg$' Enter
wait_for "pg selected" 5 'filter: \^pg\$'
keys f
wait_for "the scenario menu" 5 'Scenario for which dependency'
keys p Enter
wait_for "the scenario list for pg" 5 'Scenario for pg:'
keys o Enter
wait_for "pg switched to outage" 5 'pg: scenario outage'
wait_for "pg breaker OPEN" 60 '^pg +✖ OPEN'

# Force mail open: filter to mail (ctrl+u clears the previous expression;
# a bare Escape followed by a key would read as alt+key), `o`, then `y`.
keys / C-u '^mail$' Enter
wait_for "mail selected" 5 'filter: \^mail\$'
keys o
wait_for "the confirmation" 10 'Force OPEN the breaker of «mail»'
keys y
wait_for "mail FORCED_OPEN confirmed" 30 'FORCED_OPEN \(confirmed\)'
wait_for "mail row FORCED_OPEN" 10 '^mail +⊘ FORCED_OPEN'

keys q
# gone NAME: waits up to 5 s for resiltop to leave the pane.
gone() {
	for _ in $(seq 50); do
		if ! tm list-panes -t "$session" -F '#{pane_current_command}' 2>/dev/null | grep -q resiltop; then
			return 0
		fi
		sleep 0.1
	done
	echo "e2e-tmux: FAILED: resiltop did not exit on $1" >&2
	screen >&2 || true
	exit 1
}
gone q
echo "e2e-tmux: ok: quit with q"

# SIGTERM at different moments (during start-up, mid-refresh) must end
# resiltop promptly and give the terminal back in canonical mode.
for delay in 0.3 1 2.5; do
	tm kill-session -t "$session" 2>/dev/null || true
	tm new-session -d -s "$session" -x 120 -y 40 "$tmp/resiltop --demo --no-color 2>$tmp/stderr; echo EXIT=\$?; stty -a; sleep 30"
	sleep "$delay"
	pid=$(tm list-panes -t "$session" -F '#{pane_pid}')
	pkill -TERM -P "$pid" -x resiltop || true
	gone "SIGTERM after ${delay}s"
	wait_for "terminal sane after SIGTERM at ${delay}s" 5 '(^| )icanon( |$)'
done
echo "e2e-tmux: passed"
