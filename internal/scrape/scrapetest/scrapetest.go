// Package scrapetest supports tests and benchmarks that need metric pages or
// loopback targets: a generated page in the resiltop convention, the same in
// every benchmark so that ingest and decode numbers can be compared, and a
// helper that serves a handler on 127.0.0.1 for the length of a test.
package scrapetest

import (
	"bytes"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"
)

// Shape of Page10k. The counts are exported so benchmarks can report per-sample costs.
const (
	// Dependencies is the number of dependencies on the page.
	Dependencies = 100
	// Histograms is the number of classic histograms: one
	// resilience_attempt_duration_seconds per dependency and the rest an
	// application's own request histogram that no profile reads.
	Histograms = 600
	// Buckets is the number of buckets per histogram, +Inf included.
	Buckets = 13
	// Samples is the number of sample lines of the text form: every
	// counter and gauge, and per histogram its buckets, _sum and _count.
	Samples = Dependencies*perDependency + Histograms*(Buckets+2)
)

// perDependency is the number of counter and gauge samples each dependency has.
const perDependency = 30

// Bounds are the finite upper bounds of every generated histogram, in seconds:
// they reach past the 1 s timeout the page configures.
var Bounds = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10}

// Formats are the two formats resiltop asks for, protobuf first.
var Formats = []expfmt.Format{expfmt.FmtProtoDelim, expfmt.FmtText}

// Page10k returns the benchmark page in format (expfmt.FmtText or
// expfmt.FmtProtoDelim): 100 dependencies with every family of the resiltop
// convention (docs/CONVENTION.md), and 600 histograms of 13 buckets — Samples
// (12,000) Prometheus series in all, 3,600 metrics as model.Page.Series
// counts them. Every call returns the same bytes, so runs are comparable.
func Page10k(format expfmt.Format) []byte {
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, format)
	for _, f := range Families10k() {
		if err := enc.Encode(f); err != nil {
			panic(fmt.Sprintf("scrapetest: encoding %s: %v", f.GetName(), err))
		}
	}
	return buf.Bytes()
}

// Families10k returns the metric families of Page10k, freshly allocated.
func Families10k() []*dto.MetricFamily {
	b := NewBuilder()
	states := []string{"closed", "open", "half_open", "forced_open", "disabled"}
	outcomes := []string{"success", "failure", "timeout", "short_circuited", "bulkhead_rejected"}
	for d := range Dependencies {
		dep := fmt.Sprintf("dep%03d", d)
		x := float64(d)
		l := func(kv ...string) []*dto.LabelPair { return Labels(append([]string{"dependency", dep}, kv...)...) }
		for i, s := range states {
			v := 0.0
			if i == d%3 { // a third of the breakers open or half-open, so findings fire
				v = 1
			}
			b.Gauge("resilience_circuit_breaker_state", "Circuit breaker state, one-hot.", l("state", s), v)
		}
		b.Counter("resilience_circuit_breaker_transitions_total", "Breaker transitions.", l("from", "closed", "to", "open"), x)
		b.Counter("resilience_circuit_breaker_transitions_total", "Breaker transitions.", l("from", "open", "to", "half_open"), x)
		b.Gauge("resilience_circuit_breaker_last_transition_timestamp_seconds", "Unix time of the last transition.", l(), 1.7e9+x)
		for i, o := range outcomes {
			b.Counter("resilience_calls_total", "Logical calls by outcome.", l("outcome", o), 1e4*x/float64(i+1))
		}
		b.Counter("resilience_retries_total", "Attempts after the first.", l(), 100*x)
		b.Counter("resilience_retries_exhausted_total", "Calls out of attempts.", l(), x)
		b.Gauge("resilience_timeout_seconds", "Per-attempt timeout.", l(), 1)
		b.Gauge("resilience_retry_max_attempts", "Maximum attempts.", l(), 3)
		b.Gauge("resilience_bulkhead_in_flight", "Calls in flight.", l(), math.Mod(x, 25))
		b.Gauge("resilience_bulkhead_max_concurrent", "Bulkhead size.", l(), 25)
		b.Gauge("resilience_pool_connections", "Pool connections by state.", l("state", "active"), math.Mod(x, 10))
		b.Gauge("resilience_pool_connections", "Pool connections by state.", l("state", "idle"), 10-math.Mod(x, 10))
		b.Gauge("resilience_pool_max_connections", "Pool size.", l(), 10)
		b.Gauge("resilience_pool_pending_acquires", "Waiters for a connection.", l(), math.Mod(x, 3))
		b.Counter("resilience_pool_acquire_timeouts_total", "Acquire timeouts.", l(), x)
		b.Gauge("resilience_pending_operations", "Operations of unknown outcome.", l(), x)
		b.Gauge("resilience_pending_oldest_age_seconds", "Age of the oldest pending operation.", l(), 3*x)
		b.Counter("resilience_pending_created_total", "Pending operations created.", l(), 50*x)
		for _, o := range []string{"success", "failure", "expired"} {
			b.Counter("resilience_pending_resolved_total", "Pending operations resolved.", l("outcome", o), 10*x)
		}
		b.histogram("resilience_attempt_duration_seconds", "Duration of every attempt.", l(), 1000*(x+1))
		for h := 1; h < Histograms/Dependencies; h++ {
			b.histogram("app_request_duration_seconds", "The application's own handlers.",
				Labels("handler", fmt.Sprintf("/api/%s/h%d", dep, h)), 500*(x+1))
		}
	}
	return b.Families()
}

