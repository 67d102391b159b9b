package scrape

import (
	"strings"
	"testing"

	"resiltop/internal/scrape/promtest"
)

// TestDecodeAnswer checks the stream reader on the shapes of Prometheus's
// answers: vectors, matrices, errors, warnings, escapes and native
// histograms it skips.
func TestDecodeAnswer(t *testing.T) {
	cases := []struct {
		name, body string
		series     int
		points     int
		env        envelope
		err        string
	}{
		{"vector", `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","instance":"a\u00e9\"b"},"value":[1.5,"1"]}]}}`,
			1, 1, envelope{status: "success"}, ""},
		{"matrix", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],[2,"NaN"],[3,"+Inf"]]}]},"warnings":["w1"]}`,
			1, 3, envelope{status: "success", warnings: []string{"w1"}}, ""},
		{"data before status", `{"data":{"result":[]},"status":"success","isPartial":true}`, 0, 0, envelope{status: "success", partial: true}, ""},
		{"error", `{"status":"error","errorType":"bad_data","error":"parse error"}`, 0, 0, envelope{status: "error", errorType: "bad_data", errMsg: "parse error"}, ""},
		{"native histogram skipped", `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"histogram":[1,{"count":"2","buckets":[[0,"1","2","3"]]}]}]}}`,
			1, 0, envelope{status: "success"}, ""},
		{"scalar", `{"status":"success","data":{"resultType":"scalar","result":[1,"2"]}}`, 0, 0, envelope{}, "a scalar result"},
		{"bad value", `{"status":"success","data":{"result":[{"metric":{},"value":[1,"x"]}]}}`, 0, 0, envelope{}, `sample value "x"`},
		{"truncated", `{"status":"success","data":{"result":[{"metric":{"a":"b`, 0, 0, envelope{}, "parse error"},
		{"not an object", `[]`, 0, 0, envelope{}, "not a JSON object"},
		{"no status", `{}`, 0, 0, envelope{}, "no status"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, pts := 0, 0
			env, err := decodeAnswer([]byte(c.body), func(s *series) error {
				n++
				pts += len(s.points)
				return nil
			})
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n != c.series || pts != c.points {
				t.Errorf("%d series, %d points; want %d, %d", n, pts, c.series, c.points)
			}
			if env.status != c.env.status || env.errorType != c.env.errorType || env.errMsg != c.env.errMsg ||
				env.partial != c.env.partial || strings.Join(env.warnings, "|") != strings.Join(c.env.warnings, "|") {
				t.Errorf("envelope %+v, want %+v", env, c.env)
			}
		})
	}
}

// FuzzPromAnswer feeds arbitrary bytes through the whole path from an
// answer to pages: decoding, label stripping, histogram joining, typing.
// Nothing may panic; an error is fine.
func FuzzPromAnswer(f *testing.F) {
	// Small seeds: the fuzzer minimizes every new input, which takes long
	// for a big one.
	fake := &promtest.Fake{}
	fake.Set(promtest.Fleet(1, 1)[:40], 1700000000)
	f.Add(fake.Answer(`{__name__=~"resilience_attempt_duration_seconds_bucket|resilience_attempt_duration_seconds_sum"}`))
	f.Add(fake.Answer(`resilience_calls_total`))
	f.Add([]byte(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"x_bucket","le":"1"},"values":[[1,"1"],[2,"2"]]}]}}`))
	f.Add([]byte(`{"status":"success","data":{"result":[{"metric":{"__name__":"x","quantile":"0.5","instance":"i"},"value":[1,"1"]},{"metric":{"__name__":"x_count"},"value":[1,"-1e400"]}]}}`))
	f.Add([]byte(`{"status":"error","errorType":"bad_data","error":"x"}`))
	fams := []family{
		{name: "resilience_attempt_duration_seconds"},
		{name: "x"},
		{name: "resilience_calls_total", typ: 1, known: true},
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		lf := &labelFilter{groupBy: "instance", strip: map[string]bool{"job": true}}
		for i := range fams {
			builds := map[string]*famBuild{}
			_, _ = decodeAnswer(body, lf.collect(&fams[i], builds))
			var ps pageSet
			ps.collect(&fams[i], builds)
			for g := range ps.groups {
				_ = ps.page(g).Series()
			}
		}
	})
}
