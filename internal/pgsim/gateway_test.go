package pgsim

import (
	"fmt"
	"math"
	"net/http"
	"sync"
	"testing"
	"time"
)

// payOnce posts a payment until the gateway accepts it (pg refuses 40% of
// requests at the request level by design) and returns the transaction key.
func payOnce(t *testing.T, s *Sim, orderID, key string) string {
	t.Helper()
	h := http.Header{"Content-Type": {"application/json"}}
	if key != "" {
		h.Set("Idempotency-Key", key)
	}
	body := fmt.Sprintf(`{"orderId":%q,"amount":5000,"callbackUrl":"http://127.0.0.1:1/cb"}`, orderID)
	for range 40 {
		var out map[string]string
		code := doJSON(t, http.MethodPost, s.GatewayURL+"/api/v1/payments", "", body, h, &out)
		if code == http.StatusOK {
			if out["status"] != statusPending || out["transactionKey"] == "" {
				t.Fatalf("accepted payment answered %v", out)
			}
			return out["transactionKey"]
		}
		if code != http.StatusInternalServerError {
			t.Fatalf("payment answered %d", code)
		}
	}
	t.Fatal("the gateway never accepted the payment")
	return ""
}

func TestIdempotencyKeyChargesOnce(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{GatewayOnly: true, Timing: fastTiming()})
	tests := []struct {
		name        string
		key         string
		sends       int
		concurrent  bool
		wantCharges int
		wantDup     float64 // duplicate charges this case adds
	}{
		{"same key twice", "key-a", 2, false, 1, 0},
		{"same key five times at once", "key-b", 5, true, 1, 0},
		{"no key twice charges twice", "", 2, false, 2, 1},
	}
	dupBefore := 0.0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			order := "order-" + tc.name
			txs := make([]string, tc.sends)
			var wg sync.WaitGroup
			for i := range tc.sends {
				if tc.concurrent {
					wg.Go(func() { txs[i] = payOnce(t, s, order, tc.key) })
				} else {
					txs[i] = payOnce(t, s, order, tc.key)
				}
			}
			wg.Wait()
			if tc.key != "" {
				for _, tx := range txs[1:] {
					if tx != txs[0] {
						t.Errorf("same key answered transactions %q and %q", txs[0], tx)
					}
				}
			}
			if got := s.gw.chargesFor(order); got != tc.wantCharges {
				t.Errorf("charges for %s = %d, want %d", order, got, tc.wantCharges)
			}
			dup := value(scrape(t, s.GatewayMetricsURL), "pgsim_duplicate_charges_total")
			if dup-dupBefore != tc.wantDup {
				t.Errorf("duplicate charges rose by %v, want %v", dup-dupBefore, tc.wantDup)
			}
			dupBefore = dup
		})
	}
}

func TestScenarioEndpoint(t *testing.T) {
	t.Parallel()
	s := startSim(t, Config{GatewayOnly: true, Token: "sim-token"})
	url := s.GatewayURL + "/sim/scenario"
	tests := []struct {
		name, token, body string
		want              int
		wantPG            string
	}{
		{"no token", "", `{"dependency":"pg","scenario":"outage"}`, http.StatusUnauthorized, Steady},
		{"wrong token", "nope", `{"dependency":"pg","scenario":"outage"}`, http.StatusUnauthorized, Steady},
		{"malformed JSON", "sim-token", `{"dependency":`, http.StatusBadRequest, Steady},
		{"unknown field", "sim-token", `{"dependency":"pg","scenario":"outage","x":1}`, http.StatusBadRequest, Steady},
		{"unknown dependency", "sim-token", `{"dependency":"db","scenario":"outage"}`, http.StatusNotFound, Steady},
		{"unknown scenario", "sim-token", `{"dependency":"pg","scenario":"meltdown"}`, http.StatusBadRequest, Steady},
		{"valid", "sim-token", `{"dependency":"pg","scenario":"outage"}`, http.StatusOK, Outage},
		{"back to steady", "sim-token", `{"dependency":"pg","scenario":"steady"}`, http.StatusOK, Steady},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out map[string]any
			if got := doJSON(t, http.MethodPost, url, tc.token, tc.body, nil, &out); got != tc.want {
				t.Fatalf("status %d, want %d (%v)", got, tc.want, out)
			}
			if tc.want >= 400 && out["error"] == nil {
				t.Errorf("error answer without an error field: %v", out)
			}
			var list struct{ Scenarios map[string]string }
			doJSON(t, http.MethodGet, url, "", "", nil, &list)
			if list.Scenarios[DepPG] != tc.wantPG || s.Scenario(DepPG) != tc.wantPG {
				t.Errorf("pg scenario %q (Sim says %q), want %q", list.Scenarios[DepPG], s.Scenario(DepPG), tc.wantPG)
			}
		})
	}
	if err := s.SetScenario(DepMail, "nonsense"); err == nil || s.Scenario(DepMail) != Steady {
		t.Errorf("SetScenario with a bad name: err %v, mail now %q", err, s.Scenario(DepMail))
	}
}

