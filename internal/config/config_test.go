package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"resiltop/internal/model"
	"resiltop/internal/scrape"
)

func noEnv(string) string { return "" }

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, c *Config)
	}{
		{"defaults", []string{"--target", "http://a:8080/metrics"}, nil, func(t *testing.T, c *Config) {
			if c.Interval != time.Second || c.Window != time.Minute || c.History != 15*time.Minute ||
				c.BodyLimit != 64<<20 || c.MaxSeries != 200_000 || c.Output != "table" || c.FailOn != "" ||
				c.Thresholds != model.DefaultThresholds() || !c.HTTP.FollowRedirects {
				t.Errorf("defaults: %+v", *c)
			}
			if len(c.Endpoints) != 1 || c.Endpoints[0].Admin != "http://a:8080/actuator" {
				t.Errorf("endpoints %+v", c.Endpoints)
			}
		}},
		{"repeatable and comma-separated targets", []string{"--target", "http://a/m", "--target=https://b/m,http://c/m"}, nil, func(t *testing.T, c *Config) {
			if len(c.Endpoints) != 3 || c.Endpoints[1].URL != "https://b/m" || c.Endpoints[1].Admin != "https://b/actuator" {
				t.Errorf("endpoints %+v", c.Endpoints)
			}
		}},
		{"everything", []string{"--target", "http://a/m", "--interval", "2s", "--timeout", "1500ms", "--window", "5m",
			"--history", "30m", "--body-limit", "8MiB", "--max-series", "1000", "--once", "-o", "json",
			"--fail-on", "critical", "--read-only", "--admin", "http://a:9000/admin", "--no-color", "--mouse",
			"--profile", "native,resilience4j", "--haproxy-admin", "127.0.0.1:9999",
			"--ca-file", "ca.pem", "--cert-file", "c.pem", "--key-file", "k.pem", "--insecure-skip-verify",
			"--bearer-token-file", "tok"}, nil, func(t *testing.T, c *Config) {
			want := Config{Interval: 2 * time.Second, Timeout: 1500 * time.Millisecond, Window: 5 * time.Minute,
				History: 30 * time.Minute, BodyLimit: 8 << 20, MaxSeries: 1000, Once: true, Output: "json",
				FailOn: model.Critical, ReadOnly: true, NoColor: true, Mouse: true, HAProxyAdmin: "127.0.0.1:9999"}
			if c.Interval != want.Interval || c.Timeout != want.Timeout || c.Window != want.Window || c.History != want.History ||
				c.BodyLimit != want.BodyLimit || c.MaxSeries != want.MaxSeries || c.Once != want.Once || c.Output != want.Output ||
				c.FailOn != want.FailOn || c.ReadOnly != want.ReadOnly || c.NoColor != want.NoColor || c.Mouse != want.Mouse ||
				c.HAProxyAdmin != want.HAProxyAdmin {
				t.Errorf("got %+v", *c)
			}
			e := c.Endpoints[0]
			if e.Admin != "http://a:9000/admin" || strings.Join(e.Profiles, "+") != "native+resilience4j" {
				t.Errorf("endpoint %+v", e)
			}
			tc := c.HTTP.TLSConfig
			if tc.CAFile != "ca.pem" || tc.CertFile != "c.pem" || tc.KeyFile != "k.pem" || !tc.InsecureSkipVerify {
				t.Errorf("TLS %+v", tc)
			}
			if a := c.HTTP.Authorization; a == nil || a.Type != "Bearer" || a.CredentialsFile != "tok" {
				t.Errorf("authorization %+v", a)
			}
		}},
		{"basic auth", []string{"--target", "http://a/m", "--basic-auth-user", "u", "--basic-auth-password-file", "p"}, nil, func(t *testing.T, c *Config) {
			if b := c.HTTP.BasicAuth; b == nil || b.Username != "u" || b.PasswordFile != "p" {
				t.Errorf("basic auth %+v", b)
			}
		}},
		{"NO_COLOR", []string{"--target", "http://a/m"}, map[string]string{"NO_COLOR": "1"}, func(t *testing.T, c *Config) {
			if !c.NoColor {
				t.Error("NO_COLOR ignored")
			}
		}},
		{"demo needs no target", []string{"--demo"}, nil, func(t *testing.T, c *Config) {
			if !c.Demo || len(c.Endpoints) != 0 {
				t.Errorf("%+v", *c)
			}
		}},
		{"token from the environment", []string{"--demo"}, map[string]string{TokenEnv: "  env-token\n"}, func(t *testing.T, c *Config) {
			if c.AdminToken.Reveal() != "env-token" {
				t.Errorf("token %q", c.AdminToken.Reveal())
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.args, env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"no target", nil, "no target"},
		{"ftp target", []string{"--target", "ftp://a/m"}, "not an http(s) URL"},
		{"target without host", []string{"--target", "http:///m"}, "not an http(s) URL"},
		{"target twice", []string{"--target", "http://a/m", "--target", "http://a/m"}, "given twice"},
		{"credentials in a target URL", []string{"--target", "http://user:hunter2@a/m"}, "--basic-auth-password-file"},
		{"credentials in the admin URL", []string{"--target", "http://a/m", "--admin", "http://u:hunter2@a/actuator"}, "credentials in a URL"},
		{"bad admin", []string{"--target", "http://a/m", "--admin", "a:9000"}, "admin endpoint"},
		{"target without a scheme", []string{"--target", "127.0.0.1:9201/metrics"}, `did you mean "http://127.0.0.1:9201/metrics"?`},
		{"host name without a scheme", []string{"--target", "orders:8080/metrics"}, `did you mean "http://orders:8080/metrics"?`},
		{"prometheus without a scheme", []string{"--prometheus", "localhost:9090"}, `did you mean "http://localhost:9090"?`},
		{"no hint that repeats credentials", []string{"--target", "u:hunter2@a:80/m"}, "not"},
		{"unknown flag", []string{"--bogus"}, "not defined: --bogus"},
		{"bad value names the flag as documented", []string{"--target", "http://a/m", "--interval", "soon"}, "for flag --interval"},
		{"one-letter flag keeps one dash", []string{"--target", "http://a/m", "-o"}, "flag needs an argument: -o"},
		{"stray argument", []string{"--target", "http://a/m", "http://b/m"}, "unexpected argument"},
		{"bad duration", []string{"--target", "http://a/m", "--interval", "soon"}, "invalid value"},
		{"tiny interval", []string{"--target", "http://a/m", "--interval", "1ms"}, "too short"},
		{"timeout over interval", []string{"--target", "http://a/m", "--timeout", "2s"}, "longer than the interval"},
		{"zero window", []string{"--target", "http://a/m", "--window", "0s"}, "window"},
		{"history under window", []string{"--target", "http://a/m", "--window", "15m", "--history", "5m"}, "shorter than the window"},
		{"bad body limit", []string{"--target", "http://a/m", "--body-limit", "lots"}, "positive number of bytes"},
		{"negative max series", []string{"--target", "http://a/m", "--max-series", "-1"}, "max series"},
		{"bad output", []string{"--target", "http://a/m", "-o", "yaml"}, "use table or json"},
		{"bad fail-on", []string{"--target", "http://a/m", "--fail-on", "info"}, "use warning or critical"},
		{"password without user", []string{"--target", "http://a/m", "--basic-auth-password-file", "p"}, "needs --basic-auth-user"},
		{"bearer and basic", []string{"--target", "http://a/m", "--bearer-token-file", "t", "--basic-auth-user", "u"}, "exclude each other"},
		{"cert without key", []string{"--target", "http://a/m", "--cert-file", "c"}, "go together"},
		{"token as a flag", []string{"--target", "http://a/m", "--admin-token", "hunter2"}, "never a flag"},
		{"token as a flag with =", []string{"-admin-token=hunter2"}, "never a flag"},
		{"missing token file", []string{"--demo", "--admin-token-file", "/nonexistent/token"}, "--admin-token-file"},
		{"missing config file", []string{"--config", "/nonexistent/resiltop.yaml"}, "config file"},
		{"help", []string{"-h"}, "help requested"},
		{"record-max without record", []string{"--target", "http://a/m", "--record-max", "1MiB"}, "--record-max needs --record"},
		{"bad record-max", []string{"--target", "http://a/m", "--record", "r", "--record-max", "big"}, "positive number of bytes"},
		{"at without replay", []string{"--target", "http://a/m", "--once", "--at", "2026-11-21T03:04:05Z"}, "--at needs --once --replay"},
		{"at without once", []string{"--replay", "r", "--at", "2026-11-21T03:04:05Z"}, "--at needs --once --replay"},
		{"bad at", []string{"--replay", "r", "--once", "--at", "3am"}, "RFC 3339"},
		{"replay and record", []string{"--replay", "r", "--record", "s"}, "exclude each other"},
		{"replay and target", []string{"--replay", "r", "--target", "http://a/m"}, "drop --target"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.args, noEnv)
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("error %v is not a *UsageError", err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error %q repeats the secret", err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q does not contain %q", err, tc.msg)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatal("the error repeats the token")
			}
		})
	}
	if _, err := Parse([]string{"-h"}, noEnv); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v is not flag.ErrHelp", err)
	}
}

