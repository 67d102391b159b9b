package profile

import (
	"math"
	"resiltop/internal/model"
	"slices"
	"sort"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
)

// envoy reads Envoy's cluster statistics from /stats/prometheus (Envoy
// writes no HELP lines and no _total suffix; # TYPE decides). The
// dependency is the upstream cluster: label envoy_cluster_name, or
// cluster_name on Istio sidecars.
//
// Envoy has no breaker state machine: its circuit_breakers_*_open gauges
// say a concurrency limit is reached, which resiltop shows as
// Observation.BreakerLimit and never as an open breaker; the state stays
// unknown. Forcing a cluster "open" is runtime maintenance mode
// (upstream.maintenance_mode.<cluster>=100, see internal/admin); the
// requests it rejects are counted in ForcedRejections, and while that
// counter rises the breaker is forced open.
//
// Calls are the responses by class (upstream_rq_xx, else upstream_rq by
// code), and nothing else: Envoy's router charges every request it ends
// itself as a response code too — a timeout as a 504, a pending overflow
// and a maintenance-mode rejection as a 503 — so those already are
// failures. upstream_rq_timeout is reported as TimedOutFailures: timeouts
// that are counted once, inside the failures.
type envoy struct{}

func init() { register(envoy{}) }

// Name implements Profile.
func (envoy) Name() string { return "envoy" }

// envoyFamilies are the envoy_cluster_* families the profile reads.
var envoyFamilies = func() []string {
	names := []string{"upstream_rq_time", "upstream_cx_active", "upstream_rq_active", "upstream_rq_pending_active",
		"outlier_detection_ejections_active", "upstream_rq_xx", "upstream_rq", "upstream_rq_timeout",
		"upstream_rq_maintenance_mode", "upstream_rq_retry", "upstream_rq_retry_limit_exceeded", "upstream_rq_retry_overflow"}
	for _, prio := range []string{"default", "high"} {
		for r := range envoyLimits {
			names = append(names, "circuit_breakers_"+prio+"_"+r+"_open")
		}
		names = append(names, "circuit_breakers_"+prio+"_remaining_cx", "circuit_breakers_"+prio+"_remaining_rq")
	}
	for i, n := range names {
		names[i] = "envoy_cluster_" + n
	}
	slices.Sort(names)
	return names
}()

// Families implements Profile.
func (envoy) Families() []string { return envoyFamilies }

// Detect implements Profile.
func (envoy) Detect(p *model.Page) bool {
	return detectAny(p, envoyFamilies, func(m *dto.Metric) bool { return envoyCluster(m) != "" })
}

func envoyCluster(m *dto.Metric) string {
	return convFirstLabel(m, "envoy_cluster_name", "cluster_name")
}

// envoyLimits names the resource of each circuit_breakers_<priority>_<r>_open gauge.
var envoyLimits = map[string]string{
	"cx": "connections", "cx_pool": "connection_pools", "rq": "requests", "rq_pending": "pending", "rq_retry": "retries",
}

// envoyAcc gathers one cluster's series: several become one field.
type envoyAcc struct {
	limits                  map[string]bool
	classes                 map[int]float64 // upstream_rq_xx by class
	codes                   map[int]float64 // upstream_rq by code, used without upstream_rq_xx (each its own part)
	cxActive, remainingCx   float64
	rqActive, remainingRq   float64
	retryLimit, retryOverfl float64
}

// Read implements Profile. An Envoy page lists every cluster in every
// family, usually in the same order, so a sample's cluster is first looked
// for where the previous family had it, before the map: on a busy proxy
// that saves most of the lookups, which were a quarter of the work.
func (e envoy) Read(p *model.Page) []model.Observation {
	var (
		index map[string]int      // cluster → its position in obs and accs
		obs   []model.Observation // one per cluster, in order of appearance
		accs  []envoyAcc
		at    []int // at[i]: position of the previous family's i-th cluster
	)
	for _, f := range p.Families {
		name, ok := strings.CutPrefix(f.GetName(), "envoy_cluster_")
		if !ok {
			continue
		}
		ms := f.GetMetric()
		if index == nil {
			// Every family lists (nearly) every cluster: the first sizes all.
			index = make(map[string]int, len(ms))
			obs, accs = make([]model.Observation, 0, len(ms)), make([]envoyAcc, 0, len(ms))
		}
		for len(at) < len(ms) {
			at = append(at, -1)
		}
		for i, m := range ms {
			c := envoyCluster(m)
			if c == "" {
				continue
			}
			k := at[i]
			if k < 0 || obs[k].Dependency != c {
				var seen bool
				if k, seen = index[c]; !seen {
					k = len(obs)
					index[c] = k
					obs = append(obs, model.NewObservation(c, e.Name()))
					accs = append(accs, envoyAcc{cxActive: nan, remainingCx: nan, rqActive: nan, remainingRq: nan, retryLimit: nan, retryOverfl: nan})
				}
				at[i] = k
			}
			envoyRead(&obs[k], &accs[k], f, name, m)
		}
	}
	for k := range obs {
		envoyFill(&obs[k], &accs[k])
	}
	return sortObservations(obs)
}

