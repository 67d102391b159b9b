package scrape

import (
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Chunk sizes of the slabs: a chunk holds about as many objects as the last
// page used, within these bounds.
const (
	minChunk = 64
	maxChunk = 1 << 16
)

// slab hands out objects carved from chunks, so a page of thousands of
// samples costs a handful of allocations instead of several per sample. A
// chunk is never reused once handed out: pages outlive the next scrape
// when a caller keeps them, so slots still free in the current chunk are
// all that carries over to the next page.
type slab[T any] struct {
	free []T
	used int // objects handed out since the last sizing
	size int // objects per new chunk
}

// get returns a zero T.
func (s *slab[T]) get() *T {
	if len(s.free) == 0 {
		s.free = make([]T, max(s.size, minChunk))
	}
	p := &s.free[0]
	s.free = s.free[1:]
	s.used++
	return p
}

// carve returns a slice of length n and capacity c (c ≥ n) of zero Ts.
func (s *slab[T]) carve(n, c int) []T {
	if c > maxChunk {
		return make([]T, n, c)
	}
	if len(s.free) < c {
		s.free = make([]T, max(s.size, minChunk, c))
	}
	out := s.free[:n:c]
	s.free = s.free[c:]
	s.used += c
	return out
}

// resize sets the next chunk's size from this page's use.
func (s *slab[T]) resize() {
	s.size = min(max(s.used, minChunk), maxChunk)
	s.used = 0
}

// slabs are the dto objects of one target's pages.
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

func (s *slabs) resize() {
	s.metrics.resize()
	s.counters.resize()
	s.gauges.resize()
	s.untyped.resize()
	s.histograms.resize()
	s.summaries.resize()
	s.buckets.resize()
	s.quantiles.resize()
	s.floats.resize()
	s.uints.resize()
	s.pairPtrs.resize()
	s.bucketPtrs.resize()
	s.quantPtrs.resize()
	s.metricPtrs.resize()
	s.families.resize()
	s.timestamps.resize()
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