func TestTokenNeverShown(t *testing.T) {
	const token = "tok-3f9a-very-secret"
	const password = "inline-pw-77"
	file := write(t, "token", "\n "+token+" \n")
	cfgFile := write(t, "resiltop.yaml", "http:\n  basic_auth:\n    username: u\n    password: "+password+"\n")
	tests := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"token file", []string{"--demo", "--admin-token-file", file, "--config", cfgFile}, nil},
		{"environment", []string{"--demo", "--config", cfgFile}, map[string]string{TokenEnv: token}},
		{"file wins over environment", []string{"--demo", "--admin-token-file", file, "--config", cfgFile}, map[string]string{TokenEnv: "other"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.args, env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if c.AdminToken.Reveal() != token {
				t.Fatalf("token %q", c.AdminToken.Reveal())
			}
			out := fmt.Sprintf("%v %+v %#v %s %q %x %d", c, c, c, c, c, c, c) +
				fmt.Sprintf("%v %+v %#v %s %q %x %d", *c, *c, *c, *c, *c, *c, *c) +
				fmt.Sprintf("%v %+v %#v %s %q %x", c.AdminToken, c.AdminToken, c.AdminToken, c.AdminToken, c.AdminToken, c.AdminToken) +
				c.String() + Usage()
			for _, secret := range []string{token, password} {
				if strings.Contains(out, secret) {
					t.Fatalf("%q shown in %s", secret, out)
				}
			}
			if !strings.Contains(out, "<secret>") {
				t.Error("the token is not even mentioned as <secret>")
			}
		})
	}
}

