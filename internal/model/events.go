package model

import (
	"fmt"
	"math"
	"strconv"
)

// eventLog is a bounded ring of events, oldest first.
type eventLog struct {
	max   int
	buf   []Event
	start int // index of the oldest event once the ring is full
}

// add appends e, dropping the oldest event when full.
func (l *eventLog) add(e Event) {
	if len(l.buf) < l.max {
		l.buf = append(l.buf, e)
		return
	}
	l.buf[l.start] = e
	l.start = (l.start + 1) % len(l.buf)
}

// list returns a copy of the events, oldest first.
func (l *eventLog) list() []Event {
	out := make([]Event, 0, len(l.buf))
	out = append(out, l.buf[l.start:]...)
	return append(out, l.buf[:l.start]...)
}

// breakerEvents logs what changed about a breaker between two scrapes: a
// state change the gauge shows, and transitions the counter saw that the
// gauge could not (a short OPEN between two scrapes).
func (s *Store) breakerEvents(target, dep string, prev, cur *sample) {
	seen := 0.0
	if known(prev.breaker) && known(cur.breaker) && prev.breaker != cur.breaker {
		seen = 1
		s.events.add(Event{Time: cur.t, Target: target, Dependency: dep,
			Message: fmt.Sprintf("breaker %s → %s", prev.breaker, cur.breaker)})
	}
	// A forced open seen only through rejections (forcedByRejections) comes
	// from or goes to an unknown state, which the line above cannot show.
	if r, pr := cur.v[fForcedRejections], prev.v[fForcedRejections]; !math.IsNaN(r) && !math.IsNaN(pr) {
		switch {
		case cur.breaker == BreakerForcedOpen && !known(prev.breaker):
			s.events.add(Event{Time: cur.t, Target: target, Dependency: dep, Message: fmt.Sprintf(
				"breaker forced_open: %s calls rejected since the last scrape", num(counterDelta(pr, r)))})
		case prev.breaker == BreakerForcedOpen && !known(cur.breaker):
			s.events.add(Event{Time: cur.t, Target: target, Dependency: dep,
				Message: "breaker no longer forced_open: no calls rejected since the last scrape"})
		}
	}
	p, c := prev.v[fTransitions], cur.v[fTransitions]
	if math.IsNaN(p) || math.IsNaN(c) {
		return
	}
	unseen := counterDelta(p, c) - seen
	if unseen < 1 {
		return
	}
	n := strconv.FormatFloat(unseen, 'f', -1, 64)
	word := "transitions"
	if unseen == 1 {
		word = "transition"
	}
	msg := fmt.Sprintf("%s %s between scrapes (breaker %s)", n, word, cur.breaker)
	if seen > 0 {
		msg = fmt.Sprintf("%s more %s between scrapes", n, word)
	}
	s.events.add(Event{Time: cur.t, Target: target, Dependency: dep, Message: msg})
}

// known reports whether a breaker state was reported.
func known(b BreakerState) bool { return b != BreakerUnknown && b != "" }

// Note adds an event that comes from resiltop itself rather than from a
// scrape (the recording stopped, say) to the event log.
func (s *Store) Note(e Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events.add(e)
}
