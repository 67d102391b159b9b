package main

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBinaryPrintsURLsAndStopsOnSignal builds pgsim, runs it on ephemeral
// ports, scrapes the printed metrics URL and stops it with each signal.
func TestBinaryPrintsURLsAndStopsOnSignal(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "pgsim")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "--gateway-addr", "127.0.0.1:0", "--client-addr", "127.0.0.1:0", "--rps", "20")
			cmd.Env = append(os.Environ(), "PGSIM_ADMIN_TOKEN=")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			urls := map[string]string{}
			sc := bufio.NewScanner(stdout)
			for len(urls) < 5 && sc.Scan() {
				k, v, _ := strings.Cut(sc.Text(), ":")
				urls[k] = strings.Fields(v)[0]
			}
			for _, k := range []string{"gateway", "metrics", "admin", "admin token"} {
				if urls[k] == "" {
					t.Fatalf("no %q line in the output: %v", k, urls)
				}
			}
			resp, err := http.Get(urls["metrics"])
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("metrics answered %s", resp.Status)
			}
			time.Sleep(time.Second) // let load and in-flight calls build up
			start := time.Now()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("stopped %v after %v, want ≤ 2s", sig, d)
			}
			if err != nil {
				t.Errorf("exit after %v: %v", sig, err)
			}
		})
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"bad scenario", []string{"--scenario", "pg=meltdown"}, 2},
		{"bad dependency", []string{"--scenario", "db=outage"}, 2},
		{"client without gateway", []string{"client"}, 2},
		{"stray argument", []string{"extra"}, 2},
		{"empty db pool", []string{"--db-pool", "0"}, 2},
		{"no attempts", []string{"--max-attempts", "0"}, 2},
		{"too many attempts", []string{"--gateway-addr", "127.0.0.1:0", "--client-addr", "127.0.0.1:0", "--max-attempts", "11"}, 2},
		{"lesson flags on the gateway alone", []string{"gateway", "--via-proxy"}, 2},
		{"help", []string{"-h"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb strings.Builder
			if got := run(context.Background(), tc.args, &out, &errb, func(string) string { return "" }); got != tc.want {
				t.Errorf("exit %d, want %d (stderr %q)", got, tc.want, errb.String())
			}
		})
	}
}
