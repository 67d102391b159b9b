package ui

import (
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
)

// filterModel is the `/` input: a regex over dependency names and targets,
// inverted by a leading "!". It filters as you type; an invalid regex is
// shown as an error and the last valid filter stays in force.
type filterModel struct {
	input  textinput.Model
	active bool
	err    string
}

func newFilter() filterModel {
	in := textinput.New()
	in.Prompt = "/"
	in.Placeholder = "regex, !regex inverts"
	in.CharLimit = 256
	return filterModel{input: in}
}

// open focuses the input, keeping the current expression for editing.
func (f filterModel) open() (filterModel, tea.Cmd) {
	f.active = true
	return f, f.input.Focus()
}

// handleKey edits the expression: enter keeps it, esc clears it. changed
// reports whether the expression changed and must be re-applied.
func (f filterModel) handleKey(msg tea.KeyPressMsg) (filterModel, bool, tea.Cmd) {
	switch msg.String() {
	case "enter":
		f.active = false
		f.input.Blur()
		return f, false, nil
	case "esc":
		f.active, f.err = false, ""
		f.input.Blur()
		f.input.SetValue("")
		return f, true, nil
	}
	before := f.input.Value()
	var cmd tea.Cmd
	f.input, cmd = f.input.Update(msg)
	return f, f.input.Value() != before, cmd
}

// Update passes non-key messages (cursor blink) to the input.
func (f filterModel) Update(msg tea.Msg) (filterModel, tea.Cmd) {
	var cmd tea.Cmd
	f.input, cmd = f.input.Update(msg)
	return f, cmd
}

// View is the input line with any error, or the applied filter when the
// input is closed; "" when there is no filter.
func (f filterModel) View(width int, st styles) string {
	var s string
	switch {
	case f.active:
		f.input.SetWidth(max(1, width-len(f.err)-4))
		s = f.input.View()
	case f.input.Value() != "":
		s = "filter: " + f.input.Value()
	}
	if f.err != "" {
		s += "  " + st.errText.Render(f.err)
	}
	return fit(s, width)
}
