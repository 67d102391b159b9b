package profile

import (
	"math"
	"resiltop/internal/model"
	"slices"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
)

// haproxy reads HAProxy's native Prometheus exporter (the
// "prometheus-exporter" service, families haproxy_backend_* and
// haproxy_server_*). The dependency is the backend, from the `proxy` label:
// an HAProxy egress has one backend per downstream service. Frontends
// describe incoming traffic and are ignored.
//
// HAProxy has no circuit breaker; the closest thing it has is a backend with
// no usable server, which answers every request at once with a 503 instead of
// calling anyone, exactly what an open breaker does. So:
//
//   - backend UP → closed;
//   - backend DOWN → open (health checks took every server out);
//   - backend DOWN with every server in maintenance → forced_open: an
//     operator (or resiltop's force-open, "set server B/S state maint")
//     took them out, which is a forced open, not a failure.
//
// The other signals:
//
//   - calls: HTTP responses by class (http_responses_total{code}): 5xx and
//     "other" are failures, everything else a success, because 4xx is the
//     caller's fault and HAProxy's own 503/504 (no server, timeout server)
//     land in 5xx. HAProxy cannot tell a 504 timeout from other 5xx on this
//     page, so no call is counted as a timeout. A TCP-mode backend has no
//     HTTP families: failures are connection_errors + response_errors and
//     successes the remaining sessions_total.
//   - retries: retry_warnings_total + redispatch_warnings_total (HAProxy
//     counts each retry as one or the other, never both).
//   - pool: HAProxy's per-server maxconn with a queue behind it works like a
//     connection pool with waiters, so PoolActive = current_sessions,
//     PoolMax = Σ server limit_sessions (maxconn; unknown when any server is
//     unlimited) and PoolPending = current_queue. The backend's own
//     limit_sessions is its fullconn, a tuning hint rather than a limit, so it
//     is not used. The bulkhead stays unknown: it would be the same numbers
//     again and raise a second finding for one condition.
//   - latency: only averages over the last 1024 successful connections exist,
//     no histogram, so quantiles stay unknown and LatencyMean is the total
//     time (queue + connect + response: what the caller waits), falling back
//     to the response time. During an outage the averages freeze.
//   - transitions: check_up_down_total counts a backend's UP→DOWN changes
//     (maintenance included, as HAProxy 2.6 was seen to do); every such
//     change but the current one was followed by DOWN→UP, so the state
//     changes are 2×down − 1 while the backend is down, 2×down otherwise.
//
// Counts and gauges fall back to the sum over the backend's servers when the
// page was scraped with ?scope=server; averages do not add up, so they don't.
type haproxy struct{}

func init() { register(haproxy{}) }

// HAProxy is the name of the HAProxy native exporter profile.
const HAProxy = "haproxy"

// Name implements Profile.
func (haproxy) Name() string { return HAProxy }

// haproxyFamilies are the families the profile reads: backend series, and
// server series that stand in for them on a ?scope=server page.
var haproxyFamilies = func() []string {
	both := []string{"status", "http_responses_total", "sessions_total", "connection_errors_total",
		"response_errors_total", "retry_warnings_total", "redispatch_warnings_total", "current_sessions", "current_queue"}
	var names []string
	for _, s := range append(both, "agg_server_status", "check_up_down_total", "total_time_average_seconds", "response_time_average_seconds") {
		names = append(names, "haproxy_backend_"+s)
	}
	for _, s := range append(both, "limit_sessions") {
		names = append(names, "haproxy_server_"+s)
	}
	slices.Sort(names)
	return names
}()

// Families implements Profile.
func (haproxy) Families() []string { return haproxyFamilies }

// Detect implements Profile.
func (haproxy) Detect(p *model.Page) bool { return detectAny(p, haproxyFamilies, nil) }

