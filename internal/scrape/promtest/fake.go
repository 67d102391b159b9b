package promtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Series is one series a Fake holds: its labels, __name__ included.
type Series struct {
	Labels map[string]string
	Value  float64
}

// Fake answers Prometheus's HTTP API from a fixed set of series, for the
// cases a real Prometheus cannot be made to produce on demand: error
// answers, warnings, partial responses, and a fleet of a thousand instances
// without a thousand targets. It understands only the queries resiltop
// sends: `name{…}`, `{__name__=~"a|b",…}`, `timestamp(up{…})` and
// `count(up{…})`; label matchers other than __name__ are recorded, not
// applied.
type Fake struct {
	mu sync.Mutex
	// Series are every series, `up` and scrape_duration_seconds included.
	Series []Series
	// Time is the timestamp of every sample (unix seconds).
	Time float64
	// Types is the metadata API's answer, family name → type; nil answers
	// an empty metadata set.
	Types map[string]string
	// Warnings and Partial go into every query answer.
	Warnings []string
	Partial  bool
	// LastErrors are the targets API's lastError by instance (health
	// down); the API lists every instance with an `up` series, scraped
	// every 15s.
	LastErrors map[string]string
	// Fail, when it returns true, has written the whole response itself.
	Fail func(w http.ResponseWriter, r *http.Request) bool
	// Queries are the queries received, in order.
	Queries []string
}

// Set replaces the series and their time.
func (f *Fake) Set(series []Series, time float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Series, f.Time = series, time
}

// ServeHTTP implements http.Handler.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.Fail != nil && f.Fail(w, r) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/api/v1/metadata":
		md := map[string][]map[string]string{}
		for name, typ := range f.Types {
			md[name] = []map[string]string{{"type": typ, "help": "", "unit": ""}}
		}
		writeJSON(w, map[string]any{"status": "success", "data": md})
	case "/api/v1/targets":
		var active []map[string]any
		for _, s := range f.Series {
			if s.Labels["__name__"] != "up" {
				continue
			}
			inst := s.Labels["instance"]
			t := map[string]any{"labels": map[string]string{"instance": inst}, "health": "up", "lastError": "", "scrapeInterval": "15s"}
			if msg, ok := f.LastErrors[inst]; ok {
				t["health"], t["lastError"] = "down", msg
			}
			active = append(active, t)
		}
		writeJSON(w, map[string]any{"status": "success", "data": map[string]any{"activeTargets": active}})
	case "/api/v1/query":
		q := r.FormValue("query")
		f.Queries = append(f.Queries, q)
		_, _ = w.Write(f.answer(q))
	case "/api/v1/query_range":
		q := r.FormValue("query")
		f.Queries = append(f.Queries, q)
		start, err1 := strconv.ParseFloat(r.FormValue("start"), 64)
		end, err2 := strconv.ParseFloat(r.FormValue("end"), 64)
		step, err3 := strconv.ParseFloat(r.FormValue("step"), 64)
		if err1 != nil || err2 != nil || err3 != nil || step <= 0 || (end-start)/step > 11000 {
			http.Error(w, `{"status":"error","errorType":"bad_data","error":"bad range"}`, http.StatusBadRequest)
			return
		}
		_, _ = w.Write(f.matrix(q, start, end, step))
	default:
		http.NotFound(w, r)
	}
}

// Answer returns the body of an instant query's answer.
func (f *Fake) Answer(query string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.answer(query)
}

func (f *Fake) answer(q string) []byte {
	var b strings.Builder
	b.WriteString(`{"status":"success","data":{"resultType":"vector","result":[`)
	n := 0
	emit := func(labels map[string]string, v float64) {
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		b.WriteString(`{"metric":{`)
		keys := make([]string, 0, len(labels))
		for k := range labels {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%q:%q", k, labels[k])
		}
		fmt.Fprintf(&b, `},"value":[%.3f,"%s"]}`, f.Time, strconv.FormatFloat(v, 'g', -1, 64))
	}
	switch {
	case strings.HasPrefix(q, "count("):
		c := 0
		for _, s := range f.Series {
			if s.Labels["__name__"] == "up" {
				c++
			}
		}
		emit(map[string]string{}, float64(c))
	case strings.HasPrefix(q, "timestamp("):
		for _, s := range f.Series {
			if s.Labels["__name__"] == "up" {
				emit(without(s.Labels, "__name__"), f.Time)
			}
		}
	default:
		names := queryNames(q)
		for _, s := range f.Series {
			if slices.Contains(names, s.Labels["__name__"]) {
				emit(s.Labels, s.Value)
			}
		}
	}
	b.WriteString(`]}`)
	if len(f.Warnings) > 0 {
		w, _ := json.Marshal(f.Warnings)
		b.WriteString(`,"warnings":`)
		b.Write(w)
	}
	if f.Partial {
		b.WriteString(`,"isPartial":true`)
	}
	b.WriteString(`}`)
	return []byte(b.String())
}

