package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"resiltop/internal/scrape"
)

// TestMain lets the test binary play the server child, as the real binary
// does: bench re-executes os.Executable() with -serve.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "-serve" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestPageAdvances checks the served page: rounded up to whole
// dependencies, parseable in both formats, and counters that grow between
// scrapes so the store has rates to compute.
func TestPageAdvances(t *testing.T) {
	for _, text := range []bool{false, true} {
		p, err := newPage(2000, text, true)
		if err != nil {
			t.Fatal(err)
		}
		if p.series != 2040 {
			t.Errorf("series %d, want 2040 (17 dependencies of 120)", p.series)
		}
		srv := httptest.NewServer(p)
		sc, err := scrape.NewScraper(scrape.Target{URL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		var calls []float64
		for range 2 {
			res := sc.Scrape(t.Context())
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if got := res.Page.Series(); got != 17*(30+6) {
				t.Errorf("text=%t: %d metrics, want %d", text, got, 17*36)
			}
			var sum float64
			for _, m := range res.Page.Family("resilience_calls_total").Metric {
				sum += m.Counter.GetValue()
			}
			calls = append(calls, sum)
		}
		srv.Close()
		if calls[1] <= calls[0] {
			t.Errorf("text=%t: calls did not advance: %v", text, calls)
		}
	}
	if _, err := newPage(0, false, false); err == nil {
		t.Error("0 series accepted")
	}
}

// TestServedFormat checks that the child negotiates like client_golang:
// protobuf for resiltop's Accept unless forced to text.
func TestServedFormat(t *testing.T) {
	for _, text := range []bool{false, true} {
		p, err := newPage(120, text, false)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Header.Set("Accept", scrape.Accept)
		p.ServeHTTP(rec, req)
		ct := rec.Header().Get("Content-Type")
		if proto := strings.Contains(ct, "protobuf"); proto == text {
			t.Errorf("text=%t: served %s", text, ct)
		}
		page, err := scrape.ParsePage(rec.Body.Bytes(), ct, 0)
		if err != nil {
			t.Fatal(err)
		}
		if page.Family("resilience_attempt_duration_seconds") == nil {
			t.Errorf("text=%t: no attempt histogram", text)
		}
	}
}

// TestRunShort runs the whole benchmark, child process included, for a
// moment: every phase (baseline, resiltop, recording) must scrape and the
// report must give verdicts.
func TestRunShort(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three phases of a second each")
	}
	var out, errOut bytes.Buffer
	code := run([]string{"-targets", "3", "-series", "240", "-interval", "250ms", "-duration", "1s", "-record"},
		strings.NewReader(""), &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"3 targets × 240 series", "\nbaseline ", "\nresiltop ", "goal ≤ 0.25 CPU", "\nrecording ", "bytes per scrape", "recording adds", "goal ≤ 10%", "ratio recording/resiltop"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	for line := range strings.SplitSeq(out.String(), "\n") {
		if f := strings.Fields(line); len(f) > 1 && (f[0] == "baseline" || f[0] == "resiltop" || f[0] == "recording") && f[1] == "0" {
			t.Errorf("%s: no scrape done:\n%s", f[0], out.String())
		}
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-format", "json"}, {"-refresh", "never"}, {"-targets", "0"}, {"-nope"},
	} {
		if code := run(args, strings.NewReader(""), io.Discard, io.Discard); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

// TestTargetsShareAPage checks the child's targets: one encoding serves
// every target that has not seen it, and a target asking again gets
// advanced values.
func TestTargetsShareAPage(t *testing.T) {
	p, err := newPage(120, false, true)
	if err != nil {
		t.Fatal(err)
	}
	a, b := &target{p: p}, &target{p: p}
	get := func(h http.Handler) []byte {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		return rec.Body.Bytes()
	}
	first := get(a)
	if !bytes.Equal(get(b), first) || p.gen != 1 {
		t.Fatalf("a second target got another page (generation %d)", p.gen)
	}
	if bytes.Equal(get(a), first) || p.gen != 2 {
		t.Fatalf("a target asking again got the same values (generation %d)", p.gen)
	}
}
