package ui

import "charm.land/bubbles/v2/key"

// keyMap is the UI's one keymap; the footer and the `?` help are generated
// from it, so what is shown is what works.
type keyMap struct {
	Up, Down, Top, Bottom key.Binding
	Enter, Back           key.Binding
	Group                 key.Binding
	Filter                key.Binding
	Sort, Reverse         key.Binding
	Pause                 key.Binding
	WiderWindow           key.Binding
	NarrowerWindow        key.Binding
	Spark                 key.Binding
	Scrape                key.Binding
	ForceOpen, Close      key.Binding
	Disable               key.Binding
	Events                key.Binding
	Scenario              key.Binding
	StepBack, StepForward key.Binding
	Slower, Faster        key.Binding
	PrevFinding           key.Binding
	NextFinding           key.Binding
	Help                  key.Binding
	Quit                  key.Binding
}

// newKeyMap returns the keymap; read-only removes the admin keys, and the
// scenario key exists only in the demo. A replay has its own keys (step,
// speed, jump between finding changes), space pauses the replay itself, and
// it has no admin or scrape keys: there is nothing live to act on. The
// group key starts off: rebuild turns it on once a snapshot has several
// targets to group across.
func newKeyMap(readOnly, demo, replay bool) keyMap {
	k := keyMap{
		// Pairs of keys share one help entry (the help is short enough
		// for 40×12): Up stands for Down, Top for Bottom, WiderWindow
		// for NarrowerWindow.
		Up:             key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("↑↓/jk", "move")),
		Down:           key.NewBinding(key.WithKeys("j", "down")),
		Top:            key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g/G", "top/bottom")),
		Bottom:         key.NewBinding(key.WithKeys("G", "end")),
		Enter:          key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "detail")),
		Back:           key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Group:          key.NewBinding(key.WithKeys("a"), key.WithHelp("a", groupHelp(false))),
		Filter:         key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter (!inverts)")),
		Sort:           key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort column")),
		Reverse:        key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "reverse sort")),
		Pause:          key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "pause")),
		WiderWindow:    key.NewBinding(key.WithKeys("+", "="), key.WithHelp("+/-", "window")),
		NarrowerWindow: key.NewBinding(key.WithKeys("-", "_")),
		Spark:          key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "trend p99/err")),
		Scrape:         key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "scrape now")),
		ForceOpen:      key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "force open")),
		Close:          key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "close")),
		Disable:        key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "disable")),
		Events:         key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "events")),
		Scenario:       key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "scenario")),
		// Replay pairs share one help entry, like the window's +/-.
		StepBack:    key.NewBinding(key.WithKeys("left"), key.WithHelp("←/→", "step")),
		StepForward: key.NewBinding(key.WithKeys("right")),
		Slower:      key.NewBinding(key.WithKeys("["), key.WithHelp("[/]", "speed")),
		Faster:      key.NewBinding(key.WithKeys("]")),
		PrevFinding: key.NewBinding(key.WithKeys("{"), key.WithHelp("{/}", "finding changes")),
		NextFinding: key.NewBinding(key.WithKeys("}")),
		Help:        key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:        key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
	if replay {
		k.Pause.SetHelp("space", "pause")
		k.Scrape.SetEnabled(false)
	}
	for _, b := range []*key.Binding{&k.StepBack, &k.StepForward, &k.Slower, &k.Faster, &k.PrevFinding, &k.NextFinding} {
		b.SetEnabled(replay)
	}
	if readOnly || replay {
		k.ForceOpen.SetEnabled(false)
		k.Close.SetEnabled(false)
		k.Disable.SetEnabled(false)
	}
	k.Scenario.SetEnabled(demo)
	k.Group.SetEnabled(false)
	return k
}

// ShortHelp is the footer: the keys an on-call engineer needs first.
func (k keyMap) ShortHelp() []key.Binding {
	if k.StepBack.Enabled() { // a replay: its transport first
		return []key.Binding{k.Help, k.Quit, k.Pause, k.StepBack, k.Slower, k.PrevFinding, k.Enter, k.Group, k.Filter,
			k.Events, k.Sort, k.WiderWindow}
	}
	return []key.Binding{k.Help, k.Quit, k.Enter, k.Group, k.Filter, k.Pause, k.ForceOpen, k.Close, k.Scenario, k.Events, k.Sort, k.WiderWindow}
}

// FullHelp is the `?` screen, grouped by purpose.
func (k keyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Top, k.Enter, k.Back},
		{k.Group, k.Filter, k.Sort, k.Reverse, k.Spark, k.Pause, k.WiderWindow},
		{k.StepBack, k.Slower, k.PrevFinding, k.Scrape, k.ForceOpen, k.Close, k.Disable, k.Events, k.Scenario, k.Help, k.Quit},
	}
}

// groupHelp names what the group key does next: "aggregate by name" folds
// the dependencies of one name across targets into one row.
func groupHelp(grouped bool) string {
	if grouped {
		return "ungroup targets"
	}
	return "group by name"
}
