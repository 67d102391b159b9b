package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"resiltop/internal/model"
	"resiltop/internal/pgsim"
	"resiltop/internal/profile"
	"resiltop/internal/scrape"
)

// otelTally is what the test's own client saw, to compare with what
// resiltop reads from the page the OTel libraries produce.
type otelTally struct {
	mu                         sync.Mutex
	success, failure, timeouts int
}

// otelCall posts one mail request to pgsim's gateway through the
// instrumented client, with a per-request deadline (a short one forces a
// timeout), and tallies its outcome the way the OTel profile should.
func otelCall(t *testing.T, c *http.Client, url string, i int, deadline time.Duration, tally *otelTally) {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	body := fmt.Sprintf(`{"orderId":"otel-%d"}`, i)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/api/v1/mail", bytes.NewBufferString(body))
	if err != nil {
		t.Error(err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	tally.mu.Lock()
	defer tally.mu.Unlock()
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		tally.timeouts++
	case err != nil:
		tally.failure++
	default:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
		if resp.StatusCode >= 500 {
			tally.failure++
		} else {
			tally.success++
		}
	}
}

// TestOtelHTTPClientConvention instruments a Go http.Client with otelhttp
// and the OTel Prometheus exporter, calls pgsim's gateway, serves the page
// the libraries produce with promhttp on loopback, scrapes it over HTTP
// with resiltop's scraper, and checks what the otel profile and the Store
// make of it.
func TestOtelHTTPClientConvention(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	sim, err := pgsim.Start(ctx, pgsim.Config{GatewayOnly: true, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sim.Close() }()

	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	client := &http.Client{Transport: otelhttp.NewTransport(&http.Transport{Proxy: nil}, otelhttp.WithMeterProvider(mp))}
	metrics := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer metrics.Close()

	scraper, err := scrape.NewScraper(scrape.Target{URL: metrics.URL, Interval: time.Second, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	store := model.NewStore(model.StoreOptions{Profiles: profile.Builtin()})
	tally := &otelTally{}
	// Two batches with a scrape after each, so the Store has a rate.
	for batch := range 2 {
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Go(func() {
				for k := range 5 {
					i := batch*100 + w*10 + k
					deadline := 5 * time.Second
					if k == 0 {
						// pgsim's steady latency is at least 100 ms.
						deadline = 20 * time.Millisecond
					}
					otelCall(t, client, sim.GatewayURL, i, deadline, tally)
				}
			})
		}
		wg.Wait()
		sc := scraper.Scrape(ctx)
		if sc.Err != nil {
			t.Fatalf("scrape: %v", sc.Err)
		}
		store.Ingest(sc)
		if batch == 0 {
			time.Sleep(100 * time.Millisecond)
			continue
		}

		var prof model.Profile
		for _, p := range profile.Builtin() {
			if p.Name() == "otel" {
				prof = p
			}
		}
		if prof == nil || !prof.Detect(sc.Page) {
			t.Fatal("otel profile missing or not detecting the exporter's page")
		}
		obs := prof.Read(sc.Page)
		if len(obs) != 1 {
			t.Fatalf("want one dependency, got %+v", obs)
		}
		o := obs[0]
		t.Logf("client saw %d successes, %d failures, %d timeouts; profile read %v", tally.success, tally.failure, tally.timeouts, o.Calls)
		total := float64(tally.success + tally.failure + tally.timeouts)
		tests := []struct {
			name      string
			got, want any
		}{
			{"dependency is server_address", o.Dependency, "127.0.0.1"},
			{"successes", o.Calls[model.OutcomeSuccess], float64(tally.success)},
			{"failures (5xx)", o.Calls[model.OutcomeFailure], float64(tally.failure)},
			{"deadlines are timeouts", o.Calls[model.OutcomeTimeout], float64(tally.timeouts)},
			{"histogram counts every request", o.Latency != nil && o.Latency.Count == total, true},
			{"histogram has +Inf", o.Latency != nil && len(o.Latency.Bounds) > 1, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if tt.got != tt.want {
					t.Errorf("got %v, want %v (client saw %+v)", tt.got, tt.want, tally)
				}
			})
		}
		if tally.timeouts == 0 || tally.success == 0 {
			t.Errorf("the traffic did not exercise timeouts and successes: %+v", tally)
		}
	}

	snap := store.Snapshot(time.Now(), time.Minute)
	i := slices.IndexFunc(snap.Dependencies, func(d model.Dependency) bool { return d.Name == "127.0.0.1" })
	if i < 0 {
		t.Fatalf("dependency missing from the snapshot: %+v", snap.Dependencies)
	}
	d := snap.Dependencies[i]
	if !slices.Contains(d.Profiles, "otel") {
		t.Errorf("profiles %v lack otel", d.Profiles)
	}
	if !d.CallsPerSecond.Known() || d.CallsPerSecond <= 0 {
		t.Errorf("calls per second %v", d.CallsPerSecond)
	}
	if !d.TimeoutsPerSecond.Known() || d.TimeoutsPerSecond <= 0 {
		t.Errorf("timeouts per second %v", d.TimeoutsPerSecond)
	}
	if !d.Latency.P50.Known() || d.Latency.P50 <= 0 {
		t.Errorf("p50 %v", d.Latency.P50)
	}
}