// Shape of EnvoyLikePage.
const (
	// EnvoyClusters is the number of upstream clusters on the page.
	EnvoyClusters = 200
	// EnvoyFamilies is the number of per-cluster stat families, one series
	// per cluster each.
	EnvoyFamilies = 100
	// EnvoyWanted is how many of those the Envoy profile reads: 5%.
	EnvoyWanted = 5
	// EnvoySeries is the number of series on the page (20,000).
	EnvoySeries = EnvoyClusters * EnvoyFamilies
)

// EnvoyLikePage returns a text page shaped like Envoy's /stats/prometheus
// of a busy proxy: EnvoyFamilies counter and gauge families sorted by
// name, each with one series per cluster, of which EnvoyWanted (gauges of
// active connections and requests, counters of timeouts and retries) are
// families the Envoy profile reads. No HELP lines, as Envoy writes none.
func EnvoyLikePage() []byte {
	names := []string{"upstream_cx_active", "upstream_rq_active", "upstream_rq_pending_active", "upstream_rq_timeout", "upstream_rq_retry"}
	for i := len(names); i < EnvoyFamilies; i++ {
		names = append(names, fmt.Sprintf("upstream_stat_%02d_bytes", i))
	}
	slices.Sort(names)
	var b bytes.Buffer
	for _, n := range names {
		typ := "counter"
		if strings.HasSuffix(n, "_active") {
			typ = "gauge"
		}
		fmt.Fprintf(&b, "# TYPE envoy_cluster_%s %s\n", n, typ)
		for c := range EnvoyClusters {
			fmt.Fprintf(&b, "envoy_cluster_%s{envoy_cluster_name=\"outbound|8080||svc-%03d.prod.svc.cluster.local\"} %d\n", n, c, c*7+len(n))
		}
	}
	return b.Bytes()
}

// Builder collects metric families in first-use order, for pages that
// tests and bench programs generate.
type Builder struct {
	families []*dto.MetricFamily
	byName   map[string]*dto.MetricFamily
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder { return &Builder{byName: map[string]*dto.MetricFamily{}} }

// Families returns the families added so far, in first-use order.
func (b *Builder) Families() []*dto.MetricFamily { return b.families }

func (b *Builder) family(name, help string, t dto.MetricType) *dto.MetricFamily {
	if f, ok := b.byName[name]; ok {
		return f
	}
	f := &dto.MetricFamily{Name: proto.String(name), Help: proto.String(help), Type: t.Enum()}
	b.byName[name] = f
	b.families = append(b.families, f)
	return f
}

// Counter adds a counter sample to the family name (created on first use).
func (b *Builder) Counter(name, help string, l []*dto.LabelPair, v float64) {
	f := b.family(name, help, dto.MetricType_COUNTER)
	f.Metric = append(f.Metric, &dto.Metric{Label: l, Counter: &dto.Counter{Value: proto.Float64(v)}})
}

// Gauge adds a gauge sample to the family name (created on first use).
func (b *Builder) Gauge(name, help string, l []*dto.LabelPair, v float64) {
	f := b.family(name, help, dto.MetricType_GAUGE)
	f.Metric = append(f.Metric, &dto.Metric{Label: l, Gauge: &dto.Gauge{Value: proto.Float64(v)}})
}

// histogram adds a histogram of n observations spread so that each bucket
// holds a growing share; the +Inf bucket is implied by SampleCount, as
// client_golang does, and written by the encoders.
func (b *Builder) histogram(name, help string, l []*dto.LabelPair, n float64) {
	cum := make([]uint64, len(Bounds))
	for i := range Bounds {
		cum[i] = uint64(n * float64(i+1) / float64(len(Bounds)+1))
	}
	b.Histogram(name, help, l, Bounds, cum, uint64(n), n*0.2)
}

// Histogram adds a classic histogram with finite upper bounds, their
// cumulative counts, and the total count and sum; the +Inf bucket is
// implied by count, as client_golang does, and written by the encoders.
func (b *Builder) Histogram(name, help string, l []*dto.LabelPair, bounds []float64, cum []uint64, count uint64, sum float64) {
	f := b.family(name, help, dto.MetricType_HISTOGRAM)
	h := &dto.Histogram{SampleCount: proto.Uint64(count), SampleSum: proto.Float64(sum)}
	for i, ub := range bounds {
		h.Bucket = append(h.Bucket, &dto.Bucket{UpperBound: proto.Float64(ub), CumulativeCount: proto.Uint64(cum[i])})
	}
	f.Metric = append(f.Metric, &dto.Metric{Label: l, Histogram: h})
}

// Labels turns name, value pairs into label pairs.
func Labels(kv ...string) []*dto.LabelPair {
	out := make([]*dto.LabelPair, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, &dto.LabelPair{Name: proto.String(kv[i]), Value: proto.String(kv[i+1])})
	}
	return out
}

// Serve serves h on a fresh 127.0.0.1 port until the test ends and returns
// the server; its URL is the target base.
func Serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// ServeBytes serves body with contentType on every request until the test
// ends and returns the URL of /metrics.
func ServeBytes(t testing.TB, contentType string, body []byte) string {
	t.Helper()
	srv := Serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	}))
	return srv.URL + "/metrics"
}

// ClosedAddr returns a loopback host:port nothing listens on (bound and
// released at once), for targets that refuse connections.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// PageFiles returns the files matching globs, failing the test when there
// are fewer than least: a moved testdata directory must not make a test
// over every page pass on none.
func PageFiles(t testing.TB, least int, globs ...string) []string {
	t.Helper()
	var files []string
	for _, glob := range globs {
		m, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < least {
		t.Fatalf("only %d pages found in %v", len(files), globs)
	}
	return files
}

// LockedBuffer collects a child process's output for failure messages;
// past 1 MiB it drops the rest.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 1<<20 {
		return len(p), nil
	}
	return b.buf.Write(p)
}

// String returns what was written.
func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