func TestYAML(t *testing.T) {
	ca := write(t, "ca.pem", "")
	tests := []struct {
		name  string
		yaml  string
		args  []string
		check func(t *testing.T, c *Config)
	}{
		{"full file", `
interval: 2s
timeout: 1s
window: 5m
history: 1h
body_limit: 16MiB
max_series: 5000
targets:
  - url: http://orders:8080/metrics
    admin: http://orders:8080/manage
    profiles: [native]
  - url: https://pay:8443/metrics
http:
  tls_config:
    ca_file: ca.pem
  authorization:
    credentials_file: token
thresholds:
  retry_ratio: 0.3
  flapping_window: 10m
profiles:
  - name: mine
    calls: my_calls_total
`, nil, func(t *testing.T, c *Config) {
			if c.Interval != 2*time.Second || c.Timeout != time.Second || c.Window != 5*time.Minute || c.History != time.Hour ||
				c.BodyLimit != 16<<20 || c.MaxSeries != 5000 {
				t.Errorf("scalars %+v", *c)
			}
			if len(c.Endpoints) != 2 || c.Endpoints[0].Admin != "http://orders:8080/manage" || c.Endpoints[0].Profiles[0] != "native" ||
				c.Endpoints[1].Admin != "https://pay:8443/actuator" {
				t.Errorf("endpoints %+v", c.Endpoints)
			}
			if c.HTTP.TLSConfig.CAFile != ca || c.HTTP.Authorization.CredentialsFile != filepath.Join(filepath.Dir(ca), "token") {
				t.Errorf("HTTP files not relative to the config file: %+v %+v", c.HTTP.TLSConfig, c.HTTP.Authorization)
			}
			want := model.DefaultThresholds()
			want.RetryRatioWarning, want.FlappingWindow = 0.3, 10*time.Minute
			if c.Thresholds != want {
				t.Errorf("thresholds %+v", c.Thresholds)
			}
			if c.Profiles.Kind == 0 || c.ProfilesFile != c.File || c.Profiles.Line != 22 {
				t.Errorf("profiles node kind %v line %d file %q", c.Profiles.Kind, c.Profiles.Line, c.ProfilesFile)
			}
			if ts := c.Targets(); len(ts) != 2 || ts[0].Interval != 2*time.Second || ts[0].BodyLimit != 16<<20 || ts[1].HTTP.TLSConfig.CAFile != ca {
				t.Errorf("Targets() %+v", ts)
			}
		}},
		{"flags override the file", "interval: 5s\nwindow: 5m\ntargets:\n  - url: http://file/m\nhttp:\n  tls_config:\n    insecure_skip_verify: false\n",
			[]string{"--interval", "3s", "--target", "http://flag/m", "--insecure-skip-verify"}, func(t *testing.T, c *Config) {
				if c.Interval != 3*time.Second || c.Window != 5*time.Minute {
					t.Errorf("interval %v window %v", c.Interval, c.Window)
				}
				if len(c.Endpoints) != 1 || c.Endpoints[0].URL != "http://flag/m" {
					t.Errorf("endpoints %+v", c.Endpoints)
				}
				if !c.HTTP.TLSConfig.InsecureSkipVerify {
					t.Error("--insecure-skip-verify did not override the file")
				}
			}},
		{"empty file", "", []string{"--demo"}, func(t *testing.T, c *Config) {
			if c.Interval != time.Second || c.Profiles.Kind != 0 || c.ProfilesFile != "" {
				t.Errorf("%+v", *c)
			}
		}},
		{"body limit as a number", "body_limit: 1048576\ntargets: [{url: 'http://a/m'}]\n", nil, func(t *testing.T, c *Config) {
			if c.BodyLimit != 1<<20 {
				t.Errorf("body limit %d", c.BodyLimit)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(filepath.Dir(ca), "resiltop.yaml")
			if err := os.WriteFile(file, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Parse(append([]string{"--config", file}, tc.args...), noEnv)
			if err != nil {
				t.Fatal(err)
			}
			if c.File != file {
				t.Errorf("File %q", c.File)
			}
			tc.check(t, c)
		})
	}
}

func TestYAMLErrors(t *testing.T) {
	tests := []struct {
		name, yaml, msg string
	}{
		{"unknown field", "interval: 1s\nintervall: 2s\n", ":2: field intervall not found"},
		{"unknown nested field", "targets:\n  - url: http://a/m\n    color: red\n", ":3: field color not found"},
		{"unknown http field", "http:\n  tls_config:\n    cafile: x\n", ":3: field cafile not found"},
		{"unknown threshold", "thresholds:\n  retry_ration: 1\n", ":2: field retry_ration not found"},
		{"duration without unit", "targets: [{url: 'http://a/m'}]\ninterval: 5\n", ":2: cannot unmarshal !!int `5` into time.Duration"},
		{"bad threshold duration", "thresholds:\n  flapping_window: soon\n", ":2: cannot unmarshal"},
		{"threshold out of range", "targets: [{url: 'http://a/m'}]\nthresholds:\n  retry_ratio: -1\n", ":2: thresholds: retry_ratio"},
		{"bad body limit", "body_limit: huge\n", ":1: size \"huge\""},
		{"syntax", "interval: 1s\n  window: [\n", ":2:"},
		{"target without url", "targets:\n  - admin: http://a/\n", ":1: targets[0]: url is missing"},
		{"bad target url", "targets:\n  - url: ftp://a/\n", "not an http(s) URL"},
		{"conflicting http auth", "targets: [{url: 'http://a/m'}]\nhttp:\n  bearer_token_file: t\n  basic_auth: {username: u}\n", ":2: http: at most one"},
		{"not a mapping", "- a\n- b\n", ":1: cannot unmarshal !!seq"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := write(t, "bad.yaml", tc.yaml)
			_, err := Parse([]string{"--config", file}, noEnv)
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("error %v is not a *UsageError", err)
			}
			if !strings.Contains(err.Error(), file) && !strings.Contains(tc.msg, "http(s)") {
				t.Errorf("error %q does not name the file", err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not contain %q", err, tc.msg)
			}
		})
	}
}

func TestByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want ByteSize
		ok   bool
	}{
		{"65536", 65536, true}, {"64MiB", 64 << 20, true}, {"64mib", 64 << 20, true}, {"64MB", 64e6, true},
		{"512k", 512 << 10, true}, {"1G", 1 << 30, true}, {" 2 KiB ", 2048, true}, {"10B", 10, true},
		{"", 0, false}, {"MiB", 0, false}, {"-1", 0, false}, {"0", 0, false}, {"1.5MiB", 0, false},
		{"99999999999GiB", 0, false}, {"12XB", 0, false},
	}
	for _, tc := range tests {
		got, err := ParseByteSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestUsageNamesEveryFlag(t *testing.T) {
	u := Usage()
	for _, name := range []string{"target", "config", "interval", "timeout", "window", "history", "body-limit", "max-series",
		"ca-file", "cert-file", "key-file", "insecure-skip-verify", "bearer-token-file", "basic-auth-user",
		"basic-auth-password-file", "once", "o", "fail-on", "demo", "read-only", "admin", "admin-token-file",
		"no-color", "mouse", "profile", "haproxy-admin", "prometheus", "selector", "group-by", "admin-template",
		"record", "record-max", "replay", "at"} {
		dash := "--"
		if len(name) == 1 {
			dash = "-"
		}
		if !strings.Contains(u, "\n  "+dash+name+" ") && !strings.Contains(u, "\n  "+dash+name+"\n") {
			t.Errorf("usage does not list %s%s", dash, name)
		}
	}
	if !strings.Contains(u, TokenEnv) {
		t.Error("usage does not say where the token comes from")
	}
	// Fleet mode has its own default interval; the help must not say 1s alone.
	if !strings.Contains(u, "(default "+DefaultInterval.String()+"; "+DefaultFleetInterval.String()+" with --prometheus)") {
		t.Errorf("usage does not give --interval's fleet-mode default:\n%s", u)
	}
}

// FuzzLoadYAML feeds arbitrary files to the loader: it returns a config or
// a *UsageError naming the file, and never panics.
func FuzzLoadYAML(f *testing.F) {
	f.Add([]byte("interval: 2s\ntargets:\n  - url: http://a/m\nthresholds:\n  retry_ratio: 0.3\n"))
	f.Add([]byte("http:\n  tls_config:\n    ca_file: x\n  basic_auth: {username: u, password: p}\n"))
	f.Add([]byte("profiles:\n  - name: x\n    match: {a: b}\nbody_limit: 64MiB\n"))
	f.Add([]byte("prometheus:\n  url: http://p:9090\n  selector: '{job=\"x\"}'\n  http: {tls_config: {ca_file: c}}\n"))
	f.Add([]byte("{{{"))
	f.Add([]byte("targets: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &Config{Thresholds: model.DefaultThresholds(), BodyLimit: scrape.DefaultBodyLimit}
		err := loadYAML(c, "fuzz.yaml", data)
		if err == nil {
			return
		}
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "fuzz.yaml") {
			t.Fatalf("error %v is not a *UsageError naming the file", err)
		}
	})
}

