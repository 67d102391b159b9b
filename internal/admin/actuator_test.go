package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const testToken = "s3cret-token-value"

// fakeActuator speaks resilience4j's actuator protocol, including its trap:
// a POST for an unknown name creates a breaker and answers 200.
type fakeActuator struct {
	mu       sync.Mutex
	breakers map[string]string
	posts    []string // escaped paths of every POST received
	bodies   []string
	auth     []string

	listStatus, postStatus int    // 0 = behave normally
	postBody, listBody     string // overrides the answer when set
	delay                  time.Duration
	postCut                bool // apply a POST, then cut the connection instead of answering
}

func (f *fakeActuator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	if f.delay > 0 {
		f.mu.Unlock()
		select {
		case <-time.After(f.delay):
		case <-r.Context().Done():
		}
		f.mu.Lock()
	}
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		http.Error(w, `{"message":"missing or bad token"}`, http.StatusUnauthorized)
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/actuator/circuitbreakers":
		if f.listStatus != 0 {
			w.WriteHeader(f.listStatus)
		}
		if f.listBody != "" {
			io.WriteString(w, f.listBody)
			return
		}
		doc := map[string]map[string]map[string]string{"circuitBreakers": {}}
		for n, s := range f.breakers {
			doc["circuitBreakers"][n] = map[string]string{"state": s}
		}
		json.NewEncoder(w).Encode(doc)
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/actuator/circuitbreakers/"):
		f.posts = append(f.posts, r.URL.EscapedPath())
		body, _ := io.ReadAll(r.Body)
		f.bodies = append(f.bodies, string(body))
		if f.postStatus != 0 {
			w.WriteHeader(f.postStatus)
			io.WriteString(w, f.postBody)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/actuator/circuitbreakers/")
		var req struct{ UpdateState string }
		json.Unmarshal(body, &req)
		state := map[string]string{"FORCE_OPEN": "FORCED_OPEN", "CLOSE": "CLOSED", "DISABLE": "DISABLED"}[req.UpdateState]
		f.breakers[name] = state // the trap: unknown names are created
		if f.postCut {
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"circuitBreakerName": name, "currentState": state, "message": "ok"})
	default:
		http.NotFound(w, r)
	}
}

