package app

import (
	"errors"

	"resiltop/internal/model"
	"resiltop/internal/record"
)

// sink is where scrapes go: the Store, and the recording when --record is
// given. ingest is called by one goroutine at a time (a Source's emit).
type sink struct {
	store   *model.Store
	rec     *record.Writer // nil when not recording
	stopped bool           // the recording stopped; said once in the event log
}

// ingest hands s to the Store, then appends it to the recording, then
// releases the page (nothing keeps it: its reader may decode the target's
// next page into its memory). A recording that stops (full, or the disk
// failed) says so once in the event log; the header shows it from
// Writer.Status.
func (k *sink) ingest(s model.Scrape) {
	defer s.Page.Release()
	k.store.Ingest(s)
	if k.rec == nil || k.stopped {
		return
	}
	err := k.rec.Write(s)
	switch {
	case err == nil:
		return
	case errors.Is(err, record.ErrFull):
		k.stopped = true
		k.note(s, "recording stopped: the file reached --record-max; later scrapes are not recorded")
	case k.rec.Err() != nil:
		k.stopped = true
		k.note(s, "recording stopped: "+err.Error())
	default:
		k.note(s, "scrape not recorded: "+err.Error())
	}
}

func (k *sink) note(s model.Scrape, msg string) {
	k.store.Note(model.Event{Time: s.Time.Add(s.Duration), Target: s.Target, Message: msg})
}
