package ui

import (
	"strings"
	"testing"

	"resiltop/internal/admin"
	"resiltop/internal/model"
)

// TestGroupKey checks what the group key does to the rows, the header, the
// footer, the detail and the filter.
func TestGroupKey(t *testing.T) {
	cases := []struct {
		name  string
		snap  func() *model.Snapshot
		keys  []string
		check func(t *testing.T, m Model)
	}{
		{"a groups the replicas' rows by name", replicas, []string{"a"}, func(t *testing.T, m Model) {
			if !m.grouped || len(m.table.view) != 2 {
				t.Fatalf("grouped %v, %d rows, want 2", m.grouped, len(m.table.view))
			}
			for _, r := range m.table.rows {
				if got := r.cells[colTarget]; got != "3 targets" {
					t.Errorf("%s: TARGET %q, want 3 targets", r.dep.Name, got)
				}
			}
			wantSel(t, m, "pg")
			lines := strings.Split(screen(m), "\n")
			mustContain(t, lines[0], "· grouped ·")
			mustContain(t, lines[len(lines)-1], "a ungroup targets")
		}},
		{"a again ungroups, onto the worst member of the selected name", replicas, []string{"a", "j", "a"}, func(t *testing.T, m Model) {
			if m.grouped || len(m.table.view) != 6 {
				t.Fatalf("grouped %v, %d rows, want 6", m.grouped, len(m.table.view))
			}
			if r := m.table.selected(); r.dep.Name != "mail" || r.dep.Target != rep3 {
				t.Fatalf("selected %s@%s, want mail@%s (the worst mail)", r.dep.Name, r.dep.Target, rep3)
			}
			s := screen(m)
			mustNotContain(t, strings.Split(s, "\n")[0], "grouped")
			mustContain(t, s, "a group by name")
		}},
		{"enter on a grouped row opens its worst member's detail", replicas, []string{"a", "enter"}, func(t *testing.T, m Model) {
			mustContain(t, screen(m), "pg @ 10.0.0.1:8080  ✖ OPEN",
				"worst of 3 grouped targets (a ungroups): 10.0.0.1:8080, 10.0.0.3:8080, 10.0.0.2:8080",
				"calls 20/s") // the member's own numbers, not the group's 75/s
		}},
		{"the filter matches a grouped row by any of its targets", replicas, []string{"a", "/", "0", ".", "0", ".", "2", "enter"}, func(t *testing.T, m Model) {
			if n := len(m.table.view); n != 2 {
				t.Fatalf("%d rows, want both groups (each runs on 10.0.0.2)", n)
			}
		}},
		{"with one target the key is off and not offered", func() *model.Snapshot { return manyDeps(3) }, []string{"a"}, func(t *testing.T, m Model) {
			if m.grouped {
				t.Fatal("grouped a single target")
			}
			mustNotContain(t, screen(m), "group by name")
			mustNotContain(t, screen(press(t, m, "?")), "group by name")
		}},
		{"? lists the key", replicas, []string{"?"}, func(t *testing.T, m Model) {
			mustContain(t, screen(m), "a     group by name")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.check(t, press(t, testModel(t, Options{}, 120, 40, c.snap()), c.keys...))
		})
	}
}

// TestGroupedAdmin checks that an admin key on a row grouped across targets
// refuses and says how to act, and that a single target's row still asks.
func TestGroupedAdmin(t *testing.T) {
	withLedger := func() *model.Snapshot {
		s := replicas()
		d := s.Dependencies[5] // mail on 10.0.0.1, findings-free
		d.Name = "ledger"
		s.Dependencies = append(s.Dependencies, d)
		return s
	}
	cases := []struct {
		name     string
		snap     func() *model.Snapshot
		keys     []string
		want     []string
		absent   []string
		resolved int // admin clients asked for
		calls    int // actions sent
	}{
		{
			name: "a grouped row refuses and says to ungroup", snap: replicas, keys: []string{"a", "o", "y"},
			want:   []string{"pg runs on 3 targets: press a to ungroup, then pick the target to force open"},
			absent: []string{"y = yes", "pending"},
		},
		{
			name: "in a grouped row's detail too", snap: replicas, keys: []string{"a", "enter", "c", "y"},
			want: []string{"pg runs on 3 targets: press a to ungroup, then pick the target to close"},
		},
		{
			name: "ungrouped, the same row asks naming its target", snap: replicas, keys: []string{"a", "o", "a", "o"},
			want:     []string{"Force OPEN the breaker of «pg» on target " + rep1 + "?"},
			resolved: 1,
		},
		{
			name: "a name on one target keeps its target and asks", snap: withLedger, keys: []string{"a", "G", "x", "y"},
			want:     []string{"ledger: → DISABLED (pending)"},
			resolved: 1, calls: 1,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sw := &fakeSwitch{}
			var targets []string
			opts := Options{Switch: func(target string) (admin.Switch, error) {
				targets = append(targets, target)
				return sw, nil
			}}
			m := press(t, testModel(t, opts, 120, 40, c.snap()), c.keys...)
			s := screen(m)
			mustContain(t, s, c.want...)
			mustNotContain(t, s, c.absent...)
			if len(targets) != c.resolved || len(sw.calls) != c.calls {
				t.Errorf("admin clients for %v, actions %v; want %d and %d", targets, sw.calls, c.resolved, c.calls)
			}
			for _, tg := range targets {
				if tg != rep1 {
					t.Errorf("admin client for %s, want only %s", tg, rep1)
				}
			}
		})
	}
}