func TestActuatorSet(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(*fakeActuator)
		token     string
		breaker   string
		action    Action
		timeout   time.Duration
		want      string
		wantErr   error  // matched with errors.Is
		errText   string // substring of the error when wantErr is nil
		wantPosts []string
		wantBody  string
	}{
		{name: "force open", breaker: "pg", action: ForceOpen, want: "FORCED_OPEN",
			wantPosts: []string{"/actuator/circuitbreakers/pg"}, wantBody: `{"updateState":"FORCE_OPEN"}`},
		{name: "close", breaker: "pg", action: Close, want: "CLOSED",
			wantPosts: []string{"/actuator/circuitbreakers/pg"}, wantBody: `{"updateState":"CLOSE"}`},
		{name: "disable", breaker: "pg", action: Disable, want: "DISABLED",
			wantPosts: []string{"/actuator/circuitbreakers/pg"}, wantBody: `{"updateState":"DISABLE"}`},
		{name: "name is path-escaped", breaker: "a/b c", action: ForceOpen, want: "FORCED_OPEN",
			wantPosts: []string{"/actuator/circuitbreakers/a%2Fb%20c"}},
		{name: "unknown name is refused before posting", breaker: "pgg", action: ForceOpen, wantErr: ErrUnknownName},
		{name: "unknown action", breaker: "pg", action: "HALF_OPEN", errText: "unknown admin action"},
		{name: "bad token", token: "wrong", breaker: "pg", action: ForceOpen, wantErr: ErrUnauthorized},
		{name: "no token", token: "-", breaker: "pg", action: ForceOpen, wantErr: ErrUnauthorized},
		{name: "403 on list", setup: func(f *fakeActuator) { f.listStatus = http.StatusForbidden }, breaker: "pg", action: ForceOpen, wantErr: ErrUnauthorized},
		{name: "404 on post", setup: func(f *fakeActuator) { f.postStatus = http.StatusNotFound }, breaker: "pg", action: ForceOpen,
			wantErr: ErrUnknownName, wantPosts: []string{"/actuator/circuitbreakers/pg"}},
		{name: "400 carries the server's message, token scrubbed", setup: func(f *fakeActuator) {
			f.postStatus = http.StatusBadRequest
			f.postBody = `{"message":"illegal state transition for ` + testToken + `"}`
		}, breaker: "pg", action: ForceOpen, errText: "rejected the request: illegal state transition for [token]",
			wantPosts: []string{"/actuator/circuitbreakers/pg"}},
		{name: "500 in plain words", setup: func(f *fakeActuator) { f.postStatus = 500; f.postBody = "boom" }, breaker: "pg", action: ForceOpen,
			errText: "HTTP 500 Internal Server Error: boom", wantPosts: []string{"/actuator/circuitbreakers/pg"}},
		{name: "500 leaves the outcome unknown", setup: func(f *fakeActuator) { f.postStatus = 500 }, breaker: "pg", action: ForceOpen,
			wantErr: ErrOutcomeUnknown, wantPosts: []string{"/actuator/circuitbreakers/pg"}},
		{name: "200 without JSON reports no state", setup: func(f *fakeActuator) { f.postStatus = 200; f.postBody = "done" }, breaker: "pg", action: ForceOpen,
			want: "", wantPosts: []string{"/actuator/circuitbreakers/pg"}},
		{name: "list is not JSON", setup: func(f *fakeActuator) { f.listBody = "<html>" }, breaker: "pg", action: ForceOpen, errText: "not valid JSON"},
		{name: "list lacks circuitBreakers", setup: func(f *fakeActuator) { f.listBody = `{"breakers":{}}` }, breaker: "pg", action: ForceOpen, errText: `no "circuitBreakers"`},
		{name: "list larger than 1 MiB", setup: func(f *fakeActuator) { f.listBody = `{"circuitBreakers":{"` + strings.Repeat("x", maxBody) + `":{}}}` }, breaker: "pg", action: ForceOpen, errText: "larger than"},
		{name: "slow server hits the deadline", setup: func(f *fakeActuator) { f.delay = 5 * time.Second }, timeout: 150 * time.Millisecond,
			breaker: "pg", action: ForceOpen, wantErr: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeActuator{breakers: map[string]string{"pg": "CLOSED", "mail": "OPEN", "a/b c": "CLOSED"}}
			if tt.setup != nil {
				tt.setup(fake)
			}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			token := testToken
			switch tt.token {
			case "-":
				token = ""
			case "":
			default:
				token = tt.token
			}
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			got, err := NewActuator(srv.URL+"/actuator/", token, srv.Client()).Set(ctx, tt.breaker, tt.action)
			checkErr(t, err, tt.wantErr, tt.errText)
			if err != nil && strings.Contains(err.Error(), testToken) {
				t.Errorf("error leaks the token: %v", err)
			}
			if got != tt.want {
				t.Errorf("state = %q, want %q", got, tt.want)
			}
			fake.mu.Lock()
			defer fake.mu.Unlock()
			if strings.Join(fake.posts, ",") != strings.Join(tt.wantPosts, ",") {
				t.Errorf("POSTs = %v, want %v", fake.posts, tt.wantPosts)
			}
			if tt.wantBody != "" && (len(fake.bodies) != 1 || fake.bodies[0] != tt.wantBody) {
				t.Errorf("POST bodies = %q, want %q", fake.bodies, tt.wantBody)
			}
			if _, created := fake.breakers["pgg"]; created {
				t.Error("the unknown name was created on the server")
			}
		})
	}
}

