// Package ui is resiltop's terminal dashboard: a Bubble Tea v2 program that
// renders model.Snapshots (header, overview table, findings, detail charts,
// event log) and switches breakers through internal/admin with a
// confirmation, verified by later scrapes.
//
// All I/O runs in tea.Cmds; Update and View never block. The package knows
// no metric names: everything it shows comes from model.Snapshot.
package ui

import (
	"context"
	"errors"
	"slices"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"resiltop/internal/admin"
	"resiltop/internal/model"
)

// Options wire the UI to the engine, the scraper and the admin clients.
type Options struct {
	// Snapshot returns the store's view at now over window. It is cheap and
	// in-memory, and is only called inside a tea.Cmd.
	Snapshot func(now time.Time, window time.Duration) *model.Snapshot
	// Updates is signalled after each ingested scrape, so the screen
	// refreshes promptly; nil means refresh on the interval only.
	Updates <-chan struct{}
	// ScrapeNow asks the sources for an immediate scrape (the `r` key).
	ScrapeNow func()
	// Interval is the scrape interval (shown, and the refresh timer);
	// Window is the initial history window.
	Interval, Window time.Duration
	// Switch returns the admin client for a target; its error (e.g.
	// admin.ErrNoToken) is shown to the user as help.
	Switch func(target string) (admin.Switch, error)
	// ConfirmGrace is how much longer than usual a switched breaker may take
	// to show in a scrape before it reads "not confirmed": in fleet mode
	// the state travels through one more scrape, Prometheus's.
	ConfirmGrace time.Duration
	// ReadOnly removes the admin keys.
	ReadOnly bool
	// Scenarios switches pgsim scenarios; nil unless --demo.
	Scenarios ScenarioControl
	// NoColor gives a monochrome screen; Mouse enables mouse reporting.
	NoColor, Mouse bool
	// Now is the clock; nil means time.Now. Tests pin it. A replay's
	// snapshots are on the recording's clock: its Snapshot ignores the time
	// it is passed and uses the replayed one.
	Now func() time.Time
	// Replay drives a replay (--replay); nil when live. Admin and scrape
	// keys are off in a replay. Its controls may block until applied: they
	// run in Cmds.
	Replay ReplayControl
	// Note returns a short line about the source for the header (the
	// recording's size, or that it stopped); nil or "" for none. It is
	// called in the fetch Cmd, never in View.
	Note func() string
}

// ReplayControl is a replay's transport, as the keys drive it.
type ReplayControl interface {
	State() ReplayState
	TogglePause()
	Step(n int)          // pause and move n scrapes (negative: back)
	Faster()             // ×2, up to ×64
	Slower()             // ×½
	JumpFinding(dir int) // to the next (1) or previous (-1) change of findings, paused
}

// ReplayState is where a replay stands, for the header.
type ReplayState struct {
	Now        time.Time // the replayed time
	Pos, Total int       // scrapes replayed, scrapes in the recording
	Speed      float64
	Paused     bool
	Marked     bool   // the finding changes are known: { and } can jump
	Err        string // why the replay stopped early; "" otherwise
}

// ScenarioControl switches the demo simulator's per-dependency scenarios
// and sends load bursts; *pgsim.Sim implements it.
type ScenarioControl interface {
	Dependencies() []string
	ScenarioNames() []string
	Scenario(dep string) string
	SetScenario(dep, name string) error
	// Burst starts a short burst of orders in the background and returns
	// at once with a description of it.
	Burst() (string, error)
}

// Timings of the admin flow and the refresh.
const (
	adminTimeout    = 5 * time.Second  // one admin call
	confirmDeadline = 10 * time.Second // how long a scrape may take to show the new state
	noteLinger      = 10 * time.Second // a resolved note stays on its row this long
	// statusLinger is how long an informational status line stays: long
	// enough to read, short enough that "scrape requested" does not outlive
	// the scrape. Errors stay until replaced or esc.
	statusLinger    = 5 * time.Second
	defaultInterval = time.Second
	maxUIEvents     = 200
	// minRefresh is the least spacing of the refreshes that ingests
	// trigger (see RefreshGap).
	minRefresh = 200 * time.Millisecond
)

// windows are the choices of `+` and `-`.
var windows = []time.Duration{30 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute}

type mode int

const (
	modeOverview mode = iota
	modeDetail
	modeEvents
)

