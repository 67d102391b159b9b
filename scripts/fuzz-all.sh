#!/usr/bin/env bash
# Runs every fuzz target of the module (every `func FuzzXxx` in a _test.go,
# found as .ci/run finds them) for DURATION each, one after another, and
# prints a table: package, target, time run, executions, executions per
# second, corpus entries found, result. A target that finds a crasher is
# reported FAIL with the file Go wrote under testdata/fuzz/, and the
# script exits 1 after the table.
#
#   scripts/fuzz-all.sh 30s        # each target for 30 s
#   scripts/fuzz-all.sh 5s model   # only packages whose path contains "model"
#
# A worker that finds a new input minimizes it before it reports, and its
# executions are counted only then: with Go's default of up to 60 s of
# minimizing, a 20 s run can end reporting a handful of executions while
# the workers ran hundreds of thousands. Minimizing is cut to 5 s here
# (FUZZMINIMIZETIME overrides) so the counts are those of the run.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${1:?usage: scripts/fuzz-all.sh DURATION [PACKAGE-SUBSTRING]}
filter=${2:-}
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
log=$(mktemp)
rows=$(mktemp)
trap 'rm -f "$log" "$rows"' EXIT

failed=0
while read -r file; do
	dir=$(dirname "$file")
	[[ -n $filter && $dir != *"$filter"* ]] && continue
	for fn in $(grep -oE '^func Fuzz[A-Za-z0-9_]+' "$file" | sed 's/^func //'); do
		echo "fuzz-all: $dir $fn for $duration" >&2
		result=ok
		if ! go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$duration" -fuzzminimizetime "${FUZZMINIMIZETIME:-5s}" "$dir" >"$log" 2>&1; then
			result="FAIL $(grep -oE 'testdata/fuzz/[^ ]+' "$log" | head -1)"
			failed=1
			sed 's/^/    /' "$log" >&2
		fi
		# The last progress line carries the totals (its own rate is the
		# last interval's, so the average is worked out from them):
		# "fuzz: elapsed: 30s, execs: 123456 (4115/sec), new interesting: 3 (total: 57)"
		last=$(grep -E '^fuzz: elapsed: .*execs: ' "$log" | tail -1 || true)
		elapsed=$(sed -nE 's/^fuzz: elapsed: ([0-9a-z.]+),.*/\1/p' <<<"$last")
		execs=$(sed -nE 's/.*execs: ([0-9]+) .*/\1/p' <<<"$last")
		secs=$(awk '{ s = 0; if (match($0, /[0-9]+h/)) s += 3600 * substr($0, RSTART, RLENGTH - 1)
			if (match($0, /[0-9]+m/)) s += 60 * substr($0, RSTART, RLENGTH - 1)
			if (match($0, /[0-9.]+s/)) s += substr($0, RSTART, RLENGTH - 1); print s }' <<<"${elapsed:-0s}")
		rate=$(awk -v n="${execs:-0}" -v s="$secs" 'BEGIN { if (s > 0) printf "%d", n / s; else print "?" }')
		corpus=$(sed -nE 's/.*\(total: ([0-9]+)\).*/\1/p' <<<"$last")
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "${dir#./}" "$fn" "${elapsed:-?}" "${execs:-?}" "${rate:-?}" "${corpus:-?}" "$result" >>"$rows"
	done
done < <(grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(' . | sort)

printf '| package | target | time | execs | execs/s | corpus | result |\n|---|---|---|---|---|---|---|\n'
awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7 }' "$rows"
awk -F'\t' '$4 ~ /^[0-9]+$/ { n += $4; t++ } END { printf "\n%d targets, %d executions in all\n", t, n }' "$rows"
exit "$failed"
