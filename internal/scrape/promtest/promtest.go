// Package promtest runs a real Prometheus (Debian's prometheus package) on
// 127.0.0.1 for tests of fleet mode: a free port, storage in the test's
// temporary directory, and targets given through file-based service
// discovery so that one server can serve several tests, each adding its
// own job while it runs.
package promtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"resiltop/internal/scrape/scrapetest"
)

// ScrapeInterval is how often the test Prometheus scrapes its targets.
const ScrapeInterval = time.Second

// startTimeout bounds Prometheus's start, TSDB included, on a loaded machine.
const startTimeout = 60 * time.Second

// Server is a running Prometheus.
type Server struct {
	// URL is its base URL, http://127.0.0.1:PORT.
	URL    string
	sd     string // the file_sd directory
	cmd    *exec.Cmd
	out    *scrapetest.LockedBuffer
	exited chan struct{} // closed when the process has ended
}

// config scrapes every target listed in sd/*.json every second.
const config = `global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: promtest
    file_sd_configs:
      - files: ['%s/*.json']
        refresh_interval: 1s
`

// Start runs prometheus for the test binary and returns it; stop it with
// Stop. A test whose machine has no prometheus binary is skipped.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (Debian: apt-get install prometheus); fleet-mode tests need a real one")
	}
	dir := t.TempDir()
	s, err := start(bin, dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// StartMain is Start for TestMain, where there is no testing.TB: it returns
// nil and a reason when prometheus is not installed.
func StartMain(dir string) (*Server, string, error) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		return nil, "prometheus is not installed (Debian: apt-get install prometheus); fleet-mode tests skipped", nil
	}
	s, err := start(bin, dir)
	return s, "", err
}

func start(bin, dir string) (*Server, error) {
	sd := filepath.Join(dir, "sd")
	if err := os.MkdirAll(sd, 0o755); err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, config, sd), 0o644); err != nil {
		return nil, err
	}
	var lastErr error
	// The port is found by listening and closing, so another process can
	// take it before Prometheus binds it: try a few.
	for range 3 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		out := &scrapetest.LockedBuffer{}
		cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
			fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--log.level=warn")
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), sd: sd, cmd: cmd, out: out, exited: make(chan struct{})}
		go func() {
			_ = cmd.Wait()
			close(s.exited)
		}()
		if lastErr = s.waitReady(); lastErr == nil {
			return s, nil
		}
		s.Stop()
	}
	return nil, lastErr
}

// waitReady waits for /-/ready.
func (s *Server) waitReady() error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("prometheus exited at start:\n%s", s.out.String())
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := client.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("prometheus not ready after %v:\n%s", startTimeout, s.out.String())
}

// Stop ends Prometheus and waits for it.
func (s *Server) Stop() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// Output returns what Prometheus logged, for failure messages.
func (s *Server) Output() string { return s.out.String() }

// Scrape makes Prometheus scrape targets (host:port, path /metrics) as
// job; Prometheus notices the file within a second or two. The returned
// func stops it again.
func (s *Server) Scrape(job string, targets ...string) (func(), error) {
	data, err := json.Marshal([]map[string]any{{"targets": targets, "labels": map[string]string{"job": job}}})
	if err != nil {
		return nil, err
	}
	file := filepath.Join(s.sd, job+".json")
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, file); err != nil {
		return nil, err
	}
	return func() { _ = os.Remove(file) }, nil
}

// WaitScraped waits until Prometheus has scraped every one of the targets
// of job successfully at least n times.
func (s *Server) WaitScraped(job string, targets, n int) error {
	q := fmt.Sprintf(`count(count_over_time(up{job=%q}[1m]) >= %d and up{job=%q} == 1)`, job, n, job)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if v, ok := s.Value(q); ok && int(v) >= targets {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("prometheus did not scrape %d targets of job %s %d times within a minute\n%s", targets, job, n, s.Output())
}

// Value runs an instant query whose answer is one number; ok is false for
// an empty answer or any failure.
func (s *Server) Value(q string) (float64, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v1/query?query="+url.QueryEscape(q), nil)
	if err != nil {
		return 0, false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var ans struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if json.NewDecoder(resp.Body).Decode(&ans) != nil || len(ans.Data.Result) == 0 {
		return 0, false
	}
	str, _ := ans.Data.Result[0].Value[1].(string)
	var v float64
	if _, err := fmt.Sscan(str, &v); err != nil {
		return 0, false
	}
	return v, true
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
