package incident

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"resiltop/internal/model"
	"resiltop/internal/profile"
	"resiltop/internal/scrape"
)

var t0 = time.Date(2026, 11, 21, 3, 4, 0, 0, time.UTC)

// outage is 40 scrapes of one target 1 s apart: pg steady, its breaker
// open and its calls failing from 10 s to 20 s, then steady again; mail
// steady throughout.
func outage(t *testing.T) func(yield func(model.Scrape, error) bool) {
	var pages []model.Scrape
	var pgOK, pgFail, mailOK float64
	for i := range 40 {
		bad := i >= 10 && i < 20
		state := "closed"
		if bad {
			state = "open"
			pgFail += 20
		} else {
			pgOK += 20
		}
		mailOK += 5
		var b strings.Builder
		b.WriteString("# TYPE resilience_circuit_breaker_state gauge\n")
		for _, st := range []string{"closed", "open"} {
			v := 0
			if st == state {
				v = 1
			}
			fmt.Fprintf(&b, "resilience_circuit_breaker_state{dependency=\"pg\",state=%q} %d\n", st, v)
			fmt.Fprintf(&b, "resilience_circuit_breaker_state{dependency=\"mail\",state=%q} %d\n", st, map[bool]int{true: 1}[st == "closed"])
		}
		b.WriteString("# TYPE resilience_calls_total counter\n")
		fmt.Fprintf(&b, "resilience_calls_total{dependency=\"pg\",outcome=\"success\"} %g\n", pgOK)
		fmt.Fprintf(&b, "resilience_calls_total{dependency=\"pg\",outcome=\"short_circuited\"} %g\n", pgFail)
		fmt.Fprintf(&b, "resilience_calls_total{dependency=\"mail\",outcome=\"success\"} %g\n", mailOK)
		page, err := scrape.ParsePage([]byte(b.String()), "text/plain", 0)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, model.Scrape{Target: "http://127.0.0.1:9102/metrics", Time: t0.Add(time.Duration(i) * time.Second),
			Duration: 5 * time.Millisecond, Page: page})
	}
	return func(yield func(model.Scrape, error) bool) {
		for _, s := range pages {
			if !yield(s, nil) {
				return
			}
		}
	}
}

func build(t *testing.T) *Summary {
	t.Helper()
	s, err := Build(outage(t), 39*time.Second+5*time.Millisecond, Options{Name: "outage.rec", Interval: time.Second,
		Store: model.StoreOptions{Profiles: profile.Builtin()}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSummary(t *testing.T) {
	s := build(t)
	if s.Scrapes != 40 || len(s.Targets) != 1 || len(s.Deps) != 2 || s.Deps[0].Name != "pg" {
		t.Fatalf("summary: %d scrapes, targets %v, deps %+v", s.Scrapes, s.Targets, s.Deps)
	}
	if len(s.Troubles) != 1 {
		t.Fatalf("troubles %+v, want pg's outage", s.Troubles)
	}
	w := s.Troubles[0]
	if w.Dependency != "pg" || !w.Start.Equal(t0.Add(10*time.Second+5*time.Millisecond)) || !w.End.Equal(t0.Add(20*time.Second+5*time.Millisecond)) {
		t.Errorf("trouble window %+v, want pg 03:04:10–03:04:20", w)
	}
	if s.Deps[0].Critical != 10*time.Second {
		t.Errorf("pg critical for %v, want 10s", s.Deps[0].Critical)
	}
	// 20 failed calls a second for 10 s: the worst minute holds all 200.
	if s.Worst.Failed < 199 || s.Worst.Failed > 201 || s.Worst.ByDep["http://127.0.0.1:9102/metrics pg"] != s.Worst.Failed {
		t.Errorf("worst minute %+v", s.Worst)
	}
	if len(s.Transitions) != 2 {
		t.Errorf("transitions %+v, want closed → open and back", s.Transitions)
	}
	if len(s.Deps[0].Transitions) != 2 || len(s.Deps[1].Transitions) != 0 {
		t.Errorf("pg's transitions %+v, mail's %+v", s.Deps[0].Transitions, s.Deps[1].Transitions)
	}
	if len(s.Deps[0].History) < 35 {
		t.Errorf("pg's history has %d steps, want the whole recording", len(s.Deps[0].History))
	}
}

func TestMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, build(t)); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"# Incident report: outage.rec",
		"Recorded 2026-11-21 03:04:00 to 03:04:39 UTC",
		"- pg: 03:04:10–03:04:20 (10s) — breaker_open",
		"**Worst minute:**", "200 failed calls (pg 200)",
		"| 03:04:10 | pg | breaker closed → open |",
		"| 03:04:10 | pg | breaker_open (critical): pg: breaker open",
		"| 03:04:20 | pg | breaker_open cleared |",
		"### pg", "next step: " + model.Advice(model.BreakerOpenKind),
		"Breaker: 03:04:10 breaker closed → open, 03:04:20 breaker open → closed.",
		"### mail", "calls/s  ",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

// TestHTML checks the page's structure, and, where Debian's chromium is
// installed, that a real headless browser renders it: the DOM it dumps has
// every chart, with no request for anything outside the page.
func TestHTML(t *testing.T) {
	var b bytes.Buffer
	if err := HTML(&b, build(t)); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if n := strings.Count(page, "<svg"); n != 6 {
		t.Errorf("%d charts, want 3 for each of 2 dependencies", n)
	}
	for _, banned := range []string{"<script", " src=", " href=", "url(", "@import"} {
		if strings.Contains(page, banned) {
			t.Errorf("the page carries %q: it must need no external asset", banned)
		}
	}
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("no " + chromium + ": the page is not rendered in a browser")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir=" + filepath.Join(dir, "profile"),
		"--virtual-time-budget=2000", "--dump-dom", "file://" + file}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, args...)
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	dom := string(out)
	for _, want := range []string{"<h1>Incident report: outage.rec</h1>", `class="trouble"`, "Worst minute", "Breaker: 03:04:10 breaker closed → open"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q:\n%.2000s", want, dom)
		}
	}
	if n := strings.Count(dom, "<svg"); n != 6 {
		t.Errorf("rendered DOM has %d charts, want 6", n)
	}
	if shot := os.Getenv("RESILTOP_SCREENSHOT"); shot != "" {
		cmd := exec.CommandContext(ctx, chromium, append(args[:len(args)-2], "--window-size=800,1600", "--screenshot="+shot, "file://"+file)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("screenshot: %v\n%s", err, out)
		}
	}
}
