package ui

import (
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"resiltop/internal/model"
)

// TestFindingsNameTheirTarget: with several targets each finding line names
// its target, grouped or not (a grouped row's finding quotes one replica's
// numbers); with one target the lines stay as the model wrote them.
func TestFindingsNameTheirTarget(t *testing.T) {
	for _, keys := range [][]string{nil, {"a"}} {
		s := screen(press(t, testModel(t, Options{}, 120, 40, replicas()), keys...))
		mustContain(t, s,
			"✖ CRIT 10.0.0.1:8080 pg: breaker OPEN for 2m00s",
			"▲ WARN 10.0.0.2:8080 mail: p99 1.7s",
			"✖ CRIT 10.0.0.3:8080: target down") // named once, by its own message
		mustNotContain(t, s, "10.0.0.3:8080 10.0.0.3:8080")
	}
	one := fixture()
	one.Targets = one.Targets[:1]
	s := screen(testModel(t, Options{}, 120, 40, one))
	mustContain(t, s, "✖ CRIT pg: breaker OPEN for 2m03s")
	mustNotContain(t, s, "CRIT 127.0.0.1:8080 pg")
}

// TestEmptyTableSaysWhy: an empty table waits for the first scrape only
// until a scrape has succeeded; then it says the page carries no known
// convention (wrapped to the width, so the advice at its end shows), or
// that a convention was read but names no dependency.
func TestEmptyTableSaysWhy(t *testing.T) {
	const tgt = "http://127.0.0.1:9101/metrics"
	snap := func(success bool, profiles ...string) *model.Snapshot {
		s := &model.Snapshot{Time: t0, Window: time.Minute,
			Targets:     []model.TargetHealth{{URL: tgt, Up: true, LastScrape: t0, Profiles: profiles}},
			Conventions: []string{"envoy", "haproxy", "otel", "resilience4j", "resiltop", "spring"}}
		if success {
			s.Targets[0].LastSuccess = t0
		}
		return s
	}
	mustContain(t, screen(testModel(t, Options{}, 80, 24, snap(false))), "no dependencies yet — waiting for the first scrape")
	for _, w := range []int{40, 80, 120} {
		s := screen(testModel(t, Options{}, w, 24, snap(true)))
		mustNotContain(t, s, "waiting for the first scrape")
		flat := strings.Join(strings.Fields(s), " ")
		mustContain(t, flat, "no dependencies: the page of 127.0.0.1:9101 carries no known convention (envoy, haproxy, otel, resilience4j, resiltop, spring)",
			"is it the right /metrics? --profile or a profiles: mapping in --config can help")
	}
	mustContain(t, screen(testModel(t, Options{}, 120, 24, snap(true, "otel"))),
		"no dependencies: 127.0.0.1:9101 reads as [otel] but names no dependency yet")
}

// TestCursorStaysOnTopUntilMoved: until the user moves the cursor it stays
// on the top row (the worst), whatever the first snapshot ranked first;
// once moved, or once a detail is opened, it follows its dependency.
func TestCursorStaysOnTopUntilMoved(t *testing.T) {
	// The first snapshot of a fresh demo: mail happened to rank first.
	first := fixture()
	first.Dependencies[0], first.Dependencies[1] = first.Dependencies[1], first.Dependencies[0]
	m := testModel(t, Options{}, 120, 40, first)
	wantSel(t, m, "mail")
	m = step(m, snapshotMsg{seq: 2, snap: fixture()})
	wantSel(t, m, "pg")
	m = press(t, m, "s") // sorting is not moving: the top row, now by name
	wantSel(t, m, "cache")
	m = press(t, m, "S", "a") // nor is reversing or grouping
	wantSel(t, m, "upstream_payments")

	for _, keys := range [][]string{{"j", "k"}, {"down", "up"}, {"G", "g"}, {"enter"}} {
		m := press(t, testModel(t, Options{}, 120, 40, fixture()), keys...)
		wantSel(t, m, "pg")
		m = step(m, snapshotMsg{seq: 2, snap: first})
		if keys[0] == "enter" {
			mustContain(t, screen(m), "pg @ 127.0.0.1:8080")
		}
		wantSel(t, m, "pg") // followed to the second row
	}
	wheel := step(testModel(t, Options{}, 120, 40, fixture()), tea.MouseWheelMsg{Button: tea.MouseWheelDown})
	wheel = step(wheel, snapshotMsg{seq: 2, snap: first})
	wantSel(t, wheel, "mail")
	if wheel.table.cursor != 0 {
		t.Fatalf("cursor on row %d, want mail's row 0", wheel.table.cursor)
	}
}

