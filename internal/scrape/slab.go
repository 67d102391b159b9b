package scrape

import (
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Bounds of a slab's chunk, in objects.
const (
	minChunk = 64
	maxChunk = 1 << 16
)

// slab hands out objects carved from chunks, so a page of thousands of
// samples costs a few allocations per type instead of several per sample.
// A page's first chunk of a type is sized by what the last page used, so
// one usually suffices. A slot is handed out once per page: the chunks
// belong to the page until it is released (model.Page.Release), and are
// then zeroed and carved again for a later page, so that a target's pages
// reuse one set of warm memory instead of each allocating its own.
type slab[T any] struct {
	chunks [][]T // the chunks of this slab, carved in order
	next   int   // chunks[next:] are not carved yet on this page
	free   []T   // the rest of the chunk being carved
	used   int   // objects handed out for this page
	size   int   // objects the last page used, plus a margin
}

// get returns a zero T.
func (s *slab[T]) get() *T {
	if len(s.free) == 0 {
		s.free = s.take(1)
	}
	p := &s.free[0]
	s.free = s.free[1:]
	s.used++
	return p
}

// carve returns a slice of length n and capacity c (c ≥ n) of zero Ts.
func (s *slab[T]) carve(n, c int) []T {
	if len(s.free) < c {
		if c > maxChunk {
			return make([]T, n, c)
		}
		s.free = s.take(c)
	}
	out := s.free[:n:c]
	s.free = s.free[c:]
	s.used += c
	return out
}

// take returns the next chunk that holds at least n objects: a kept one,
// else a new one sized by chunk.
func (s *slab[T]) take(n int) []T {
	for s.next < len(s.chunks) {
		c := s.chunks[s.next]
		s.next++
		if len(c) >= n {
			return c
		}
	}
	c := make([]T, s.chunk(n))
	s.chunks = append(s.chunks, c)
	s.next = len(s.chunks)
	return c
}

// chunk is the size of a new chunk holding at least n objects: the rest of
// what the last page used, or a quarter of it once that is exceeded.
func (s *slab[T]) chunk(n int) int {
	rest := s.size - s.used
	if rest < minChunk {
		rest = max(minChunk, s.size/4)
	}
	return min(max(rest, n), maxChunk)
}

// done ends the page: what it used sizes the next one's first chunk.
func (s *slab[T]) done() {
	s.size = min(s.used+s.used/8, maxChunk)
	s.used, s.free = 0, nil
}

// reset zeroes what the page used, for the next page to carve again. The
// chunks are dropped instead when they hold far more than the last page
// used (the full first read of a page later read filtered), so a target
// keeps about one filtered page's worth.
func (s *slab[T]) reset() {
	total := 0
	for _, c := range s.chunks {
		total += len(c)
	}
	if total > 2*s.size+minChunk {
		s.chunks = nil
	} else {
		for _, c := range s.chunks[:s.next] {
			clear(c)
		}
	}
	s.next = 0
}

func (s *slab[T]) sized() int      { return s.size }
func (s *slab[T]) resize(size int) { s.size = size }

// slabber is what an arena does with each of its slabs.
type slabber interface {
	done()
	reset()
	sized() int
	resize(int)
}

// slabs are the dto objects of one page: an arena, handed to the page
// when it is read and back to the Reader when the page is released.
type slabs struct {
	metrics    slab[dto.Metric]
	counters   slab[dto.Counter]
	gauges     slab[dto.Gauge]
	untyped    slab[dto.Untyped]
	histograms slab[dto.Histogram]
	summaries  slab[dto.Summary]
	buckets    slab[dto.Bucket]
	quantiles  slab[dto.Quantile]
	floats     slab[float64]
	uints      slab[uint64]
	pairPtrs   slab[*dto.LabelPair]
	bucketPtrs slab[*dto.Bucket]
	quantPtrs  slab[*dto.Quantile]
	metricPtrs slab[*dto.Metric]
	families   slab[dto.MetricFamily]
	timestamps slab[timestamppb.Timestamp]
}

// nSlabs is the number of slabs in slabs.
const nSlabs = 16

func (s *slabs) each() [nSlabs]slabber {
	return [nSlabs]slabber{&s.metrics, &s.counters, &s.gauges, &s.untyped, &s.histograms, &s.summaries,
		&s.buckets, &s.quantiles, &s.floats, &s.uints, &s.pairPtrs, &s.bucketPtrs, &s.quantPtrs,
		&s.metricPtrs, &s.families, &s.timestamps}
}

// done ends the page and returns what each slab used, to size a new arena.
func (s *slabs) done() (sizes [nSlabs]int) {
	for i, sl := range s.each() {
		sl.done()
		sizes[i] = sl.sized()
	}
	return sizes
}

// reset readies a released arena for another page.
func (s *slabs) reset() {
	for _, sl := range s.each() {
		sl.reset()
	}
}

// resize sizes a new arena's first chunks like the last page's.
func (s *slabs) resize(sizes [nSlabs]int) {
	for i, sl := range s.each() {
		sl.resize(sizes[i])
	}
}

func (s *slabs) float(v float64) *float64 {
	p := s.floats.get()
	*p = v
	return p
}

func (s *slabs) uint(v uint64) *uint64 {
	p := s.uints.get()
	*p = v
	return p
}

// appendBucket appends b to bs, growing into a fresh carve of twice the
// capacity when full (buckets of one histogram usually arrive together, so
// the first carve, sized by the last page's widest histogram, mostly fits).
func (s *slabs) appendBucket(bs []*dto.Bucket, b *dto.Bucket, hint int) []*dto.Bucket {
	if len(bs) == cap(bs) {
		n := s.bucketPtrs.carve(len(bs), max(2*cap(bs), hint, 4))
		copy(n, bs)
		bs = n
	}
	return append(bs, b)
}

func (s *slabs) appendQuantile(qs []*dto.Quantile, q *dto.Quantile) []*dto.Quantile {
	if len(qs) == cap(qs) {
		n := s.quantPtrs.carve(len(qs), max(2*cap(qs), 8))
		copy(n, qs)
		qs = n
	}
	return append(qs, q)
}
