package scrape

import dto "github.com/prometheus/client_model/go"

// sigTable maps label-set signatures to metrics for the length of one
// page: open addressing over a power-of-two table reused between pages, a
// few times faster than a Go map here, where keys are already hashes.
type sigTable struct {
	keys []uint64
	vals []*dto.Metric // nil: free
	n    int
}

// reset empties the table, dropping its references to the last page.
func (t *sigTable) reset() {
	clear(t.vals)
	t.n = 0
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
	size := max(64, 2*len(keys))
	t.keys, t.vals, t.n = make([]uint64, size), make([]*dto.Metric, size), 0
	for i, v := range vals {
		if v != nil {
			t.put(keys[i], v)
		}
	}
}
