package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"

	"resiltop/internal/admin"
	"resiltop/internal/model"
)

// expectedState is the breaker state a scrape must show for an action to
// count as confirmed.
var expectedState = map[admin.Action]model.BreakerState{
	admin.ForceOpen: model.BreakerForcedOpen,
	admin.Close:     model.BreakerClosed,
	admin.Disable:   model.BreakerDisabled,
}

// shows reports whether a scraped breaker state confirms the expected one.
// A close also counts as confirmed by an unknown state: conventions with no
// breaker state machine (Envoy's maintenance mode) can show "forced open"
// while rejections rise, and after a close only that it stopped.
func shows(state, expect model.BreakerState) bool {
	return state == expect || (expect == model.BreakerClosed && state == model.BreakerUnknown)
}

// actionWords name actions in the confirmation and the event log.
var actionWords = map[admin.Action]string{
	admin.ForceOpen: "Force OPEN",
	admin.Close:     "Close",
	admin.Disable:   "Disable",
}

// confirmModel is the confirmation dialog of an admin action.
type confirmModel struct {
	active bool
	action admin.Action
	target string
	dep    string
	sw     admin.Switch
}

// View names the action, the dependency and the target.
func (c confirmModel) View(width int, st styles) string {
	body := actionWords[c.action] + " the breaker of «" + c.dep + "» on target " + c.target + "?\n" +
		"y = yes, any other key = cancel"
	return st.dialog.Width(max(10, min(width, 90))).Render(body)
}

// actState is where an admin action stands.
type actState int

const (
	actPending      actState = iota // sent, or answered; waiting for a scrape to show the state
	actUnknown                      // timed out: it may have taken; verifying by scrapes
	actConfirmed                    // a scrape shows the expected state
	actNotConfirmed                 // no scrape showed it within confirmDeadline
	actFailed                       // the endpoint said no (401, 404, refused, …)
)

// adminAction tracks one action from confirmation to verification.
type adminAction struct {
	id       int
	target   string
	dep      string
	action   admin.Action
	expect   model.BreakerState
	sentAt   time.Time
	doneAt   time.Time // when it reached a final state
	state    actState
	reported string // the state the endpoint answered with
	err      string
}

// note is the row's text for the action, e.g. "→ FORCED_OPEN (pending)".
func (a adminAction) note() string {
	want := "→ " + strings.ToUpper(string(a.expect))
	switch a.state {
	case actUnknown:
		return want + " (outcome unknown — verifying)"
	case actConfirmed:
		return want + " (confirmed)"
	case actNotConfirmed:
		return want + " (not confirmed)"
	case actFailed:
		return want + " not applied: " + a.err
	}
	return want + " (pending)"
}

func (a adminAction) final() bool { return a.state >= actConfirmed }

// askSwitch starts an admin action on the selected dependency: it resolves
// the target's admin client in a Cmd, then opens the confirmation.
func (m Model) askSwitch(action admin.Action) (tea.Model, tea.Cmd) {
	r := m.table.selected()
	if m.mode == modeEvents || r == nil {
		return m.setStatus("select a dependency first", false), nil
	}
	if m.opts.Switch == nil {
		return m.setStatus("breaker actions are not available: no admin endpoint configured", false), nil
	}
	if n := len(r.dep.Members); n > 1 {
		// An action reaches one target's admin endpoint; guessing which
		// replica a grouped row means would act on something not named.
		return m.setStatus(fmt.Sprintf("%s runs on %d targets: press a to ungroup, then pick the target to %s",
			r.dep.Name, n, strings.ToLower(actionWords[action])), false).relayout(), nil
	}
	req := confirmModel{action: action, target: r.dep.Target, dep: r.dep.Name}
	resolve := m.opts.Switch
	return m, func() tea.Msg {
		sw, err := resolve(req.target)
		return switchResolvedMsg{req: req, sw: sw, err: err}
	}
}

// switchResolved opens the confirmation, or explains why there is none
// (for example how to provide an admin token).
func (m Model) switchResolved(msg switchResolvedMsg) Model {
	if msg.err != nil {
		return m.setStatus("cannot "+strings.ToLower(actionWords[msg.req.action])+" "+msg.req.dep+": "+msg.err.Error(), false).relayout()
	}
	if msg.sw == nil {
		return m.setStatus("no admin endpoint for "+msg.req.target, false).relayout()
	}
	m.confirm = msg.req
	m.confirm.active, m.confirm.sw = true, msg.sw
	return m.relayout()
}

