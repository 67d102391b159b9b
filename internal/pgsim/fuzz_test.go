package pgsim

import (
	"bytes"
	"slices"
	"testing"
)

func FuzzParseScenarioFlag(f *testing.F) {
	for _, s := range []string{"pg=outage", " mail = slow ", "pg", "=", "db=steady", "pg=meltdown", "pg=callback-loss=x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		dep, name, err := ParseScenarioFlag(v)
		if err == nil && (!slices.Contains(dependencyList, dep) || !slices.Contains(scenarioNames, name)) {
			t.Fatalf("%q accepted as %q=%q", v, dep, name)
		}
	})
}

func FuzzDecodeScenarioRequest(f *testing.F) {
	for _, s := range []string{`{"dependency":"pg","scenario":"outage"}`, `{"dependency":"pg"}`, `{}`, `[]`, `{"dependency":1}`, `{"dependency":"pg","scenario":"slow"} {}`, ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := decodeScenarioRequest(bytes.NewReader(data))
		if err == nil && validateScenario(req.Dependency, req.Scenario) != nil {
			t.Fatalf("accepted invalid %+v", req)
		}
	})
}

func FuzzDecodeUpdateState(f *testing.F) {
	for _, s := range []string{`{"updateState":"FORCE_OPEN"}`, `{"updateState":"CLOSE"}`, `{"updateState":"DISABLE"}`, `{"updateState":"METRICS_ONLY"}`, `{"updateState":null}`, `x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		action, err := decodeUpdateState(bytes.NewReader(data))
		if err == nil && action != actionForceOpen && action != actionClose && action != actionDisable {
			t.Fatalf("accepted action %q", action)
		}
	})
}

func FuzzDecodePaymentRequest(f *testing.F) {
	for _, s := range []string{
		`{"orderId":"o1","amount":5000,"callbackUrl":"http://127.0.0.1:9102/cb"}`,
		`{"orderId":"o1","amount":5000,"callbackUrl":"http://example.com/cb"}`,
		`{"orderId":"o1","amount":-1,"callbackUrl":"http://[::1]:1/"}`,
		`{"orderId":"","amount":1,"callbackUrl":"ftp://localhost/"}`,
		`{"orderId":"o1","amount":1e400}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := decodePaymentRequest(bytes.NewReader(data), false)
		if err == nil && (req.OrderID == "" || req.Amount <= 0 || req.CallbackURL == "") {
			t.Fatalf("accepted invalid %+v", req)
		}
	})
}

func FuzzDecodeOrderRequest(f *testing.F) {
	for _, s := range []string{`{"userId":"alice"}`, `{"userId":""}`, `{"userId":"a","x":1}`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := decodeOrderRequest(bytes.NewReader(data))
		if err == nil && (req.UserID == "" || len(req.UserID) > 128) {
			t.Fatalf("accepted invalid %+v", req)
		}
	})
}

func FuzzDecodeCallback(f *testing.F) {
	for _, s := range []string{`{"transactionKey":"TX-1","orderId":"o1","status":"SUCCESS"}`, `{"orderId":"o1","status":"FAILED","reason":"limit exceeded"}`, `{"orderId":"o1","status":"PENDING"}`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cb, err := decodeCallback(bytes.NewReader(data))
		if err == nil && (cb.OrderID == "" || (cb.Status != statusSuccess && cb.Status != statusFailed)) {
			t.Fatalf("accepted invalid %+v", cb)
		}
	})
}

func TestDecodeStrictRejectsOversizedBodies(t *testing.T) {
	big := append([]byte(`{"userId":"`), bytes.Repeat([]byte("a"), maxBody)...)
	big = append(big, `"}`...)
	if _, err := decodeOrderRequest(bytes.NewReader(big)); err == nil {
		t.Fatal("a body over the limit was accepted")
	}
}
