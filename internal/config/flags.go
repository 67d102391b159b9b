package config

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"

	"resiltop/internal/model"
)

// flags holds the raw flag values before they are merged over the file.
type flags struct {
	targets       list
	configFile    string
	interval      time.Duration
	timeout       time.Duration
	window        time.Duration
	history       time.Duration
	bodyLimit     ByteSize
	maxSeries     int
	caFile        string
	certFile      string
	keyFile       string
	insecure      bool
	bearerFile    string
	basicUser     string
	basicPassFile string
	once          bool
	output        string
	failOn        string
	demo          bool
	readOnly      bool
	admin         string
	tokenFile     string
	noColor       bool
	mouse         bool
	profiles      list
	haproxyAdmin  string
	prometheus    string
	selector      string
	groupBy       string
	adminTemplate string
	record        string
	recordMax     ByteSize
	replay        string
	at            string
}

// list is a repeatable flag; commas also separate values.
type list []string

func (l *list) String() string { return strings.Join(*l, ",") }

func (l *list) Set(v string) error {
	for p := range strings.SplitSeq(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

func (f *flags) flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("resiltop", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the CLI prints Usage itself; errors come back as values
	fs.Var(&f.targets, "target", "metrics `URL` to scrape (repeatable)")
	fs.StringVar(&f.configFile, "config", "", "YAML config `FILE` (targets, HTTP, thresholds, profiles)")
	// No flag default: fleet mode has its own, so the help states both.
	fs.DurationVar(&f.interval, "interval", 0, "time between scrapes of a target (default "+
		DefaultInterval.String()+"; "+DefaultFleetInterval.String()+" with --prometheus)")
	fs.DurationVar(&f.timeout, "timeout", 0, "per-scrape timeout (default 80% of the interval, at most 10s)")
	fs.DurationVar(&f.window, "window", DefaultWindow, "window for rates and quantiles: 30s, 1m, 5m, 15m or any duration")
	fs.DurationVar(&f.history, "history", DefaultHistory, "history kept for charts")
	fs.Var(&f.bodyLimit, "body-limit", "largest page accepted, after decompression, e.g. 64MiB (default 64MiB)")
	fs.IntVar(&f.maxSeries, "max-series", 0, "most series accepted per page (default 200000)")
	fs.StringVar(&f.caFile, "ca-file", "", "CA certificate `FILE` to verify targets")
	fs.StringVar(&f.certFile, "cert-file", "", "client certificate `FILE`")
	fs.StringVar(&f.keyFile, "key-file", "", "client key `FILE`")
	fs.BoolVar(&f.insecure, "insecure-skip-verify", false, "do not verify target certificates")
	fs.StringVar(&f.bearerFile, "bearer-token-file", "", "send the bearer token in `FILE` to targets")
	fs.StringVar(&f.basicUser, "basic-auth-user", "", "basic auth `USER` for targets")
	fs.StringVar(&f.basicPassFile, "basic-auth-password-file", "", "basic auth password `FILE`")
	fs.BoolVar(&f.once, "once", false, "scrape, wait one interval, scrape again, print and exit")
	fs.StringVar(&f.output, "o", "", "--once output: table or json (default table)")
	fs.StringVar(&f.failOn, "fail-on", "", "with --once, exit 1 on findings of this severity: warning or critical")
	fs.BoolVar(&f.demo, "demo", false, "watch a built-in simulated service")
	fs.BoolVar(&f.readOnly, "read-only", false, "offer no admin actions")
	fs.StringVar(&f.admin, "admin", "", "admin endpoint base `URL` (default the target's /actuator)")
	fs.StringVar(&f.tokenFile, "admin-token-file", "", "read the admin token from `FILE` (else "+TokenEnv+")")
	fs.BoolVar(&f.noColor, "no-color", false, "no colour (also when NO_COLOR is set)")
	fs.BoolVar(&f.mouse, "mouse", false, "enable mouse support")
	fs.Var(&f.profiles, "profile", "apply only these profiles: `NAME[,NAME]`")
	fs.StringVar(&f.haproxyAdmin, "haproxy-admin", "", "HAProxy runtime API `ADDR` (host:port or socket path)")
	fs.StringVar(&f.prometheus, "prometheus", "", "fleet mode: read the targets from the Prometheus at `URL` (the TLS and auth flags then apply to it)")
	fs.StringVar(&f.selector, "selector", "", "fleet mode: label matchers for every query, e.g. '{job=\"orders\"}'")
	fs.StringVar(&f.groupBy, "group-by", "", "fleet mode: the `LABEL` whose values are the targets (default instance)")
	fs.StringVar(&f.adminTemplate, "admin-template", "", "fleet mode: a row's admin URL from its target labels, e.g. 'http://{{.instance}}/actuator'")
	fs.StringVar(&f.record, "record", "", "append every scrape to the new recording `FILE` (see docs/RECORDING.md)")
	fs.Var(&f.recordMax, "record-max", "stop recording at this size, e.g. 512MiB (default 1GiB)")
	fs.StringVar(&f.replay, "replay", "", "replay the recording `FILE` instead of scraping")
	fs.StringVar(&f.at, "at", "", "with --once --replay, the moment to report, RFC 3339 (default the recording's end)")
	return fs
}

// apply merges the flags the user set over c (which holds defaults and the file).
func (f *flags) apply(c *Config, set map[string]bool) error {
	if set["target"] {
		c.Endpoints = nil
		for _, u := range f.targets {
			c.Endpoints = append(c.Endpoints, Endpoint{URL: u})
		}
	}
	for i := range c.Endpoints {
		if set["admin"] {
			c.Endpoints[i].Admin = f.admin
		}
		if set["profile"] {
			c.Endpoints[i].Profiles = append([]string(nil), f.profiles...)
		}
	}
	durations := map[string]*time.Duration{"interval": &c.Interval, "timeout": &c.Timeout, "window": &c.Window, "history": &c.History}
	values := map[string]time.Duration{"interval": f.interval, "timeout": f.timeout, "window": f.window, "history": f.history}
	for name, dst := range durations {
		if set[name] {
			*dst = values[name]
		}
	}
	if set["body-limit"] {
		c.BodyLimit = int64(f.bodyLimit)
	}
	if set["max-series"] {
		c.MaxSeries = f.maxSeries
	}
	if set["o"] {
		c.Output = f.output
	}
	if set["fail-on"] {
		c.FailOn = model.Severity(f.failOn)
	}
	c.Once = c.Once || f.once
	c.Demo = c.Demo || f.demo
	c.ReadOnly = c.ReadOnly || f.readOnly
	c.NoColor = c.NoColor || f.noColor
	c.Mouse = c.Mouse || f.mouse
	if set["haproxy-admin"] {
		c.HAProxyAdmin = f.haproxyAdmin
	}
	c.intervalSet = c.intervalSet || set["interval"]
	fleet := map[string]*string{"prometheus": &c.Prometheus.URL, "selector": &c.Prometheus.Selector,
		"group-by": &c.Prometheus.GroupBy, "admin-template": &c.Prometheus.AdminTemplate}
	given := map[string]string{"prometheus": f.prometheus, "selector": f.selector, "group-by": f.groupBy, "admin-template": f.adminTemplate}
	for name, dst := range fleet {
		if set[name] {
			*dst = given[name]
		}
	}
	if set["profile"] {
		c.Prometheus.Profiles = append([]string(nil), f.profiles...)
	}
	if err := f.applyRecording(c, set); err != nil {
		return err
	}
	return f.applyHTTP(&c.HTTP, set)
}

// applyRecording sets --record, --record-max, --replay and --at.
func (f *flags) applyRecording(c *Config, set map[string]bool) error {
	c.Record, c.Replay = f.record, f.replay
	if set["record-max"] {
		c.RecordMax = int64(f.recordMax)
	}
	if set["at"] {
		at, err := time.Parse(time.RFC3339Nano, f.at)
		if err != nil {
			return usagef("--at %q: want an RFC 3339 time such as 2026-11-21T03:04:05Z", f.at)
		}
		c.At = at
	}
	switch {
	case set["record-max"] && c.Record == "":
		return usagef("--record-max needs --record FILE")
	case set["at"] && (c.Replay == "" || !c.Once):
		return usagef("--at needs --once --replay FILE")
	case c.Replay != "" && c.Record != "":
		return usagef("--replay and --record exclude each other")
	case c.Replay != "" && (set["target"] || set["prometheus"] || c.Demo):
		return usagef("--replay reads its targets from the recording: drop --target, --prometheus and --demo")
	}
	return nil
}

// applyHTTP maps the TLS and auth flags onto prometheus/common's HTTP config.
func (f *flags) applyHTTP(h *commoncfg.HTTPClientConfig, set map[string]bool) error {
	if set["ca-file"] {
		h.TLSConfig.CAFile = f.caFile
	}
	if set["cert-file"] {
		h.TLSConfig.CertFile = f.certFile
	}
	if set["key-file"] {
		h.TLSConfig.KeyFile = f.keyFile
	}
	if (h.TLSConfig.CertFile == "") != (h.TLSConfig.KeyFile == "") && (set["cert-file"] || set["key-file"]) {
		return usagef("--cert-file and --key-file go together")
	}
	if set["insecure-skip-verify"] {
		h.TLSConfig.InsecureSkipVerify = f.insecure
	}
	if set["bearer-token-file"] {
		h.BasicAuth, h.BearerToken, h.BearerTokenFile = nil, "", ""
		h.Authorization = &commoncfg.Authorization{Type: "Bearer", CredentialsFile: f.bearerFile}
	}
	if set["basic-auth-password-file"] && !set["basic-auth-user"] {
		return usagef("--basic-auth-password-file needs --basic-auth-user")
	}
	if set["basic-auth-user"] {
		if set["bearer-token-file"] {
			return usagef("--bearer-token-file and --basic-auth-user exclude each other")
		}
		h.Authorization, h.BearerToken, h.BearerTokenFile = nil, "", ""
		h.BasicAuth = &commoncfg.BasicAuth{Username: f.basicUser, PasswordFile: f.basicPassFile}
	}
	return nil
}

// ByteSize is a size in bytes that reads "65536", "64MiB", "64MB", "512k".
type ByteSize int64

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1},
}