// handleConfirm: `y` sends the action, any other key cancels.
func (m Model) handleConfirm(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	c := m.confirm
	m.confirm = confirmModel{}
	if msg.String() != "y" {
		m = m.logEvent(c.target, c.dep, actionWords[c.action]+" cancelled")
		return m.setStatus(actionWords[c.action]+" "+c.dep+": cancelled", true).relayout(), nil
	}
	m.actionID++
	a := adminAction{
		id: m.actionID, target: c.target, dep: c.dep, action: c.action,
		expect: expectedState[c.action], sentAt: m.opts.Now(),
	}
	m.actions[depKey(c.target, c.dep)] = a
	m = m.logEvent(c.target, c.dep, "admin "+string(c.action)+" requested")
	m = m.setStatus(c.dep+": "+a.note(), true).relayout()
	sw, id, name, action, timeout := c.sw, a.id, c.dep, c.action, m.timeout
	return m, func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		reported, err := sw.Set(ctx, name, action)
		return adminDoneMsg{id: id, reported: reported, err: err}
	}
}

// adminDone records the endpoint's answer; the state is still only
// confirmed by a later scrape.
func (m Model) adminDone(msg adminDoneMsg) Model {
	k, a, ok := m.findAction(msg.id)
	if !ok {
		return m
	}
	a.reported = msg.reported
	switch {
	case msg.err == nil:
		ans := "admin " + string(a.action) + " accepted"
		if msg.reported != "" {
			ans += " (endpoint reports " + msg.reported + ")"
		}
		m = m.logEvent(a.target, a.dep, ans+"; waiting for a scrape to confirm")
	case errors.Is(msg.err, context.DeadlineExceeded):
		a.state = actUnknown
		m = m.logEvent(a.target, a.dep, "admin "+string(a.action)+": no answer within "+fmtDuration(m.timeout)+" — outcome unknown, verifying")
	case errors.Is(msg.err, admin.ErrOutcomeUnknown):
		// A 5xx or a cut connection after the request went out: the
		// service may have made the change, so only a scrape can tell.
		a.state = actUnknown
		m = m.logEvent(a.target, a.dep, "admin "+string(a.action)+": "+msg.err.Error()+" — outcome unknown, verifying")
	default:
		a.state, a.err, a.doneAt = actFailed, plainError(msg.err), m.opts.Now()
		m = m.logEvent(a.target, a.dep, "admin "+string(a.action)+" failed: "+a.err)
	}
	m.actions[k] = a
	m = m.setStatus(a.dep+": "+a.note(), a.state != actFailed)
	return m.verifyActions()
}

func (m Model) findAction(id int) (string, adminAction, bool) {
	for k, a := range m.actions {
		if a.id == id {
			return k, a, true
		}
	}
	return "", adminAction{}, false
}

// plainError words an admin error for an on-call engineer.
func plainError(err error) string {
	switch {
	case errors.Is(err, admin.ErrUnauthorized):
		return "the admin endpoint refused the token (401/403)"
	case errors.Is(err, admin.ErrUnknownName):
		return "the admin endpoint does not know this breaker (404)"
	case errors.Is(err, admin.ErrUnsupported):
		return "this admin endpoint cannot do that"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the admin endpoint refused the connection"
	}
	return err.Error()
}

// verifyActions confirms open actions whose expected state the latest
// snapshot shows from a scrape taken after the action was sent.
func (m Model) verifyActions() Model {
	if m.latest == nil || len(m.actions) == 0 {
		return m
	}
	for k, a := range m.actions {
		if a.final() {
			continue
		}
		for i := range m.latest.Dependencies {
			d := &m.latest.Dependencies[i]
			if d.Target != a.target || d.Name != a.dep {
				continue
			}
			seen := d.LastSeen
			if seen.IsZero() {
				seen = m.latest.Time
			}
			if shows(d.Breaker.State, a.expect) && !d.Stale && !seen.Before(a.sentAt) {
				a.state, a.doneAt = actConfirmed, m.opts.Now()
				m.actions[k] = a
				m = m.logEvent(a.target, a.dep, "breaker "+strings.ToUpper(string(a.expect))+" confirmed by scrape")
				m = m.setStatus(a.dep+": "+a.note(), true)
			}
		}
	}
	return m
}

// expireActions gives up on actions no scrape confirmed in time.
func (m Model) expireActions() Model {
	now := m.opts.Now()
	deadline := confirmDeadline + max(0, m.opts.ConfirmGrace)
	for k, a := range m.actions {
		switch {
		case !a.final() && now.Sub(a.sentAt) >= deadline:
			a.state, a.doneAt = actNotConfirmed, now
			m.actions[k] = a
			m = m.logEvent(a.target, a.dep, "breaker "+strings.ToUpper(string(a.expect))+" not confirmed within "+fmtDuration(deadline))
			m = m.setStatus(a.dep+": "+a.note(), false)
		case a.final() && now.Sub(a.doneAt) >= noteLinger:
			delete(m.actions, k)
		}
	}
	return m
}

// notes are the admin notes shown on rows.
func (m Model) notes() map[string]string {
	if len(m.actions) == 0 {
		return nil
	}
	out := make(map[string]string, len(m.actions))
	for k, a := range m.actions {
		out[k] = a.note()
	}
	return out
}