// Messages.
type (
	snapshotMsg struct {
		seq    int
		snap   *model.Snapshot
		frozen bool // fetched for the paused display, at the pause time
		note   string
		replay *ReplayState // nil when live
	}
	updatedMsg        struct{}
	controlledMsg     struct{} // a replay control was applied
	updatesClosedMsg  struct{}
	tickMsg           time.Time
	scrapeStartedMsg  struct{}
	switchResolvedMsg struct {
		req confirmModel
		sw  admin.Switch
		err error
	}
	adminDoneMsg struct {
		id       int
		reported string
		err      error
	}
	scenarioDoneMsg struct {
		dep, name string
		err       error
	}
	burstDoneMsg struct {
		desc string
		err  error
	}
)

// Model is the root Bubble Tea model.
type Model struct {
	opts   Options
	keys   keyMap
	st     styles
	help   help.Model
	width  int
	height int

	window  time.Duration
	latest  *model.Snapshot // newest from the store: admin outcomes are checked here
	shown   *model.Snapshot // what is displayed; frozen while paused
	seq     int             // last fetch issued
	applied int             // last fetch applied
	// fetchedAt is when the last refresh was issued, by the clock.
	fetchedAt time.Time
	paused    bool
	pauseAt   time.Time
	grouped   bool // one row per dependency name across targets (the group key)

	mode     mode
	table    tableModel
	detail   detailModel
	events   eventsModel
	filter   filterModel
	confirm  confirmModel
	menu     scenarioMenu
	actions  map[string]adminAction
	actionID int
	uiEvents []model.Event
	timeout  time.Duration // of one admin call; adminTimeout except in tests
	status   string
	statusOK bool         // status is information, not an error
	statusAt time.Time    // when status was set, by the clock
	note     string       // Options.Note's last line
	replay   *ReplayState // the replay's state at the last fetch; nil when live
}

// New returns the root model.
func New(opts Options) tea.Model { return newModel(opts) }

func newModel(opts Options) Model {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Interval <= 0 {
		opts.Interval = defaultInterval
	}
	if opts.Window <= 0 {
		opts.Window = time.Minute
	}
	h := help.New()
	st := newStyles(opts.NoColor)
	if opts.NoColor {
		h.Styles = help.Styles{}
	}
	m := Model{
		opts:    opts,
		keys:    newKeyMap(opts.ReadOnly, opts.Scenarios != nil, opts.Replay != nil),
		st:      st,
		help:    h,
		width:   80,
		height:  24,
		window:  opts.Window,
		actions: map[string]adminAction{},
		filter:  newFilter(),
		timeout: adminTimeout,
		table:   tableModel{empty: waitingMsg},
	}
	return m.relayout()
}

// Run runs the UI until the user quits or ctx is done. The environment
// (NO_COLOR) is read once, by internal/config, into Options.NoColor.
func Run(ctx context.Context, opts Options) error {
	// Signals are the caller's: cmd/resiltop cancels ctx on SIGINT/SIGTERM.
	// Bubble Tea's own handler would race that cancellation and can block
	// forever sending to an event loop that already stopped.
	popts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithoutSignalHandler()}
	if opts.NoColor {
		popts = append(popts, tea.WithColorProfile(colorprofile.Ascii))
	}
	_, err := tea.NewProgram(New(opts), popts...).Run()
	if err != nil && errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil // cancelled from outside: a normal way to stop
	}
	return err
}

// Init starts the first fetch, the refresh timer and the update listener.
func (m Model) Init() tea.Cmd {
	return tea.Batch(m.fetch(m.seq+1, false), m.tick(), m.waitUpdates(0))
}

func (m Model) fetch(seq int, frozen bool) tea.Cmd {
	snapshot, now, window, at := m.opts.Snapshot, m.opts.Now, m.window, m.pauseAt
	note, replay := m.opts.Note, m.opts.Replay
	if snapshot == nil {
		return nil
	}
	return func() tea.Msg {
		t := at
		if !frozen {
			t = now()
		}
		msg := snapshotMsg{seq: seq, snap: snapshot(t, window), frozen: frozen}
		if note != nil {
			msg.note = note()
		}
		if replay != nil {
			st := replay.State()
			msg.replay = &st
		}
		return msg
	}
}

