package model

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestLongDependencyNameCut checks the Store's cap on name length.
func TestLongDependencyNameCut(t *testing.T) {
	long := "a" + strings.Repeat("é", 200) // the cut falls inside a character
	p := parsePage(t, "# TYPE envoy_cluster_upstream_rq_xx counter\n"+
		"envoy_cluster_upstream_rq_xx{envoy_cluster_name=\""+long+"\",envoy_response_code_class=\"2\"} 1\n")
	s := newStore(StoreOptions{})
	s.Ingest(Scrape{Target: "t", Time: at(0), Page: p})
	d := s.Snapshot(at(0), time.Minute).Dependencies
	if len(d) != 1 || len(d[0].Name) > maxNameLen || !utf8.ValidString(d[0].Name) {
		t.Errorf("dependencies %+v, want one name of at most %d valid bytes", d, maxNameLen)
	}
}
