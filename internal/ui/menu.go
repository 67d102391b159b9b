package ui

import (
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"
)

// scenarioMenu is the demo's `f` menu: pick a dependency, then a scenario,
// or the burst item below the dependencies. Letters jump to the next item
// starting with them, so `f p ⏎ o ⏎` reads "pg → outage" and `f b ⏎` sends
// a burst of orders.
type scenarioMenu struct {
	active  bool
	stage   int // 0: dependency, 1: scenario
	items   []string
	cursor  int
	dep     string
	current string // the dependency's scenario when stage 1 opened
	burst   bool   // the burst item was chosen
}

// burstItem is the menu's last item at stage 0: a load burst, not a dependency.
const burstItem = "burst of orders (load spike)"

// open starts the menu at the selected dependency when pgsim knows it.
func (s scenarioMenu) open(sc ScenarioControl, selected string) scenarioMenu {
	if sc == nil {
		return s
	}
	deps := sc.Dependencies()
	s = scenarioMenu{active: len(deps) > 0, items: append(slices.Clip(deps), burstItem)}
	s.cursor = max(0, slices.Index(deps, selected))
	return s
}

// Update moves, jumps and chooses; apply reports that a scenario was chosen
// (dep and choice()) and the menu is closed.
func (s scenarioMenu) Update(msg tea.KeyPressMsg, sc ScenarioControl) (menu scenarioMenu, apply bool) {
	switch k := msg.String(); k {
	case "esc", "q":
		return scenarioMenu{}, false
	case "up", "k":
		s.cursor = max(0, s.cursor-1)
	case "down", "j":
		s.cursor = min(len(s.items)-1, s.cursor+1)
	case "enter":
		if s.cursor >= len(s.items) {
			return scenarioMenu{}, false
		}
		if s.stage == 1 {
			s.active = false
			return s, true
		}
		if s.items[s.cursor] == burstItem {
			s.active, s.burst = false, true
			return s, true
		}
		s.dep = s.items[s.cursor]
		s.stage, s.items = 1, sc.ScenarioNames()
		s.current = sc.Scenario(s.dep)
		s.cursor = max(0, slices.Index(s.items, s.current))
	default:
		if len(msg.Text) == 1 {
			s.cursor = s.jump(msg.Text)
		}
	}
	return s, false
}

// jump finds the next item after the cursor starting with prefix.
func (s scenarioMenu) jump(prefix string) int {
	for i := 1; i <= len(s.items); i++ {
		j := (s.cursor + i) % len(s.items)
		if strings.HasPrefix(s.items[j], prefix) {
			return j
		}
	}
	return s.cursor
}

// choice is the item under the cursor.
func (s scenarioMenu) choice() string {
	if s.cursor < 0 || s.cursor >= len(s.items) {
		return ""
	}
	return s.items[s.cursor]
}

// View lists the items, the cursor marked with ">" and the current
// scenario with "(current)".
func (s scenarioMenu) View(width int, st styles) string {
	var b strings.Builder
	if s.stage == 0 {
		b.WriteString("Scenario for which dependency, or a burst? (letter jumps, enter picks, esc cancels)")
	} else {
		b.WriteString("Scenario for " + s.dep + ":")
	}
	for i, it := range s.items {
		b.WriteString("\n")
		if i == s.cursor {
			b.WriteString("> ")
		} else {
			b.WriteString("  ")
		}
		b.WriteString(it)
		if s.stage == 1 && it == s.current {
			b.WriteString(" (current)")
		}
	}
	return st.dialog.Width(max(10, min(width, 80))).Render(b.String())
}