func (m Model) tick() tea.Cmd {
	return tea.Tick(m.opts.Interval, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// RefreshGap is how far apart the screen's ingest-triggered refreshes are
// for a scrape interval: one interval, at least 200 ms. One target's scrape
// still shows as soon as it lands; with 100 targets, whose scrapes land
// every few milliseconds, the screen takes one snapshot a second instead of
// a hundred (a snapshot of every dependency costs more than the scrape
// that triggered it).
func RefreshGap(interval time.Duration) time.Duration {
	return max(minRefresh, interval)
}

// refreshGap spaces ingest-triggered refreshes; a replay's scrapes come as
// fast as its speed, so it refreshes at the least spacing.
func (m Model) refreshGap() time.Duration {
	if m.opts.Replay != nil {
		return minRefresh
	}
	return RefreshGap(m.opts.Interval)
}

// waitUpdates waits, after a pause of gap, for the next ingest signal.
// Signals sent during the pause coalesce in the channel's one slot, so a
// burst of ingests costs one snapshot.
func (m Model) waitUpdates(gap time.Duration) tea.Cmd {
	ch := m.opts.Updates
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		time.Sleep(gap)
		if _, ok := <-ch; !ok {
			return updatesClosedMsg{}
		}
		return updatedMsg{}
	}
}

// refresh issues a new fetch.
func (m Model) refresh(frozen bool) (Model, tea.Cmd) {
	m.seq++
	m.fetchedAt = m.opts.Now()
	return m, m.fetch(m.seq, frozen)
}

// Update handles one message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.SetWidth(msg.Width)
		return m.relayout(), nil
	case snapshotMsg:
		return m.applySnapshot(msg), nil
	case updatedMsg:
		m, cmd := m.refresh(false)
		return m, tea.Batch(cmd, m.waitUpdates(m.refreshGap()))
	case controlledMsg:
		return m.refresh(false)
	case updatesClosedMsg:
		return m, nil
	case tickMsg:
		m = m.expireStatus().expireActions()
		// Ingests refresh the screen; the timer only covers for them when
		// they go quiet (no Updates channel, or no scrape for two
		// intervals), so ages keep ticking without doubling the snapshots.
		if m.opts.Updates != nil && m.opts.Now().Sub(m.fetchedAt) < 2*m.opts.Interval {
			return m, m.tick()
		}
		m, cmd := m.refresh(false)
		return m, tea.Batch(cmd, m.tick())
	case scrapeStartedMsg:
		return m.setStatus("scrape requested", true), nil
	case switchResolvedMsg:
		return m.switchResolved(msg), nil
	case adminDoneMsg:
		return m.adminDone(msg), nil
	case scenarioDoneMsg:
		return m.scenarioDone(msg), nil
	case burstDoneMsg:
		return m.burstDone(msg), nil
	case tea.KeyPressMsg:
		return m.handleKey(msg)
	case tea.MouseWheelMsg:
		if msg.Button == tea.MouseWheelUp {
			return m.moveCursor(-1), nil
		}
		return m.moveCursor(1), nil
	}
	if m.filter.active {
		var cmd tea.Cmd
		m.filter, cmd = m.filter.Update(msg)
		return m, cmd
	}
	return m, nil
}

// applySnapshot stores a fetched snapshot, and shows it unless paused.
func (m Model) applySnapshot(msg snapshotMsg) Model {
	if msg.snap == nil || msg.seq < m.applied {
		return m
	}
	m.applied = msg.seq
	m.note = msg.note
	if msg.replay != nil {
		m.replay = msg.replay
	}
	if !msg.frozen {
		m.latest = msg.snap
		m = m.verifyActions()
	}
	if m.paused && !msg.frozen {
		return m
	}
	m.shown = msg.snap
	return m.rebuild()
}

// rebuild reformats the rows and the detail from the shown snapshot,
// grouped by name when asked. Grouping runs here, once per snapshot, so
// View stays a layout of preformatted cells.
func (m Model) rebuild() Model {
	multi := m.shown != nil && len(m.shown.Targets) > 1
	// The key stays on while grouped so that a target going away never
	// leaves the table grouped with no key to undo it.
	m.keys.Group.SetEnabled(multi || m.grouped)
	m.keys.Group.SetHelp("a", groupHelp(m.grouped))
	snap := m.shown
	if m.grouped && snap != nil {
		g := *snap
		g.Dependencies = model.GroupByName(snap.Dependencies)
		snap = &g
	}
	m.table = m.table.setRows(buildRows(snap, m.table.spark), multi, emptyMessage(snap))
	return m.relayout()
}

// toggleGroup groups or ungroups the rows, keeping the cursor on the same
// dependency name (ungrouping lands on its worst member, the first row)
// once the user has chosen one; until then it stays on the top row.
func (m Model) toggleGroup() Model {
	name := m.selectedName()
	m.grouped = !m.grouped
	m = m.rebuild()
	if m.table.follow {
		m.table = m.table.selectName(name)
	}
	return m.relayout()
}

