package admin

import (
	"errors"
	"strings"
	"testing"
)

// checkErr asserts a table case's expected error: errors.Is(err, wantErr)
// when wantErr is set, else an error containing errText when that is set,
// else no error at all.
func checkErr(t *testing.T, err, wantErr error, errText string) {
	t.Helper()
	switch {
	case wantErr != nil:
		if !errors.Is(err, wantErr) {
			t.Fatalf("err = %v, want %v", err, wantErr)
		}
	case errText != "":
		if err == nil || !strings.Contains(err.Error(), errText) {
			t.Fatalf("err = %v, want it to contain %q", err, errText)
		}
	case err != nil:
		t.Fatalf("unexpected error: %v", err)
	}
}
