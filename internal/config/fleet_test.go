package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFleetFlags checks fleet mode's flags: the defaults it brings (a 5 s
// refresh, group by instance), the flags that override them, and the
// mistakes it refuses.
func TestFleetFlags(t *testing.T) {
	c, err := Parse([]string{"--prometheus", "http://prom:9090", "--selector", `{job="orders"}`}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	p := c.Prometheus
	if p.URL != "http://prom:9090" || p.Selector != `{job="orders"}` || p.GroupBy != "instance" || c.Interval != DefaultFleetInterval {
		t.Errorf("config %+v, interval %v", p, c.Interval)
	}
	c, err = Parse([]string{"--prometheus", "http://prom:9090", "--group-by", "pod", "--interval", "15s",
		"--admin-template", "http://{{.pod}}:8080/actuator", "--bearer-token-file", "/run/token", "--profile", "resilience4j,spring"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Prometheus.GroupBy != "pod" || c.Interval != 15*time.Second || c.Prometheus.AdminTemplate == "" ||
		strings.Join(c.Prometheus.Profiles, ",") != "resilience4j,spring" ||
		c.HTTP.Authorization == nil || c.HTTP.Authorization.CredentialsFile != "/run/token" {
		t.Errorf("config %+v, interval %v, http %+v", c.Prometheus, c.Interval, c.HTTP)
	}
	if c, err := Parse([]string{"--target", "http://a/m"}, noEnv); err != nil || c.Interval != DefaultInterval {
		t.Errorf("targets keep the 1 s default: %v %v", c, err)
	}
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--prometheus", "http://p:9090", "--target", "http://a/m"}, "cannot be combined with --target"},
		{[]string{"--prometheus", "http://p:9090", "--demo"}, "cannot be combined"},
		{[]string{"--prometheus", "prom:9090"}, `did you mean "http://prom:9090"?`},
		{[]string{"--prometheus", "http://u:secret@p:9090"}, "credentials in a URL"},
		{[]string{"--prometheus", "http://p:9090", "--group-by", "pod-name"}, "not a label name"},
		{[]string{"--prometheus", "http://p:9090", "--admin-template", "http://{{.instance"}, "--admin-template"},
		{[]string{"--target", "http://a/m", "--selector", `{job="x"}`}, "need --prometheus"},
	} {
		_, err := Parse(tc.args, noEnv)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: error %v, want %q", tc.args, err, tc.msg)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%q: the password reached the message: %v", tc.args, err)
		}
	}
}

// TestFleetYAML checks the prometheus: section, with Prometheus's HTTP
// client settings under its http: (file names relative to the file).
func TestFleetYAML(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "resiltop.yaml")
	body := `
prometheus:
  url: https://prom.example:9090
  selector: '{job="orders", env="prod"}'
  group_by: pod
  admin_template: 'http://{{.pod}}.orders:8080/actuator'
  http:
    tls_config:
      ca_file: ca.pem
    basic_auth:
      username: resiltop
      password_file: pass
`
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Parse([]string{"--config", file}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	p := c.Prometheus
	if p.URL != "https://prom.example:9090" || p.Selector != `{job="orders", env="prod"}` || p.GroupBy != "pod" ||
		p.AdminTemplate != "http://{{.pod}}.orders:8080/actuator" || c.Interval != DefaultFleetInterval {
		t.Errorf("prometheus %+v interval %v", p, c.Interval)
	}
	if c.HTTP.TLSConfig.CAFile != filepath.Join(dir, "ca.pem") || c.HTTP.BasicAuth == nil ||
		c.HTTP.BasicAuth.PasswordFile != filepath.Join(dir, "pass") {
		t.Errorf("http %+v", c.HTTP)
	}
	// A flag overrides the file.
	if c, err := Parse([]string{"--config", file, "--selector", `{job="payments"}`}, noEnv); err != nil || c.Prometheus.Selector != `{job="payments"}` {
		t.Errorf("flag over file: %v %v", c, err)
	}
	for _, tc := range []struct{ yaml, msg string }{
		{"prometheus:\n  selector: '{}'\n", "prometheus: url is missing"},
		{"prometheus:\n  url: http://p\n  bogus: 1\n", "field bogus not found"},
		{"http: {}\nprometheus:\n  url: http://p\n  http: {}\n", "keep one"},
	} {
		if err := os.WriteFile(file, []byte(tc.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Parse([]string{"--config", file}, noEnv); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.msg)
		}
	}
}