// haproxyBackend gathers one backend's series; be* from the backend
// families, srv* summed over its servers.
type haproxyBackend struct {
	status      string // backend state: "UP", "DOWN", … ; "" when absent
	servers     map[string]string
	aggServers  map[string]float64 // agg_server_status: state → number of servers
	be, srv     map[string]float64 // family suffix → value
	limits      map[string]float64 // server → maxconn
	httpCodes   map[string]float64 // code class → responses (backend)
	srvHTTP     map[string]float64 // code class → responses (servers)
	hasBackend  bool
	downChanges float64
}

func newHAProxyBackend() *haproxyBackend {
	return &haproxyBackend{
		servers: map[string]string{}, aggServers: map[string]float64{},
		be: map[string]float64{}, srv: map[string]float64{}, limits: map[string]float64{},
		httpCodes: map[string]float64{}, srvHTTP: map[string]float64{}, downChanges: nan,
	}
}

// haproxyServerCodes is the pre-2.4 numeric encoding of haproxy_server_status
// (and backend status: 0 DOWN, 1 UP), used when the state label is absent.
var haproxyServerCodes = map[float64]string{0: "DOWN", 1: "UP", 2: "MAINT", 3: "DRAIN", 4: "NOLB"}

// Read implements Profile.
func (haproxy) Read(p *model.Page) []model.Observation {
	backends := map[string]*haproxyBackend{}
	// Samples of one backend come in runs, so the last lookup is reused.
	var lastRaw string
	var last *haproxyBackend
	get := func(m *dto.Metric) *haproxyBackend {
		raw := convLabel(m, "proxy")
		if last != nil && raw == lastRaw {
			return last
		}
		name := raw // the Store cleans names (mergeObservations)
		if name == "" {
			return nil
		}
		b := backends[name]
		if b == nil {
			b = newHAProxyBackend()
			backends[name] = b
		}
		lastRaw, last = raw, b
		return b
	}
	for _, f := range p.Families {
		name := f.GetName()
		var server bool
		var suffix string
		switch {
		case strings.HasPrefix(name, "haproxy_backend_"):
			suffix = strings.TrimPrefix(name, "haproxy_backend_")
		case strings.HasPrefix(name, "haproxy_server_"):
			server, suffix = true, strings.TrimPrefix(name, "haproxy_server_")
		default:
			continue
		}
		if !convIsCounter(f) && !convIsGauge(f) {
			continue
		}
		for _, m := range f.GetMetric() {
			b := get(m)
			if b == nil {
				continue
			}
			v := convNonNeg(convValue(m))
			if server {
				b.readServer(suffix, m, v)
			} else {
				b.readBackend(suffix, m, v)
			}
		}
	}
	names := make([]string, 0, len(backends))
	for n := range backends {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]model.Observation, 0, len(names))
	for _, n := range names {
		o := model.NewObservation(n, HAProxy)
		backends[n].fill(&o)
		out = append(out, o)
	}
	return out
}

func (b *haproxyBackend) readBackend(suffix string, m *dto.Metric, v float64) {
	b.hasBackend = true
	switch suffix {
	case "status":
		if st := convLabel(m, "state"); st != "" {
			if v == 1 {
				b.status = st
			}
		} else if s, ok := haproxyServerCodes[v]; ok && v <= 1 {
			b.status = s
		}
	case "agg_server_status":
		if st := convLabel(m, "state"); st != "" {
			haproxyAdd(b.aggServers, st, v)
		}
	case "http_responses_total":
		haproxyAdd(b.httpCodes, convLabel(m, "code"), v)
	case "check_up_down_total":
		convAdd(&b.downChanges, v)
	default:
		haproxyAdd(b.be, suffix, v)
	}
}

func (b *haproxyBackend) readServer(suffix string, m *dto.Metric, v float64) {
	srv := convLabel(m, "server")
	if srv == "" {
		return
	}
	switch suffix {
	case "status":
		if _, seen := b.servers[srv]; !seen {
			b.servers[srv] = ""
		}
		if st := convLabel(m, "state"); st != "" {
			if v == 1 {
				b.servers[srv] = st
			}
		} else if s, ok := haproxyServerCodes[v]; ok {
			b.servers[srv] = s
		}
	case "limit_sessions":
		b.limits[srv] = v
	case "http_responses_total":
		haproxyAdd(b.srvHTTP, convLabel(m, "code"), v)
	default:
		haproxyAdd(b.srv, suffix, v)
	}
}