// TestSortMarkOnItsColumn: every sort shows its direction on the sorted
// column's own header, at 80 and 120 columns, even for a column the width
// would otherwise drop; the default order, worst first, shows none.
func TestSortMarkOnItsColumn(t *testing.T) {
	for _, w := range []int{80, 120} {
		header := func(m Model) string {
			for _, l := range strings.Split(screen(m), "\n") {
				if strings.HasPrefix(l, "NAME") {
					return l
				}
			}
			t.Fatalf("no table header:\n%s", screen(m))
			return ""
		}
		m := testModel(t, Options{}, w, 24, fixture())
		if h := header(m); strings.ContainsAny(h, "▲▼") {
			t.Errorf("%d columns: the default order is marked: %q", w, h)
		}
		mustContain(t, header(press(t, m, "S")), "FINDINGS▲")
		// Each press of s, the header it marks, in its natural direction.
		for _, want := range []string{"NAME▲", "BREAKER▼", "CALLS/s▼", "ERR%▼", "T/O/s▼", "RETRY%▼",
			"p50▼", "p99▼", "POOL▼", "BULKHEAD▼", "PENDING▼"} {
			m = press(t, m, "s")
			mustContain(t, header(m), want)
			rev := strings.NewReplacer("▲", "▼", "▼", "▲").Replace(want)
			mustContain(t, header(press(t, m, "S")), rev)
		}
	}
}

// TestHelpFitsNarrowScreens: `?` lists each key once, and at 40×12 every
// enabled key, quit included, is on the screen (flowed into the columns
// that fit instead of cut off at the right).
func TestHelpFitsNarrowScreens(t *testing.T) {
	for _, sz := range [][2]int{{40, 12}, {80, 24}, {120, 40}} {
		m := press(t, testModel(t, Options{Scenarios: &fakeScenarios{}}, sz[0], sz[1], fixture()), "?")
		s := screen(m)
		help := s[strings.Index(s, "\n"):] // below the header, which says "window 1m" where it fits
		if n := strings.Count(help, "window"); n != 1 {
			t.Errorf("%dx%d: %d mentions of window, want one help entry:\n%s", sz[0], sz[1], n, s)
		}
		for _, b := range m.keys.FullHelp() {
			for _, k := range b {
				if k.Enabled() {
					h := k.Help()
					re := regexp.MustCompile(`(^|\s)` + regexp.QuoteMeta(h.Key) + ` +` + regexp.QuoteMeta(h.Desc[:min(4, len(h.Desc))]))
					if !re.MatchString(s) {
						t.Errorf("%dx%d: help lacks %s %s:\n%s", sz[0], sz[1], h.Key, h.Desc, s)
					}
				}
			}
		}
	}
}

// TestColumnsDropByPriority: as the width shrinks (or a HALF_OPEN row
// widens BREAKER) columns go in priority order, so a narrower column of
// lower priority never takes the place of a dropped one: the columns do not
// swap when a breaker changes state.
func TestColumnsDropByPriority(t *testing.T) {
	for _, multi := range []bool{false, true} {
		for _, brkW := range []int{8, 11, 13} { // "● CLOSED", "◐ HALF_OPEN", "▣ FORCED_OPEN"
			for width := 20; width <= 200; width++ {
				tm := tableModel{multi: multi, nameW: 5, brkW: brkW}
				cols, _ := tm.layout(width)
				shown := map[colID]bool{}
				for _, c := range cols {
					shown[c] = true
				}
				for _, c := range cols {
					for h := range numCols {
						if h == colTarget && !multi {
							continue
						}
						if columns[h].prio < columns[c].prio && !shown[h] {
							t.Errorf("multi=%v breaker %d wide, %d columns: %s (prio %d) shown but %s (prio %d) dropped",
								multi, brkW, width, columns[c].title, columns[c].prio, columns[h].title, columns[h].prio)
						}
					}
				}
			}
		}
	}
}
