package admin

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeEnvoy records runtime_modify calls the way Envoy's admin listener
// takes them: POST only, the key and value in the query.
type fakeEnvoy struct {
	mu      sync.Mutex
	calls   []string // "METHOD path?query"
	runtime map[string]string
	status  int
}

func (f *fakeEnvoy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	if f.status != 0 {
		w.WriteHeader(f.status)
		io.WriteString(w, "no such handler\n")
		return
	}
	if r.URL.Path != "/runtime_modify" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "This endpoint requires POST", http.StatusMethodNotAllowed)
		return
	}
	for k, v := range r.URL.Query() {
		f.runtime[k] = v[0]
	}
	io.WriteString(w, "OK\n")
}

func TestEnvoySet(t *testing.T) {
	tests := []struct {
		name      string
		cluster   string
		action    Action
		status    int
		wantCalls []string
		wantKey   string // runtime value of upstream.maintenance_mode.<cluster> after
		wantErr   error
		errText   string
	}{
		{name: "force open", cluster: "pg", action: ForceOpen,
			wantCalls: []string{"POST /runtime_modify?upstream.maintenance_mode.pg=100"}, wantKey: "100"},
		{name: "close", cluster: "pg", action: Close,
			wantCalls: []string{"POST /runtime_modify?upstream.maintenance_mode.pg="}, wantKey: ""},
		{name: "istio cluster name", cluster: "outbound|80||pg.default.svc.cluster.local", action: ForceOpen,
			wantCalls: []string{"POST /runtime_modify?upstream.maintenance_mode.outbound|80||pg.default.svc.cluster.local=100"}},
		{name: "disable unsupported", cluster: "pg", action: Disable, wantErr: ErrUnsupported},
		{name: "unknown action", cluster: "pg", action: "HALF_OPEN", errText: "unknown admin action"},
		{name: "query injection refused", cluster: "pg&upstream.x=1", action: ForceOpen, wantErr: ErrUnknownName},
		{name: "empty name refused", cluster: "", action: ForceOpen, wantErr: ErrUnknownName},
		{name: "no runtime_modify", cluster: "pg", action: ForceOpen, status: http.StatusNotFound, errText: "no runtime_modify endpoint",
			wantCalls: []string{"POST /runtime_modify?upstream.maintenance_mode.pg=100"}},
		{name: "forbidden", cluster: "pg", action: ForceOpen, status: http.StatusForbidden, wantErr: ErrUnauthorized,
			wantCalls: []string{"POST /runtime_modify?upstream.maintenance_mode.pg=100"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeEnvoy{runtime: map[string]string{"upstream.maintenance_mode.pg": "50"}, status: tt.status}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			got, err := NewEnvoy(srv.URL, srv.Client()).Set(ctx, tt.cluster, tt.action)
			checkErr(t, err, tt.wantErr, tt.errText)
			if got != "" {
				t.Errorf("state = %q, want none", got)
			}
			fake.mu.Lock()
			defer fake.mu.Unlock()
			if strings.Join(fake.calls, "\n") != strings.Join(tt.wantCalls, "\n") {
				t.Errorf("calls = %q, want %q", fake.calls, tt.wantCalls)
			}
			if tt.wantCalls != nil && tt.status == 0 && tt.cluster == "pg" {
				if v := fake.runtime["upstream.maintenance_mode.pg"]; v != tt.wantKey {
					t.Errorf("runtime value = %q, want %q", v, tt.wantKey)
				}
			}
		})
	}
}
