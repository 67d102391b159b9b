package pgsim

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// maxBody bounds every request and response body pgsim reads.
const maxBody = 64 << 10

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// authorize guards the admin side (breaker switches, scenario changes): it
// answers 403 to a caller off loopback, whatever address pgsim was told to
// listen on, and 401 without the right bearer token. It reports whether the
// request may proceed.
func authorize(w http.ResponseWriter, r *http.Request, token string) bool {
	if !fromLoopback(r) {
		writeError(w, http.StatusForbidden, "the admin side answers loopback callers only")
		return false
	}
	if !tokenOK(r, token) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="pgsim"`)
		writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
		return false
	}
	return true
}

// fromLoopback reports whether the request came from a loopback address.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// tokenOK checks "Authorization: Bearer <token>" in constant time (the
// scheme is case-insensitive, RFC 7235). Both sides are hashed first so that
// the comparison does not leak the token's length either
// (subtle.ConstantTimeCompare returns early on a length mismatch).
func tokenOK(r *http.Request, token string) bool {
	scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// decodeStrict decodes exactly one JSON object of at most maxBody bytes into
// v, rejecting unknown fields so that typos are reported, not ignored.
func decodeStrict(r io.Reader, v any) error {
	lr := io.LimitReader(r, maxBody+1)
	data, err := io.ReadAll(lr)
	if err != nil {
		return fmt.Errorf("reading body: %w", err)
	}
	if len(data) > maxBody {
		return fmt.Errorf("body larger than %d bytes", maxBody)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("malformed JSON: %w", err)
	}
	if dec.More() {
		return errors.New("malformed JSON: trailing data after the object")
	}
	return nil
}

// randomToken returns 32 hex characters from crypto/rand.
func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
