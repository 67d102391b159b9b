package ui

import "testing"

// TestFindingsNameTheirTarget: with several targets each finding line names
// its target, grouped or not (a grouped row's finding quotes one replica's
// numbers); with one target the lines stay as the model wrote them.
func TestFindingsNameTheirTarget(t *testing.T) {
	for _, keys := range [][]string{nil, {"a"}} {
		s := screen(press(t, testModel(t, Options{}, 120, 40, replicas()), keys...))
		mustContain(t, s,
			"✖ CRIT 10.0.0.1:8080 pg: breaker OPEN for 2m00s",
			"▲ WARN 10.0.0.2:8080 mail: p99 1.7s",
			"✖ CRIT 10.0.0.3:8080: target down") // named once, by its own message
		mustNotContain(t, s, "10.0.0.3:8080 10.0.0.3:8080")
	}
	one := fixture()
	one.Targets = one.Targets[:1]
	s := screen(testModel(t, Options{}, 120, 40, one))
	mustContain(t, s, "✖ CRIT pg: breaker OPEN for 2m03s")
	mustNotContain(t, s, "CRIT 127.0.0.1:8080 pg")
}
