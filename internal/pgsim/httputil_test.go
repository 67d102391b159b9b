package pgsim

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestAuthorize checks the admin guard on requests built in memory: the
// remote address is a field, so off-loopback callers are tested without
// sending traffic anywhere.
func TestAuthorize(t *testing.T) {
	tests := []struct {
		name, remote, auth string
		want               int // 0: allowed
	}{
		{"loopback, right token", "127.0.0.1:5000", "Bearer tok", 0},
		{"scheme is case-insensitive", "127.0.0.1:5000", "bearer tok", 0},
		{"shouting scheme", "127.0.0.1:5000", "BEARER tok", 0},
		{"IPv6 loopback", "[::1]:5000", "Bearer tok", 0},
		{"IPv4-mapped loopback", "[::ffff:127.0.0.1]:5000", "Bearer tok", 0},
		{"other loopback address", "127.0.0.2:5000", "Bearer tok", 0},
		{"off loopback, even with the token", "10.0.0.7:5000", "Bearer tok", http.StatusForbidden},
		{"unparsable remote", "somewhere", "Bearer tok", http.StatusForbidden},
		{"no token", "127.0.0.1:5000", "", http.StatusUnauthorized},
		{"wrong token", "127.0.0.1:5000", "Bearer tok2", http.StatusUnauthorized},
		{"token without scheme", "127.0.0.1:5000", "tok", http.StatusUnauthorized},
		{"basic scheme", "127.0.0.1:5000", "Basic tok", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/actuator/circuitbreakers/pg", nil)
			r.RemoteAddr = tt.remote
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			w := httptest.NewRecorder()
			ok := authorize(w, r, "tok")
			switch {
			case tt.want == 0 && !ok:
				t.Errorf("refused with %d, want allowed", w.Code)
			case tt.want != 0 && (ok || w.Code != tt.want):
				t.Errorf("allowed=%v code %d, want refused with %d", ok, w.Code, tt.want)
			}
		})
	}
}
