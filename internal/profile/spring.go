package profile

import (
	"resiltop/internal/model"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
)

// spring reads what Spring Boot's Micrometer instrumentation publishes about
// outgoing calls: http_client_requests_seconds per client (calls, errors,
// timeouts, latency), HikariCP pools (hikaricp_connections_*, label pool)
// and Apache HttpClient 5 pools (httpcomponents_httpclient_pool_*, label
// httpclient). The dependency is the client's name, the pool's name or the
// HttpClient binder's name, so a RestClient called "pg" joins the
// resilience4j breaker "pg".
type spring struct{}

func init() { register(spring{}) }

// Name implements Profile.
func (spring) Name() string { return "spring" }

// springFamilies are the families this profile reads.
var springFamilies = []string{
	"http_client_requests_seconds",
	"hikaricp_connections_active", "hikaricp_connections_idle", "hikaricp_connections_max",
	"hikaricp_connections_pending", "hikaricp_connections_timeout_total", "hikaricp_connections_timeout",
	"httpcomponents_httpclient_pool_total_connections", "httpcomponents_httpclient_pool_total_max",
	"httpcomponents_httpclient_pool_total_pending",
}

// Families implements Profile.
func (spring) Families() []string { return springFamilies }

// Detect implements Profile.
func (spring) Detect(p *model.Page) bool { return detectAny(p, springFamilies, nil) }

// Read implements Profile.
func (s spring) Read(p *model.Page) []model.Observation {
	multi := convMultiApp(p, convMicrometerPrefixes...)
	set := newConvSet(s.Name())
	for _, f := range p.Families {
		switch name := f.GetName(); {
		case name == "http_client_requests_seconds":
			springHTTP(set, f, multi)
		case strings.HasPrefix(name, "hikaricp_connections"):
			springHikari(set, f, multi)
		case strings.HasPrefix(name, "httpcomponents_httpclient_pool_"):
			springHC5(set, f, multi)
		}
	}
	return set.list()
}

// springHTTP reads http_client_requests_seconds, a histogram when the app
// enables percentile histograms, else a summary (with quantiles when it
// configured client-side percentiles).
func springHTTP(set *convSet, f *dto.MetricFamily, multi bool) {
	for _, m := range f.GetMetric() {
		// client_name since Micrometer 1.x' RestTemplate/WebClient tags;
		// clientName in Spring Boot 2.0 and RestTemplate's early tags.
		name := convFirstLabel(m, "client_name", "clientName")
		if name == "" || name == "none" {
			continue
		}
		o := set.get(convScoped(name, m, multi))
		var count float64
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			count = float64(m.GetHistogram().GetSampleCount())
			o.Latency = convMergeHistogram(o.Latency, convHistogram(m, 1))
		case dto.MetricType_SUMMARY:
			count = float64(m.GetSummary().GetSampleCount())
			o.LatencyQuantiles = convQuantiles(o.LatencyQuantiles, m, 1)
		default:
			continue
		}
		o.AddCall(springOutcome(m), model.SeriesOf(f.GetName(), m), count)
	}
	for _, o := range set.byDep {
		if o.Latency != nil {
			o.LatencyQuantiles = nil
		}
	}
}

// springOutcome classifies one http_client_requests series. A 4xx is the
// dependency answering (the caller's mistake), so only 5xx, I/O errors and
// unknown outcomes are failures; an exception naming a timeout is an
// unknown outcome.
func springOutcome(m *dto.Metric) model.Outcome {
	exc := strings.ToLower(convFirstLabel(m, "exception", "error"))
	if strings.Contains(exc, "timeout") || strings.Contains(exc, "timedout") {
		return model.OutcomeTimeout
	}
	switch convLabel(m, "outcome") {
	case "SUCCESS", "REDIRECTION", "INFORMATIONAL", "CLIENT_ERROR":
		return model.OutcomeSuccess
	case "SERVER_ERROR", "UNKNOWN":
		return model.OutcomeFailure
	}
	status := convLabel(m, "status")
	if code, err := strconv.Atoi(status); err == nil {
		if code >= 500 || code < 100 {
			return model.OutcomeFailure
		}
		return model.OutcomeSuccess
	}
	if status == "" && (exc == "" || exc == "none") {
		return model.OutcomeSuccess
	}
	// "IO_ERROR", "CLIENT_ERROR" (RestTemplate's no-response status) or an exception.
	return model.OutcomeFailure
}

// springHikari reads HikariCP's pool gauges and its acquire-timeout counter.
func springHikari(set *convSet, f *dto.MetricFamily, multi bool) {
	for _, m := range f.GetMetric() {
		pool := convLabel(m, "pool")
		if pool == "" {
			continue
		}
		v := convNonNeg(convValue(m))
		o := set.get(convScoped(pool, m, multi))
		switch f.GetName() {
		case "hikaricp_connections_active":
			o.PoolActive = v
		case "hikaricp_connections_idle":
			o.PoolIdle = v
		case "hikaricp_connections_max":
			o.PoolMax = v
		case "hikaricp_connections_pending":
			o.PoolPending = v
		case "hikaricp_connections_timeout_total", "hikaricp_connections_timeout":
			if convIsCounter(f) {
				o.PoolAcquireTimeouts = v
			}
		}
	}
}

// springHC5 reads Micrometer's PoolingHttpClientConnectionManagerMetricsBinder.
func springHC5(set *convSet, f *dto.MetricFamily, multi bool) {
	for _, m := range f.GetMetric() {
		name := convLabel(m, "httpclient")
		if name == "" {
			continue
		}
		v := convNonNeg(convValue(m))
		o := set.get(convScoped(name, m, multi))
		switch f.GetName() {
		case "httpcomponents_httpclient_pool_total_connections":
			switch convLabel(m, "state") {
			case "leased":
				o.PoolActive = v
			case "available":
				o.PoolIdle = v
			}
		case "httpcomponents_httpclient_pool_total_max":
			o.PoolMax = v
		case "httpcomponents_httpclient_pool_total_pending":
			o.PoolPending = v
		}
	}
}