func TestRetryPolicyBoundsAndSpacesAttempts(t *testing.T) {
	t.Parallel()
	tm := fastTiming()
	tm.ReconcileAfter = time.Minute // no status polls: only the orders' own calls
	s := startSim(t, Config{Scenarios: map[string]string{DepPG: Outage}, Token: "tok", Timing: tm})
	// Disable the breaker so that every order's call really retries.
	if code := doJSON(t, http.MethodPost, s.AdminURL+"/circuitbreakers/pg", "tok", `{"updateState":"DISABLE"}`, nil, nil); code != http.StatusOK {
		t.Fatalf("DISABLE answered %d", code)
	}
	var ids []string
	for i := range 40 {
		id, code := placeOrder(t, s, fmt.Sprintf("retry-user-%d", i))
		if code != http.StatusAccepted {
			t.Fatalf("order answered %d", code)
		}
		ids = append(ids, id)
		time.Sleep(50 * time.Millisecond) // stay well inside the bulkhead of 20
	}
	waitFor(t, 10*time.Second, "every order's payment call to end", func() bool {
		fams := scrape(t, s.MetricsURL)
		stockFailed := value(fams, "resilience_calls_total", "dependency", DepStock) - value(fams, "resilience_calls_total", "dependency", DepStock, "outcome", outcomeSuccess)
		return value(fams, "resilience_calls_total", "dependency", DepPG)+stockFailed == float64(len(ids))
	})
	var gap1, gap2 []float64
	for _, id := range ids {
		at := s.gw.attemptTimes(id)
		if len(at) > 3 {
			t.Fatalf("order %s made %d attempts, max is 3", id, len(at))
		}
		if len(at) == 3 {
			gap1 = append(gap1, at[1].Sub(at[0]).Seconds())
			gap2 = append(gap2, at[2].Sub(at[1]).Seconds())
		}
	}
	if len(gap1) < 30 {
		t.Fatalf("only %d of %d orders used all three attempts under outage", len(gap1), len(ids))
	}
	const slack = 0.1 // the attempt itself and scheduling
	for i := range gap1 {
		if gap1[i] > 0.2+slack || gap2[i] > 0.4+slack {
			t.Errorf("gaps %.3fs, %.3fs exceed the backoff ceilings 0.2s, 0.4s", gap1[i], gap2[i])
		}
	}
	m1, sd1 := meanStd(gap1)
	m2, sd2 := meanStd(gap2)
	t.Logf("first gap %.3f±%.3fs, second gap %.3f±%.3fs over %d calls", m1, sd1, m2, sd2, len(gap1))
	if m2 <= m1 {
		t.Errorf("second gap (mean %.3fs) not longer than the first (%.3fs): backoff does not grow", m2, m1)
	}
	if sd1 < 0.02 || sd2 < 0.04 {
		t.Errorf("gaps barely vary (sd %.3f, %.3f): no jitter", sd1, sd2)
	}
	fams := scrape(t, s.MetricsURL)
	if ex := value(fams, "resilience_retries_exhausted_total", "dependency", DepPG); ex < float64(len(gap1)) {
		t.Errorf("retries exhausted %v, want ≥ %d", ex, len(gap1))
	}
}

func meanStd(xs []float64) (float64, float64) {
	var sum, sq float64
	for _, x := range xs {
		sum += x
	}
	m := sum / float64(len(xs))
	for _, x := range xs {
		sq += (x - m) * (x - m)
	}
	return m, math.Sqrt(sq / float64(len(xs)))
}
