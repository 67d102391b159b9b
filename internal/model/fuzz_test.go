package model

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// bucketsFromBytes decodes (bound, count) float64 pairs, 16 bytes each.
func bucketsFromBytes(b []byte) []Bucket {
	var out []Bucket
	for len(b) >= 16 {
		out = append(out, Bucket{
			UpperBound: math.Float64frombits(binary.LittleEndian.Uint64(b)),
			Count:      math.Float64frombits(binary.LittleEndian.Uint64(b[8:])),
		})
		b = b[16:]
	}
	return out
}

// bucketBytes encodes buckets for the seed corpus.
func bucketBytes(bs []Bucket) []byte {
	var out []byte
	for _, b := range bs {
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(b.UpperBound))
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(b.Count))
	}
	return out
}

func FuzzHistogramQuantile(f *testing.F) {
	for _, bs := range [][]Bucket{testhistogramPositive, testhistogramNegative, testhistogram2, nonmonotonic, mixedIns1, mixedIns2, nil} {
		for _, q := range []float64{0, 0.5, 0.99, 1, -1, 2, math.NaN()} {
			f.Add(q, bucketBytes(bs))
		}
	}
	// Found by fuzzing: interpolation rounds a hair past the bucket's bound.
	f.Add(1.0, bucketBytes(bk(-0.09839154411764708, 1.398043286095289e-76, 0.0014763327205882355, 2.252896376470588e+06, inf, 1.398043286095289e-76)))
	f.Fuzz(func(t *testing.T, q float64, raw []byte) {
		bs := bucketsFromBytes(raw)
		got := HistogramQuantile(q, bs)
		sane := q >= 0 && q <= 1
		lo, hi := 0.0, math.Inf(-1)
		for _, b := range bs {
			if math.IsNaN(b.UpperBound) || math.IsNaN(b.Count) || b.Count < 0 || b.Count > 1e15 {
				sane = false
			}
			lo = math.Min(lo, b.UpperBound)
			if !math.IsInf(b.UpperBound, +1) {
				hi = math.Max(hi, b.UpperBound)
			}
		}
		if !sane || math.IsNaN(got) {
			return
		}
		// Interpolation may round past a bound by an ulp or so, as in Prometheus.
		eps := 1e-9 * (math.Abs(lo) + math.Abs(hi) + 1)
		if got < lo-eps || got > hi+eps {
			t.Fatalf("HistogramQuantile(%v, %v) = %v, outside [%v, %v]", q, bs, got, lo, hi)
		}
	})
}

func FuzzIngest(f *testing.F) {
	f.Add([]byte(page(pg{dep: "pg", success: 1, buckets: []float64{1, 2, 3, 4}})),
		[]byte(page(pg{dep: "pg", success: 9, failure: 3, retries: 30, buckets: []float64{1, 5, 7, 9}, state: "open"})))
	if files, err := filepath.Glob(filepath.Join("testdata", "model", "*.prom")); err == nil {
		for i := 0; i+1 < len(files); i++ {
			a, errA := os.ReadFile(files[i])
			b, errB := os.ReadFile(files[i+1])
			if errA == nil && errB == nil {
				f.Add(a, b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		s := newStore(StoreOptions{})
		for i, body := range [][]byte{a, b, a} {
			sc := Scrape{Target: "t", Time: at(float64(i))}
			p := expfmt.NewTextParser(model.UTF8Validation)
			fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
			if err != nil {
				sc.Err = err
			} else {
				sc.Page = pageOf(fams)
			}
			s.Ingest(sc)
		}
		snap := s.Snapshot(at(2), time.Minute)
		for _, d := range snap.Dependencies {
			for name, v := range map[string]Value{
				"calls/s": d.CallsPerSecond, "timeouts/s": d.TimeoutsPerSecond, "retries/s": d.RetriesPerSecond,
				"retry ratio": d.RetryRatio, "rejected/s": d.Bulkhead.RejectedPerSecond,
				"created/s": d.Pending.CreatedPerSecond, "resolved/s": d.Pending.ResolvedPerSecond,
				"transitions": d.Breaker.Transitions,
			} {
				if float64(v) < 0 {
					t.Fatalf("%s: %s = %v < 0", d.Name, name, v)
				}
			}
			if r := float64(d.ErrorRatio); r < 0 || r > 1 {
				t.Fatalf("%s: error ratio %v outside [0,1]", d.Name, r)
			}
			for _, p := range d.History {
				if float64(p.CallsPerSecond) < 0 || float64(p.ErrorRatio) < 0 || float64(p.ErrorRatio) > 1 {
					t.Fatalf("%s: step %+v out of range", d.Name, p)
				}
				for _, r := range p.Buckets {
					if r < 0 {
						t.Fatalf("%s: negative bucket rate %v", d.Name, r)
					}
				}
			}
		}
	})
}
