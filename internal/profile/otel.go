package profile

import (
	"maps"
	"resiltop/internal/model"
	"slices"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
)

// otel reads the OpenTelemetry semantic conventions for HTTP clients and
// database connection pools as the OTel Prometheus exporter (or an OTel
// collector) writes them: dots become underscores, the unit becomes a
// suffix, and otel_scope_* labels (the instrumentation library) are
// ignored, so series of several scopes add up. The dependency is
// server_address for HTTP and the pool name for databases.
type otel struct{}

func init() { register(otel{}) }

// Name implements Profile.
func (otel) Name() string { return "otel" }

// otelFamilies are the families this profile reads.
var otelFamilies = map[string]bool{
	"http_client_request_duration_seconds":   true, // semconv ≥ 1.23
	"http_client_duration_milliseconds":      true, // semconv < 1.20 (older otelhttp, Java agent 1.x)
	"http_client_active_requests":            true,
	"http_client_open_connections":           true,
	"db_client_connection_count":             true, // semconv ≥ 1.26
	"db_client_connection_max":               true,
	"db_client_connection_pending_requests":  true,
	"db_client_connection_timeouts_total":    true,
	"db_client_connection_timeouts":          true,
	"db_client_connections_usage":            true, // semconv < 1.26
	"db_client_connections_max":              true,
	"db_client_connections_pending_requests": true,
	"db_client_connections_timeouts_total":   true,
	"db_client_connections_timeouts":         true,
}

// Families implements Profile.
func (otel) Families() []string { return slices.Sorted(maps.Keys(otelFamilies)) }

// Detect implements Profile.
func (otel) Detect(p *model.Page) bool {
	for name := range otelFamilies {
		if p.Family(name) != nil {
			return true
		}
	}
	return false
}

// Read implements Profile.
func (o otel) Read(p *model.Page) []model.Observation {
	set := newConvSet(o.Name())
	for _, f := range p.Families {
		name := f.GetName()
		if !otelFamilies[name] {
			continue
		}
		switch {
		case strings.HasPrefix(name, "http_client_"):
			otelHTTP(set, f)
		case strings.HasPrefix(name, "db_client_"):
			otelDB(set, f)
		}
	}
	return set.list()
}

// otelHTTP reads the HTTP client instruments.
func otelHTTP(set *convSet, f *dto.MetricFamily) {
	for _, m := range f.GetMetric() {
		dep := convFirstLabel(m, "server_address", "net_peer_name")
		if dep == "" {
			continue
		}
		o := set.get(dep)
		switch f.GetName() {
		case "http_client_request_duration_seconds", "http_client_duration_milliseconds":
			if f.GetType() != dto.MetricType_HISTOGRAM {
				continue
			}
			scale := 1.0
			if strings.HasSuffix(f.GetName(), "_milliseconds") {
				scale = 0.001
			}
			o.AddCall(otelOutcome(m), model.SeriesOf(f.GetName(), m), float64(m.GetHistogram().GetSampleCount()))
			o.Latency = convMergeHistogram(o.Latency, convHistogram(m, scale))
		case "http_client_active_requests":
			// In-flight requests with no configured limit: the bulkhead's
			// in-flight figure, its max unknown.
			if convIsGauge(f) {
				convAdd(&o.BulkheadInFlight, convNonNeg(convValue(m)))
			}
		case "http_client_open_connections":
			if !convIsGauge(f) {
				continue
			}
			switch convLabel(m, "http_connection_state") {
			case "active":
				convAdd(&o.PoolActive, convNonNeg(convValue(m)))
			case "idle":
				convAdd(&o.PoolIdle, convNonNeg(convValue(m)))
			}
		}
	}
}

// otelOutcome classifies one request-duration series: error_type is set
// for transport errors (and by some instrumentations for status ≥ 400), a
// 5xx is a failure, a 4xx is the dependency answering. An error type
// naming a timeout or a deadline is an unknown outcome.
func otelOutcome(m *dto.Metric) model.Outcome {
	code, err := strconv.Atoi(convFirstLabel(m, "http_response_status_code", "http_status_code"))
	hasCode := err == nil
	if et := strings.ToLower(convLabel(m, "error_type")); et != "" {
		if strings.Contains(et, "timeout") || strings.Contains(et, "deadline") {
			return model.OutcomeTimeout
		}
		if !hasCode || code >= 500 {
			return model.OutcomeFailure
		}
	}
	if hasCode && (code >= 500 || code < 100) {
		return model.OutcomeFailure
	}
	return model.OutcomeSuccess
}

// otelDB reads the database connection pool instruments, old and new names.
func otelDB(set *convSet, f *dto.MetricFamily) {
	for _, m := range f.GetMetric() {
		pool := convFirstLabel(m, "db_client_connection_pool_name", "pool_name", "db_client_connections_pool_name")
		if pool == "" {
			continue
		}
		o := set.get(pool)
		v := convNonNeg(convValue(m))
		switch f.GetName() {
		case "db_client_connection_count", "db_client_connections_usage":
			if !convIsGauge(f) {
				continue
			}
			switch convFirstLabel(m, "db_client_connection_state", "state", "db_client_connections_state") {
			case "used":
				convAdd(&o.PoolActive, v)
			case "idle":
				convAdd(&o.PoolIdle, v)
			}
		case "db_client_connection_max", "db_client_connections_max":
			if convIsGauge(f) {
				convAdd(&o.PoolMax, v)
			}
		case "db_client_connection_pending_requests", "db_client_connections_pending_requests":
			if convIsGauge(f) {
				convAdd(&o.PoolPending, v)
			}
		default: // the timeouts counters
			if convIsCounter(f) {
				o.Add(&o.PoolAcquireTimeouts, model.SeriesOf(f.GetName(), m), v)
			}
		}
	}
}