// handleKey routes a key press: dialogs first, then the filter input, then
// the global keys.
func (m Model) handleKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	if msg.String() == "ctrl+c" {
		return m, tea.Quit
	}
	switch {
	case m.confirm.active:
		return m.handleConfirm(msg)
	case m.menu.active:
		var apply bool
		m.menu, apply = m.menu.Update(msg, m.opts.Scenarios)
		if apply && m.menu.burst {
			return m.relayout(), m.sendBurst()
		}
		if apply {
			return m, m.setScenario(m.menu.dep, m.menu.choice())
		}
		return m.relayout(), nil
	case m.filter.active:
		var cmd tea.Cmd
		var changed bool
		m.filter, changed, cmd = m.filter.handleKey(msg)
		if changed {
			m = m.applyFilter()
		}
		return m.relayout(), cmd
	case m.help.ShowAll:
		m.help.ShowAll = false
		if key.Matches(msg, m.keys.Quit) {
			return m, tea.Quit
		}
		return m, nil
	}
	k := m.keys
	switch {
	case key.Matches(msg, k.Quit):
		return m, tea.Quit
	case key.Matches(msg, k.Help):
		m.help.ShowAll = true
	case key.Matches(msg, k.Up):
		return m.moveCursor(-1), nil
	case key.Matches(msg, k.Down):
		return m.moveCursor(1), nil
	case key.Matches(msg, k.Top):
		m.table = m.table.moveTo(true)
		return m.relayout(), nil
	case key.Matches(msg, k.Bottom):
		m.table = m.table.moveTo(false)
		return m.relayout(), nil
	case key.Matches(msg, k.Enter):
		if m.mode == modeOverview && m.table.selected() != nil {
			// The detail is of the row chosen: a later snapshot ranking
			// another dependency worst must not swap it.
			m.mode, m.table.follow = modeDetail, true
			return m.relayout(), nil
		}
	case key.Matches(msg, k.Back):
		if m.mode != modeOverview {
			m.mode = modeOverview
			return m.relayout(), nil
		}
		m.status = ""
	case key.Matches(msg, k.Group):
		return m.toggleGroup(), nil
	case key.Matches(msg, k.Events):
		if m.mode == modeEvents {
			m.mode = modeOverview
		} else {
			m.mode, m.events.offset = modeEvents, 0
		}
		return m.relayout(), nil
	case key.Matches(msg, k.Filter):
		var cmd tea.Cmd
		m.filter, cmd = m.filter.open()
		return m.relayout(), cmd
	case key.Matches(msg, k.Sort):
		m.table = m.table.cycleSort()
		return m.relayout(), nil
	case key.Matches(msg, k.Reverse):
		m.table = m.table.toggleReverse()
		return m.relayout(), nil
	case key.Matches(msg, k.Spark):
		m.table.spark = 1 - m.table.spark
		return m.rebuild(), nil
	case key.Matches(msg, k.Pause) && m.opts.Replay != nil:
		return m, m.control(m.opts.Replay.TogglePause)
	case key.Matches(msg, k.StepBack):
		return m, m.control(func() { m.opts.Replay.Step(-1) })
	case key.Matches(msg, k.StepForward):
		return m, m.control(func() { m.opts.Replay.Step(1) })
	case key.Matches(msg, k.Slower):
		return m, m.control(m.opts.Replay.Slower)
	case key.Matches(msg, k.Faster):
		return m, m.control(m.opts.Replay.Faster)
	case (key.Matches(msg, k.PrevFinding) || key.Matches(msg, k.NextFinding)) && m.replay != nil && !m.replay.Marked:
		return m.setStatus("finding changes not known yet: still reading the recording", true), nil
	case key.Matches(msg, k.PrevFinding):
		return m, m.control(func() { m.opts.Replay.JumpFinding(-1) })
	case key.Matches(msg, k.NextFinding):
		return m, m.control(func() { m.opts.Replay.JumpFinding(1) })
	case key.Matches(msg, k.Pause):
		m.paused = !m.paused
		if m.paused {
			m.pauseAt = m.opts.Now()
			if m.shown != nil {
				m.pauseAt = m.shown.Time
			}
			return m, nil
		}
		m.shown = m.latest
		m, cmd := m.rebuild().refresh(false)
		return m, cmd
	case key.Matches(msg, k.WiderWindow), key.Matches(msg, k.NarrowerWindow):
		m.window = nextWindow(m.window, key.Matches(msg, k.WiderWindow))
		m, cmd := m.refresh(m.paused)
		return m.relayout(), cmd
	case key.Matches(msg, k.Scrape):
		if f := m.opts.ScrapeNow; f != nil {
			return m, func() tea.Msg { f(); return scrapeStartedMsg{} }
		}
	case key.Matches(msg, k.ForceOpen):
		return m.askSwitch(admin.ForceOpen)
	case key.Matches(msg, k.Close):
		return m.askSwitch(admin.Close)
	case key.Matches(msg, k.Disable):
		return m.askSwitch(admin.Disable)
	case key.Matches(msg, k.Scenario):
		m.menu = m.menu.open(m.opts.Scenarios, m.selectedName())
		return m.relayout(), nil
	}
	return m, nil
}

