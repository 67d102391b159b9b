package profile

import (
	"resiltop/internal/model"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// hostile is a dependency name that would retitle and clear a terminal.
const hostile = "evil\x1b]0;PWNED\x07\x1b[2Jname"

// TestDependencyNamesSanitizedByStore feeds each profile's family with a
// hostile name through the Store: no profile can forget to clean it.
func TestDependencyNamesSanitizedByStore(t *testing.T) {
	const mapping = `
- name: team
  dependency_label: upstream
  calls: {metric: team_calls_total, outcome_label: result, outcomes: {success: ok}}
`
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(mapping), &node); err != nil {
		t.Fatal(err)
	}
	extra, err := ParseMappings("test.yaml", &node)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, page string }{
		{"resiltop", "# TYPE resilience_calls_total counter\nresilience_calls_total{dependency=%q,outcome=\"success\"} %d\n"},
		{"envoy", "# TYPE envoy_cluster_upstream_rq_xx counter\nenvoy_cluster_upstream_rq_xx{envoy_cluster_name=%q,envoy_response_code_class=\"2\"} %d\n"},
		{"otel", "# TYPE http_client_request_duration_seconds histogram\n" +
			"http_client_request_duration_seconds_bucket{server_address=%[1]q,le=\"+Inf\"} %[2]d\n" +
			"http_client_request_duration_seconds_count{server_address=%[1]q} %[2]d\n" +
			"http_client_request_duration_seconds_sum{server_address=%[1]q} 1\n"},
		{"resilience4j", "# TYPE resilience4j_circuitbreaker_state gauge\nresilience4j_circuitbreaker_state{name=%q,state=\"closed\"} 1\n# %d\n"},
		{"spring", "# TYPE http_client_requests_seconds summary\n" +
			"http_client_requests_seconds_count{client_name=%[1]q,outcome=\"SUCCESS\"} %[2]d\n" +
			"http_client_requests_seconds_sum{client_name=%[1]q,outcome=\"SUCCESS\"} 1\n"},
		{"haproxy", "# TYPE haproxy_backend_current_queue gauge\nhaproxy_backend_current_queue{proxy=%q} %d\n"},
		{"team", "# TYPE team_calls_total counter\nteam_calls_total{upstream=%q,result=\"ok\"} %d\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := model.NewStore(model.StoreOptions{Force: []string{tt.name}, Profiles: append(Builtin(), extra...)})
			for i := range 2 {
				text := strings.ReplaceAll(strings.ReplaceAll(tt.page, "%q", "%[1]q"), "%d", "%[2]d")
				p := convMustParse(t, sprintfRaw(text, hostile, 10*i))
				s.Ingest(model.Scrape{Target: "t", Time: at(float64(i)), Page: p})
			}
			snap := s.Snapshot(at(1), time.Minute)
			if len(snap.Dependencies) != 1 {
				t.Fatalf("%d dependencies, want 1 (targets %+v)", len(snap.Dependencies), snap.Targets)
			}
			name := snap.Dependencies[0].Name
			if want := "evil\uFFFD]0;PWNED\uFFFD\uFFFD[2Jname"; name != want {
				t.Errorf("name = %q, want %q", name, want)
			}
			for _, s := range append([]string{name}, eventTexts(snap)...) {
				if !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
					t.Errorf("unsafe text %q", s)
				}
			}
		})
	}
}

// sprintfRaw fills the page templates above: %[1]q is the name quoted the
// way a hostile exporter writes it (raw bytes, only quote and backslash
// escaped, where fmt's %q would escape the control bytes away), %[2]d is n.
func sprintfRaw(format, name string, n int) string {
	q := `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name) + `"`
	out := strings.ReplaceAll(format, "%[1]q", q)
	return strings.ReplaceAll(out, "%[2]d", strconv.Itoa(n))
}

// eventTexts are every name and message of a snapshot's events and findings.
func eventTexts(s *model.Snapshot) []string {
	var out []string
	for _, e := range s.Events {
		out = append(out, e.Dependency, e.Message)
	}
	for _, f := range s.Findings {
		out = append(out, f.Dependency, f.Message)
	}
	return out
}