func TestRecordingFlags(t *testing.T) {
	c, err := Parse([]string{"--target", "http://a/m", "--record", "inc.rec", "--record-max", "512MiB"}, noEnv)
	if err != nil || c.Record != "inc.rec" || c.RecordMax != 512<<20 || c.Replay != "" {
		t.Fatalf("record: %+v, %v", c, err)
	}
	if c, err := Parse([]string{"--target", "http://a/m", "--record", "inc.rec"}, noEnv); err != nil || c.RecordMax != 1<<30 {
		t.Fatalf("default --record-max: %v, %v", c, err)
	}
	c, err = Parse([]string{"--replay", "inc.rec", "--once", "-o", "json", "--at", "2026-11-21T03:04:05Z"}, noEnv)
	want := time.Date(2026, 11, 21, 3, 4, 5, 0, time.UTC)
	if err != nil || c.Replay != "inc.rec" || !c.At.Equal(want) || len(c.Endpoints) != 0 {
		t.Fatalf("replay: %+v, %v", c, err)
	}
}

func TestParseReport(t *testing.T) {
	tests := []struct {
		args       []string
		file, out  string
		errMessage string
	}{
		{[]string{"inc.rec"}, "inc.rec", "md", ""},
		{[]string{"inc.rec", "-o", "html"}, "inc.rec", "html", ""},
		{[]string{"-o", "html", "inc.rec"}, "inc.rec", "html", ""},
		{nil, "", "", "name a recording"},
		{[]string{"inc.rec", "-o", "pdf"}, "", "", "use md or html"},
		{[]string{"a.rec", "b.rec"}, "", "", `unexpected argument "b.rec"`},
		{[]string{"--bogus"}, "", "", "not defined: --bogus"},
	}
	for _, tt := range tests {
		c, err := ParseReport(tt.args)
		if tt.errMessage != "" {
			var ue *UsageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.errMessage) {
				t.Errorf("%q: err = %v, want a usage error with %q", tt.args, err, tt.errMessage)
			}
			continue
		}
		if err != nil || c.File != tt.file || c.Output != tt.out {
			t.Errorf("%q: %+v, %v", tt.args, c, err)
		}
	}
}