// TestActuatorOutcomeUnknown: once the POST may have reached the service,
// a failure does not say the change was not made. A 5xx (from the service
// or a gateway in front of it) or a connection cut after the request went
// out is ErrOutcomeUnknown, which the UI verifies by scrapes; a failure
// before the POST, a refusal the service states (4xx) or a connection never
// made is not. Found by the admin soak (internal/bench/soak -admin): a 502
// after the change took was shown as "not applied".
func TestActuatorOutcomeUnknown(t *testing.T) {
	tests := []struct {
		name        string
		setup       func(*fakeActuator)
		refused     bool
		wantUnknown bool
		wantState   string // pg's state on the server afterwards
	}{
		{"5xx after the POST", func(f *fakeActuator) { f.postStatus = http.StatusBadGateway }, false, true, "CLOSED"},
		{"connection cut after the POST took", func(f *fakeActuator) { f.postCut = true }, false, true, "FORCED_OPEN"},
		{"5xx on the list: nothing posted", func(f *fakeActuator) { f.listStatus = http.StatusServiceUnavailable }, false, false, "CLOSED"},
		{"4xx on the POST", func(f *fakeActuator) { f.postStatus = http.StatusBadRequest }, false, false, "CLOSED"},
		{"connection refused", nil, true, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeActuator{breakers: map[string]string{"pg": "CLOSED"}}
			if tt.setup != nil {
				tt.setup(fake)
			}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			if tt.refused {
				srv.Close()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := NewActuator(srv.URL+"/actuator", testToken, nil).Set(ctx, "pg", ForceOpen)
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, ErrOutcomeUnknown); got != tt.wantUnknown {
				t.Errorf("err %q: outcome unknown %t, want %t", err, got, tt.wantUnknown)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error leaks the token: %v", err)
			}
			fake.mu.Lock()
			defer fake.mu.Unlock()
			if tt.wantState != "" && fake.breakers["pg"] != tt.wantState {
				t.Errorf("pg is %s on the server, want %s", fake.breakers["pg"], tt.wantState)
			}
		})
	}
}

func TestActuatorList(t *testing.T) {
	fake := &fakeActuator{breakers: map[string]string{"pg": "CLOSED", "mail": "FORCED_OPEN"}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := NewActuator(srv.URL+"/actuator", testToken, nil).List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["pg"] != "CLOSED" || got["mail"] != "FORCED_OPEN" {
		t.Errorf("List = %v", got)
	}
	if fake.auth[0] != "Bearer "+testToken {
		t.Errorf("Authorization = %q", fake.auth[0])
	}
}

func TestActuatorRefusedConnection(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := NewActuator(base, testToken, nil).Set(ctx, "pg", ForceOpen)
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("err = %v, want connection refused", err)
	}
}

func TestParseBreakerList(t *testing.T) {
	tests := []struct {
		body    string
		want    map[string]string
		wantErr bool
	}{
		{body: `{"circuitBreakers":{"pg":{"state":"CLOSED","failureRate":"-1.0%"}}}`, want: map[string]string{"pg": "CLOSED"}},
		{body: `{"circuitBreakers":{}}`, want: map[string]string{}},
		{body: `{"circuitBreakers":{"x":{}}}`, want: map[string]string{"x": ""}},
		{body: `{}`, wantErr: true},
		{body: `{"circuitBreakers":[]}`, wantErr: true},
		{body: ``, wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseBreakerList([]byte(tt.body))
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err = %v", tt.body, err)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.body, got, tt.want)
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%s: got %v, want %v", tt.body, got, tt.want)
			}
		}
	}
}

func FuzzParseBreakerList(f *testing.F) {
	f.Add([]byte(`{"circuitBreakers":{"pg":{"state":"CLOSED"}}}`))
	f.Add([]byte(`{"circuitBreakers":null}`))
	f.Add([]byte(`[1,2`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := parseBreakerList(body)
		if err == nil && got == nil {
			t.Fatal("nil map without error")
		}
	})
}

func TestServerMessage(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"message":"bad state"}`, "bad state"},
		{`{"error":"Bad Request","status":400}`, "Bad Request"},
		{"plain\n  text\n", "plain text"},
		{"", "(no message)"},
		{strings.Repeat("é", 300), strings.Repeat("é", 200) + "…"},
	}
	for _, tt := range tests {
		if got := serverMessage([]byte(tt.body)); got != tt.want {
			t.Errorf("serverMessage(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}

func FuzzServerMessage(f *testing.F) {
	f.Add([]byte(`{"message":"x"}`))
	f.Add([]byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, body []byte) {
		if got := serverMessage(body); got == "" || strings.ContainsAny(got, "\n\r") {
			t.Fatalf("serverMessage = %q", got)
		}
	})
}