// matrix answers a range query: every series holds its value at every
// step, and `timestamp(up)` is the step's own time (a scrape at each step).
func (f *Fake) matrix(q string, start, end, step float64) []byte {
	var b strings.Builder
	b.WriteString(`{"status":"success","data":{"resultType":"matrix","result":[`)
	n := 0
	emit := func(labels map[string]string, v func(t float64) float64) {
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		l, _ := json.Marshal(labels)
		b.WriteString(`{"metric":`)
		b.Write(l)
		b.WriteString(`,"values":[`)
		for i := 0; start+float64(i)*step <= end+1e-9; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			t := start + float64(i)*step
			fmt.Fprintf(&b, `[%.3f,"%s"]`, t, strconv.FormatFloat(v(t), 'g', -1, 64))
		}
		b.WriteString(`]}`)
	}
	timestamps := strings.HasPrefix(q, "timestamp(")
	names := queryNames(strings.TrimPrefix(q, "timestamp("))
	for _, s := range f.Series {
		if !slices.Contains(names, s.Labels["__name__"]) {
			continue
		}
		if timestamps {
			emit(without(s.Labels, "__name__"), func(t float64) float64 { return t })
			continue
		}
		v := s.Value
		emit(s.Labels, func(float64) float64 { return v })
	}
	b.WriteString(`]}}`)
	return []byte(b.String())
}

// queryNames returns the metric names a selector asks for.
func queryNames(q string) []string {
	if _, rest, ok := strings.Cut(q, `__name__=~"`); ok {
		list, _, _ := strings.Cut(rest, `"`)
		return strings.Split(list, "|")
	}
	name, _, _ := strings.Cut(q, "{")
	return []string{name}
}

func without(m map[string]string, key string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	_ = json.NewEncoder(w).Encode(v)
}

// Fleet returns the series of instances replicas of a service in
// resiltop's convention (docs/CONVENTION.md), job "orders", instance
// "10.0.I.J:8080": per instance an `up` of 1, a scrape duration, and four
// dependencies of 27 series each (calls by outcome, retries, breaker state
// and transitions, timeout, bulkhead, pool, pending, and an 8-bucket
// attempt-duration histogram), 108 in all. Values grow with tick, so two
// calls with different ticks give rates.
func Fleet(instances int, tick float64) []Series {
	bounds := []string{"0.01", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"}
	out := make([]Series, 0, instances*110)
	for i := range instances {
		inst := fmt.Sprintf("10.0.%d.%d:8080", i/250, i%250)
		add := func(name string, v float64, kv ...string) {
			l := map[string]string{"__name__": name, "job": "orders", "instance": inst}
			for j := 0; j+1 < len(kv); j += 2 {
				l[kv[j]] = kv[j+1]
			}
			out = append(out, Series{Labels: l, Value: v})
		}
		add("up", 1)
		add("scrape_duration_seconds", 0.002)
		for d, dep := range []string{"pg", "mail", "stock", "search"} {
			rate := tick * float64(10+d)
			add("resilience_calls_total", rate*0.9, "dependency", dep, "outcome", "success")
			add("resilience_calls_total", rate*0.08, "dependency", dep, "outcome", "failure")
			add("resilience_calls_total", rate*0.02, "dependency", dep, "outcome", "timeout")
			add("resilience_retries_total", rate*0.05, "dependency", dep)
			for _, st := range []string{"closed", "open", "half_open", "forced_open", "disabled"} {
				add("resilience_circuit_breaker_state", boolValue(st == "closed"), "dependency", dep, "state", st)
			}
			add("resilience_circuit_breaker_transitions_total", 2, "dependency", dep, "from", "closed", "to", "open")
			add("resilience_timeout_seconds", 3, "dependency", dep)
			add("resilience_bulkhead_in_flight", 4, "dependency", dep)
			add("resilience_bulkhead_max_concurrent", 20, "dependency", dep)
			add("resilience_pool_connections", 3, "dependency", dep, "state", "active")
			add("resilience_pool_connections", 5, "dependency", dep, "state", "idle")
			add("resilience_pool_max_connections", 32, "dependency", dep)
			add("resilience_pending_operations", 1, "dependency", dep)
			for k, le := range bounds {
				add("resilience_attempt_duration_seconds_bucket", rate*float64(k+1)/float64(len(bounds)), "dependency", dep, "le", le)
			}
			add("resilience_attempt_duration_seconds_sum", rate*0.2, "dependency", dep)
			add("resilience_attempt_duration_seconds_count", rate, "dependency", dep)
		}
	}
	return out
}

// FleetTypes is the metadata of Fleet's families.
var FleetTypes = map[string]string{
	"resilience_calls_total": "counter", "resilience_retries_total": "counter",
	"resilience_circuit_breaker_state": "gauge", "resilience_circuit_breaker_transitions_total": "counter",
	"resilience_timeout_seconds": "gauge", "resilience_bulkhead_in_flight": "gauge",
	"resilience_bulkhead_max_concurrent": "gauge", "resilience_pool_connections": "gauge",
	"resilience_pool_max_connections": "gauge", "resilience_pending_operations": "gauge",
	"resilience_attempt_duration_seconds": "histogram",
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
