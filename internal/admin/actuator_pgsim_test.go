package admin

import (
	"context"
	"errors"
	"testing"
	"time"

	"resiltop/internal/pgsim"
)

// TestActuatorAgainstPgsim drives the real pgsim order service's actuator:
// wrong token, unknown name, and a forced open that must hold past the time
// an ordinary open breaker would half-open.
func TestActuatorAgainstPgsim(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const breakerOpen = 200 * time.Millisecond
	sim, err := pgsim.Start(ctx, pgsim.Config{RPS: 20, Seed: 3, Timing: pgsim.Timing{BreakerOpen: breakerOpen}})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()

	steps := []struct {
		name    string
		token   string
		breaker string
		action  Action
		want    string
		wantErr error
	}{
		{name: "wrong token", token: "not-the-token", breaker: "mail", action: ForceOpen, wantErr: ErrUnauthorized},
		{name: "unknown name", token: sim.Token(), breaker: "payments", action: ForceOpen, wantErr: ErrUnknownName},
		{name: "force open", token: sim.Token(), breaker: "mail", action: ForceOpen, want: "FORCED_OPEN"},
	}
	for _, st := range steps {
		got, err := NewActuator(sim.AdminURL, st.token, nil).Set(ctx, st.breaker, st.action)
		if st.wantErr != nil {
			if !errors.Is(err, st.wantErr) {
				t.Fatalf("%s: err = %v, want %v", st.name, err, st.wantErr)
			}
			continue
		}
		if err != nil || got != st.want {
			t.Fatalf("%s: state %q, err %v; want %q", st.name, got, err, st.want)
		}
	}

	act := NewActuator(sim.AdminURL, sim.Token(), nil)
	// Under load, a forced-open breaker stays forced open well past the
	// open duration after which a tripped one would probe.
	deadline := time.Now().Add(10 * breakerOpen)
	for time.Now().Before(deadline) {
		states, err := act.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if states["mail"] != "FORCED_OPEN" {
			t.Fatalf("forced open did not hold: mail is %q", states["mail"])
		}
		time.Sleep(breakerOpen / 2)
	}
	if got, err := act.Set(ctx, "mail", Close); err != nil || got != "CLOSED" {
		t.Fatalf("close: state %q, err %v", got, err)
	}
	states, err := act.List(ctx)
	if err != nil || states["mail"] != "CLOSED" {
		t.Fatalf("after close: %v, %v", states, err)
	}
	if _, created := states["payments"]; created {
		t.Error("the unknown name was created")
	}
}
