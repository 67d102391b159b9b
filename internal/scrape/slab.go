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
// one usually suffices. Chunks are dropped when the page is done: a slot
// is never handed out twice (the caller may keep pages), and a chunk kept
// for the next page would keep this page alive through it, and with it
// every chunk its objects point into.
type slab[T any] struct {
	free []T
	used int // objects handed out for this page
	size int // objects the last page used, plus a margin
}

// get returns a zero T.
func (s *slab[T]) get() *T {
	if len(s.free) == 0 {
		s.free = make([]T, s.chunk(1))
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
		s.free = make([]T, s.chunk(c))
	}
	out := s.free[:n:c]
	s.free = s.free[c:]
	s.used += c
	return out
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

// release drops the chunk of the page just read and sizes the next page's.
func (s *slab[T]) release() {
	s.free = nil
	s.size = min(s.used+s.used/8, maxChunk)
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

func (s *slabs) release() {
	s.metrics.release()
	s.counters.release()
	s.gauges.release()
	s.untyped.release()
	s.histograms.release()
	s.summaries.release()
	s.buckets.release()
	s.quantiles.release()
	s.floats.release()
	s.uints.release()
	s.pairPtrs.release()
	s.bucketPtrs.release()
	s.quantPtrs.release()
	s.metricPtrs.release()
	s.families.release()
	s.timestamps.release()
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