// control runs a replay control in a Cmd; the controls return once
// applied, and the screen refreshes at once to show the new place.
func (m Model) control(f func()) tea.Cmd {
	return func() tea.Msg { f(); return controlledMsg{} }
}

func (m Model) moveCursor(delta int) Model {
	if m.mode == modeEvents {
		m.events = m.events.scroll(delta)
		return m
	}
	m.table = m.table.moveBy(delta)
	return m.relayout()
}

func (m Model) selectedName() string {
	if r := m.table.selected(); r != nil {
		return r.dep.Name
	}
	return ""
}

// nextWindow steps through windows; a window not in the list steps to its
// neighbour.
func nextWindow(cur time.Duration, wider bool) time.Duration {
	if wider {
		for _, w := range windows {
			if w > cur {
				return w
			}
		}
		return cur
	}
	for _, w := range slices.Backward(windows) {
		if w < cur {
			return w
		}
	}
	return cur
}

func (m Model) applyFilter() Model {
	t, err := m.table.setFilter(m.filter.input.Value())
	if err != nil {
		m.filter.err = err.Error()
		return m
	}
	m.filter.err = ""
	m.table = t
	return m
}

func (m Model) setStatus(s string, ok bool) Model {
	m.status, m.statusOK, m.statusAt = s, ok, m.opts.Now()
	return m
}

// expireStatus clears an informational status line after statusLinger.
func (m Model) expireStatus() Model {
	if m.status == "" || !m.statusOK || m.opts.Now().Sub(m.statusAt) < statusLinger {
		return m
	}
	m.status = ""
	return m.relayout() // the line's room goes back to the table
}

// logEvent records one of the UI's own events (admin actions, scenarios).
func (m Model) logEvent(target, dep, msg string) Model {
	m.uiEvents = append(m.uiEvents, model.Event{Time: m.opts.Now(), Target: target, Dependency: dep, Message: msg})
	if n := len(m.uiEvents) - maxUIEvents; n > 0 {
		m.uiEvents = slices.Delete(m.uiEvents, 0, n)
	}
	return m
}

// allEvents merges the snapshot's events with the UI's own, oldest first.
func (m Model) allEvents() []model.Event {
	var evs []model.Event
	if m.shown != nil {
		evs = append(evs, m.shown.Events...)
	}
	evs = append(evs, m.uiEvents...)
	slices.SortStableFunc(evs, func(a, b model.Event) int { return a.Time.Compare(b.Time) })
	return evs
}

func (m Model) setScenario(dep, name string) tea.Cmd {
	sc := m.opts.Scenarios
	if sc == nil || dep == "" || name == "" {
		return nil
	}
	return func() tea.Msg { return scenarioDoneMsg{dep: dep, name: name, err: sc.SetScenario(dep, name)} }
}

// sendBurst starts the simulator's burst; Burst returns at once, but it is
// I/O all the same, so it runs as a command.
func (m Model) sendBurst() tea.Cmd {
	sc := m.opts.Scenarios
	if sc == nil {
		return nil
	}
	return func() tea.Msg {
		desc, err := sc.Burst()
		return burstDoneMsg{desc: desc, err: err}
	}
}

func (m Model) burstDone(msg burstDoneMsg) Model {
	if msg.err != nil {
		m = m.logEvent("demo", "", "burst not sent: "+msg.err.Error())
		return m.setStatus("burst not sent: "+msg.err.Error(), false)
	}
	m = m.logEvent("demo", "", msg.desc)
	return m.setStatus(msg.desc, true)
}

func (m Model) scenarioDone(msg scenarioDoneMsg) Model {
	if msg.err != nil {
		m = m.logEvent("demo", msg.dep, "scenario "+msg.name+" not set: "+msg.err.Error())
		return m.setStatus("scenario "+msg.name+" for "+msg.dep+" not set: "+msg.err.Error(), false)
	}
	m = m.logEvent("demo", msg.dep, "scenario set to "+msg.name)
	return m.setStatus(msg.dep+": scenario "+msg.name, true)
}
