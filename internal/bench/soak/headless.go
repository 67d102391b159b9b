package main

import (
	"fmt"
	"runtime/debug"
	"sync"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// headless runs a Bubble Tea model the way tea.Program does, minus the
// terminal: every command runs in its own goroutine and its message comes
// back to Update, one at a time, on the caller's goroutine; View is called
// when the caller renders. The soak reads the screen from View.
type headless struct {
	model tea.Model
	msgs  chan tea.Msg
	done  chan struct{}
	cmds  sync.WaitGroup
	quit  bool
}

func newHeadless(m tea.Model) *headless {
	return &headless{model: m, msgs: make(chan tea.Msg, 64), done: make(chan struct{})}
}

// start runs Init's command and sizes the screen.
func (h *headless) start(width, height int) error {
	h.exec(h.model.Init())
	return h.update(tea.WindowSizeMsg{Width: width, Height: height})
}

// exec runs cmd in a goroutine and queues its message.
func (h *headless) exec(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	h.cmds.Add(1)
	go func() {
		defer h.cmds.Done()
		msg := cmd()
		if msg == nil {
			return
		}
		select {
		case h.msgs <- msg:
		case <-h.done:
		}
	}()
}

// update applies one message as tea.Program does: a batch runs its
// commands, Quit stops, anything else goes to the model. A panic in the
// model is returned as an error, so the soak can report it with its seed.
func (h *headless) update(msg tea.Msg) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("Update panicked on %T: %v\n%s", msg, r, debug.Stack())
		}
	}()
	switch msg := msg.(type) {
	case tea.BatchMsg:
		for _, c := range msg {
			h.exec(c)
		}
		return nil
	case tea.QuitMsg:
		h.quit = true
		return nil
	}
	next, cmd := h.model.Update(msg)
	h.model = next
	h.exec(cmd)
	return nil
}

// view renders the screen as plain text; a panic is returned as an error.
func (h *headless) view() (s string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("View panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return ansi.Strip(h.model.View().Content), nil
}

// stop releases the commands still waiting to deliver a message and waits
// for them; commands blocked on something else (a timer, a channel the
// caller closes) finish on their own first.
func (h *headless) stop() {
	close(h.done)
	h.cmds.Wait()
}