// haproxyAdd adds a known v to m[k]; unknown values leave m untouched, so a
// key present in m always holds a number.
func haproxyAdd(m map[string]float64, k string, v float64) {
	if !math.IsNaN(v) {
		m[k] += v
	}
}

// value returns the backend's own series, else the sum over its servers,
// else unknown.
func (b *haproxyBackend) value(suffix string) float64 {
	if v, ok := b.be[suffix]; ok {
		return v
	}
	if v, ok := b.srv[suffix]; ok {
		return v
	}
	return nan
}

// serverStates counts the backend's servers per state, from the server
// families or, on a ?scope=backend page, from agg_server_status.
func (b *haproxyBackend) serverStates() (map[string]float64, float64) {
	counts := map[string]float64{}
	total := 0.0
	if len(b.servers) > 0 {
		for _, st := range b.servers {
			counts[st]++
			total++
		}
		return counts, total
	}
	for st, n := range b.aggServers {
		counts[st] += n
		total += n
	}
	return counts, total
}

// breaker maps the backend's state (see the type's comment).
func (b *haproxyBackend) breaker() model.BreakerState {
	counts, total := b.serverStates()
	status := b.status
	if status == "" && total > 0 {
		// No backend status on the page: the backend is up while any server
		// can take traffic.
		status = "DOWN"
		if counts["UP"]+counts["DRAIN"]+counts["NOLB"] > 0 {
			status = "UP"
		}
	}
	switch status {
	case "UP", "DRAIN", "NOLB":
		return model.BreakerClosed
	case "MAINT":
		return model.BreakerForcedOpen
	case "DOWN":
		if total > 0 && counts["MAINT"] == total {
			return model.BreakerForcedOpen
		}
		return model.BreakerOpen
	}
	return model.BreakerUnknown
}

// fill writes the gathered series into o.
func (b *haproxyBackend) fill(o *model.Observation) {
	o.Breaker = b.breaker()
	if !math.IsNaN(b.downChanges) && b.hasBackend {
		o.Transitions = 2 * b.downChanges
		if (o.Breaker == model.BreakerOpen || o.Breaker == model.BreakerForcedOpen) && b.downChanges > 0 {
			o.Transitions--
		}
	}

	codes := b.httpCodes
	if len(codes) == 0 {
		codes = b.srvHTTP
	}
	if len(codes) > 0 {
		for code, n := range codes {
			if code == "5xx" || code == "other" {
				o.AddCall(model.OutcomeFailure, model.PartID(code), n)
			} else {
				o.AddCall(model.OutcomeSuccess, model.PartID(code), n)
			}
		}
	} else if sessions := b.value("sessions_total"); !math.IsNaN(sessions) {
		// TCP mode: no HTTP families, every session is one call.
		failed := 0.0
		for _, k := range []string{"connection_errors_total", "response_errors_total"} {
			if v := b.value(k); !math.IsNaN(v) {
				failed += v
			}
		}
		o.AddCall(model.OutcomeFailure, 0, failed)
		o.AddCall(model.OutcomeSuccess, 0, math.Max(0, sessions-failed))
	}

	for _, k := range []string{"retry_warnings_total", "redispatch_warnings_total"} {
		o.Add(&o.Retries, model.PartID(k), b.value(k))
	}

	o.PoolActive = b.value("current_sessions")
	o.PoolPending = b.value("current_queue")
	if len(b.limits) > 0 {
		sum := 0.0
		for _, l := range b.limits {
			if !(l > 0) {
				sum = nan // a server without maxconn: no limit to compare against
				break
			}
			sum += l
		}
		o.PoolMax = sum
	}

	// Averages of servers do not add up, so only the backend's own count.
	o.LatencyMean = nan
	for _, k := range []string{"total_time_average_seconds", "response_time_average_seconds"} {
		if v, ok := b.be[k]; ok {
			o.LatencyMean = v
			break
		}
	}
}
