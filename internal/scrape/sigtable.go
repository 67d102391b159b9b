package scrape

import (
	"sync"

	dto "github.com/prometheus/client_model/go"
)

// sigTables are the tables of the pages being assembled.
var sigTables = sync.Pool{New: func() any { return new(sigTable) }}

// sigTable maps label-set signatures to metrics for the length of one
// page: open addressing over a power-of-two table reused between pages, a
// few times faster than a Go map here, where keys are already hashes.
// Tables are shared by every target's pages through sigTables: with one
// per target, 1,000 targets kept 1,000 tables, each cold in the cache
// when its page came (a third of a page's assembly was waiting on them).
type sigTable struct {
	keys []uint64
	vals []*dto.Metric // nil: free
	n    int
}

// reset empties the table, dropping its references to the last page.
// Clearing costs the table's size, not its use: a table grown by a
// target's first, full page (tens of thousands of series) would cost more
// to clear than the filtered pages after it cost to read, so one that the
// last page filled to less than an eighth shrinks to fit it.
func (t *sigTable) reset() {
	if t.n == 0 {
		return
	}
	if size := tableSize(t.n); size <= len(t.keys)/4 {
		t.keys, t.vals = make([]uint64, size), make([]*dto.Metric, size)
	} else {
		clear(t.vals)
	}
	t.n = 0
}

// tableSize is the size of a table that holds n entries with room to
// spare: a power of two, at least 64, at most half full.
func tableSize(n int) int {
	size := 64
	for size < 4*n {
		size *= 2
	}
	return size
}

// get returns the metric stored under k, or nil.
func (t *sigTable) get(k uint64) *dto.Metric {
	if t.n == 0 {
		return nil
	}
	mask := uint64(len(t.keys) - 1)
	for i := k & mask; t.vals[i] != nil; i = (i + 1) & mask {
		if t.keys[i] == k {
			return t.vals[i]
		}
	}
	return nil
}

// put stores m under k, replacing what was there.
func (t *sigTable) put(k uint64, m *dto.Metric) {
	if 2*(t.n+1) > len(t.keys) {
		t.grow()
	}
	mask := uint64(len(t.keys) - 1)
	i := k & mask
	for ; t.vals[i] != nil; i = (i + 1) & mask {
		if t.keys[i] == k {
			t.vals[i] = m
			return
		}
	}
	t.keys[i], t.vals[i] = k, m
	t.n++
}

func (t *sigTable) grow() {
	keys, vals := t.keys, t.vals
	size := max(tableSize(0), 2*len(keys))
	t.keys, t.vals, t.n = make([]uint64, size), make([]*dto.Metric, size), 0
	for i, v := range vals {
		if v != nil {
			t.put(keys[i], v)
		}
	}
}