// ParseByteSize reads a size with an optional unit: B, KB/MB/GB (powers of
// ten), KiB/MiB/GiB or K/M/G (powers of two), case-insensitive.
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range byteUnits {
		if num, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(num), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number of bytes like 65536 or 64MiB", s)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return ByteSize(n * mult), nil
}

// Set implements flag.Value.
func (b *ByteSize) Set(s string) error {
	v, err := ParseByteSize(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// String implements flag.Value.
func (b *ByteSize) String() string {
	if b == nil {
		return "0"
	}
	return strconv.FormatInt(int64(*b), 10)
}

// Usage returns the -h text.
func Usage() string {
	var sb strings.Builder
	sb.WriteString(`resiltop — the resilience of a service's outgoing calls, live.

Usage:
  resiltop --target URL [--target URL…] [flags]
  resiltop --prometheus URL [--selector '{job="orders"}'] [--group-by LABEL] [flags]
  resiltop --config FILE [flags]
  resiltop --demo
  resiltop --once --target URL [-o table|json] [--fail-on warning|critical]
  resiltop --target URL --record FILE [--record-max 1GiB]
  resiltop --replay FILE [--once [--at 2026-11-21T03:04:05Z] [-o table|json]]
  resiltop report FILE [-o md|html]

The admin token is read from $` + TokenEnv + ` or --admin-token-file, never from a flag.
Flags override the config file.

Flags:
`)
	var f flags
	fs := f.flagSet()
	var defaults strings.Builder
	fs.SetOutput(&defaults)
	fs.PrintDefaults()
	// PrintDefaults writes "-name"; the docs and examples say "--name" (both
	// parse), so long names are shown the way people will type them.
	for _, line := range strings.SplitAfter(defaults.String(), "\n") {
		if strings.HasPrefix(line, "  -") && len(strings.Fields(line)[0]) > 2 {
			line = "  --" + line[3:]
		}
		sb.WriteString(line)
	}
	return sb.String()
}