// envoyRead takes one sample of envoy_cluster_<name>.
func envoyRead(o *model.Observation, a *envoyAcc, f *dto.MetricFamily, name string, m *dto.Metric) {
	if name == "upstream_rq_time" {
		if f.GetType() == dto.MetricType_HISTOGRAM {
			// Envoy's request time is in milliseconds.
			o.Latency = convMergeHistogram(o.Latency, convHistogram(m, 0.001))
		}
		return
	}
	v := convNonNeg(convValue(m))
	if rest, ok := strings.CutPrefix(name, "circuit_breakers_"); ok && convIsGauge(f) {
		prio, res, _ := strings.Cut(rest, "_")
		if r, ok := strings.CutSuffix(res, "_open"); ok && v > 0 {
			if limit, ok := envoyLimits[r]; ok {
				if prio != "default" {
					limit = prio + ":" + limit
				}
				if a.limits == nil {
					a.limits = map[string]bool{}
				}
				a.limits[limit] = true
			}
		}
		if prio == "default" {
			switch res {
			case "remaining_cx":
				a.remainingCx = v
			case "remaining_rq":
				a.remainingRq = v
			}
		}
		return
	}
	if convIsGauge(f) && f.GetType() != dto.MetricType_UNTYPED {
		switch name {
		case "upstream_cx_active":
			a.cxActive = v
		case "upstream_rq_active":
			a.rqActive = v
		case "upstream_rq_pending_active":
			o.PoolPending = v
		case "outlier_detection_ejections_active":
			o.EjectedHosts = v
		}
		return
	}
	if !convIsCounter(f) {
		return
	}
	switch name {
	case "upstream_rq_xx":
		if class, err := strconv.Atoi(convLabel(m, "envoy_response_code_class")); err == nil && !math.IsNaN(v) {
			if a.classes == nil {
				a.classes = map[int]float64{}
			}
			a.classes[class] += v
		}
	case "upstream_rq":
		if code, err := strconv.Atoi(convLabel(m, "envoy_response_code")); err == nil && !math.IsNaN(v) {
			if a.codes == nil {
				a.codes = map[int]float64{}
			}
			a.codes[code] += v
		}
	case "upstream_rq_timeout":
		o.Add(&o.TimedOutFailures, model.SeriesOf(f.GetName(), m), v)
	case "upstream_rq_maintenance_mode":
		o.ForcedRejections = v
	case "upstream_rq_retry":
		o.Retries = v
	case "upstream_rq_retry_limit_exceeded":
		a.retryLimit = v
	case "upstream_rq_retry_overflow":
		a.retryOverfl = v
	}
}

// envoyFill derives the fields that need several series.
func envoyFill(o *model.Observation, a *envoyAcc) {
	if len(a.limits) > 0 {
		ls := make([]string, 0, len(a.limits))
		for l := range a.limits {
			ls = append(ls, l)
		}
		sort.Strings(ls)
		o.BreakerLimit = strings.Join(ls, ",")
	}
	classes, div, key := a.classes, 1, "class "
	if classes == nil {
		classes, div, key = a.codes, 100, "code "
	}
	for c, n := range classes {
		id := model.PartID(key + strconv.Itoa(c))
		switch class := c / div; {
		case class >= 1 && class <= 4:
			o.AddCall(model.OutcomeSuccess, id, n)
		case class == 5:
			o.AddCall(model.OutcomeFailure, id, n)
		}
	}
	// A retry that hit the retry budget (overflow) or the per-route limit
	// gave up with attempts left to make: both are "ran out of attempts".
	o.Add(&o.RetriesExhausted, model.PartID("retry_limit_exceeded"), a.retryLimit)
	o.Add(&o.RetriesExhausted, model.PartID("retry_overflow"), a.retryOverfl)
	o.PoolActive = a.cxActive
	o.BulkheadInFlight = a.rqActive
	// Envoy exports a limit only as what remains of it (track_remaining).
	if !math.IsNaN(a.cxActive) && !math.IsNaN(a.remainingCx) {
		o.PoolMax = a.cxActive + a.remainingCx
	}
	if !math.IsNaN(a.rqActive) && !math.IsNaN(a.remainingRq) {
		o.BulkheadMax = a.rqActive + a.remainingRq
	}
}
