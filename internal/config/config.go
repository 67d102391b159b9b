// Package config gathers everything the user sets — flags, a YAML file and
// the environment — into one Config; cmd/resiltop only wires it up.
// Precedence: built-in defaults, then the --config file, then flags.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strings"
	"text/template"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"gopkg.in/yaml.v3"

	"resiltop/internal/model"
	"resiltop/internal/record"
	"resiltop/internal/scrape"
)

// TokenEnv is the environment variable that carries the admin token.
const TokenEnv = "RESILTOP_ADMIN_TOKEN"

// Defaults the flags and the file start from.
const (
	DefaultInterval = time.Second
	DefaultWindow   = time.Minute
	DefaultHistory  = 15 * time.Minute
	// DefaultRecordMax is --record-max's default, the recording's own.
	DefaultRecordMax = record.DefaultLimit
)

// Output formats of --once.
const (
	OutputTable = "table"
	OutputJSON  = "json"
)

// Endpoint is one target to watch.
type Endpoint struct {
	URL string
	// Admin is the admin endpoint's base URL: the file's or --admin's, else
	// the target's scheme://host:port/actuator.
	Admin string
	// Profiles restricts the profiles applied to the target; empty means
	// detect them.
	Profiles []string
}

// Config is everything the user set. Its fmt output never shows the admin
// token or any credential of the HTTP settings.
type Config struct {
	File string // the --config file; "" when none

	Endpoints []Endpoint
	Interval  time.Duration
	Timeout   time.Duration // per scrape; 0 means 80% of Interval, at most 10 s
	Window    time.Duration // rates and quantiles span this long
	History   time.Duration // how much history the model keeps
	BodyLimit int64         // bytes, after decompression
	MaxSeries int           // Prometheus series per page
	// HTTP is how targets are scraped: TLS, authorization, basic auth, proxy.
	HTTP       commoncfg.HTTPClientConfig
	Thresholds model.Thresholds

	// Profiles is the file's raw `profiles:` section (user metric mappings),
	// carried for the profile interpreter; its Kind is 0 when absent.
	// ProfilesFile is the file it came from, for error messages.
	Profiles     yaml.Node
	ProfilesFile string

	Once     bool
	Output   string         // OutputTable or OutputJSON
	FailOn   model.Severity // "" when --fail-on is not set
	Demo     bool
	ReadOnly bool
	// AdminToken is from --admin-token-file or RESILTOP_ADMIN_TOKEN; never a flag value.
	AdminToken   Secret
	NoColor      bool
	Mouse        bool
	HAProxyAdmin string // HAProxy runtime API address; "" when none

	// Prometheus is fleet mode: read the targets from a Prometheus server
	// instead of scraping them. Its URL is "" when fleet mode is off; HTTP
	// then applies to the Prometheus server.
	Prometheus Prometheus

	intervalSet bool // the file or a flag set Interval

	// Record is the recording file every scrape is appended to; "" when
	// not recording. RecordMax bounds its size in bytes.
	Record    string
	RecordMax int64
	// Replay is the recording replayed instead of scraping; "" when live.
	// At is --once's moment in it; zero means the recording's end.
	Replay string
	At     time.Time
}

// Prometheus is fleet mode's settings (--prometheus and the file's
// prometheus: section).
type Prometheus struct {
	URL      string
	Selector string // `{job="orders"}`; "" asks for every series
	GroupBy  string // the label whose values are the targets; default instance
	// AdminTemplate makes a row's admin URL from its target labels,
	// `http://{{.instance}}/actuator`; "" leaves fleet rows without one.
	AdminTemplate string
	// Profiles are --profile's names, applied to every instance instead of
	// detection; empty means detect.
	Profiles []string
}

// DefaultFleetInterval is the refresh interval in fleet mode when none is set.
const DefaultFleetInterval = scrape.DefaultPromInterval

// UsageError is a mistake in how resiltop was invoked (flags, config file,
// environment); the CLI exits 2 on it. errors.Is(err, flag.ErrHelp) holds
// for -h.
type UsageError struct{ Err error }

// Error returns the message.
func (e *UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *UsageError) Unwrap() error { return e.Err }

func usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// Secret is a credential. Every fmt verb prints it as "<secret>"; Reveal
// returns the value for the one place that sends it.
type Secret string

// Format prints "<secret>" whatever the verb.
func (Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, "<secret>") }

// String returns "<secret>".
func (Secret) String() string { return "<secret>" }

// GoString returns "<secret>".
func (Secret) GoString() string { return "<secret>" }

// MarshalText keeps the value out of JSON, YAML and logs.
func (Secret) MarshalText() ([]byte, error) { return []byte("<secret>"), nil }

// Reveal returns the credential itself.
func (s Secret) Reveal() string { return string(s) }

// Targets converts the endpoints to scrape targets.
func (c *Config) Targets() []scrape.Target {
	out := make([]scrape.Target, len(c.Endpoints))
	for i, e := range c.Endpoints {
		out[i] = scrape.Target{
			URL: e.URL, Interval: c.Interval, Timeout: c.Timeout,
			BodyLimit: c.BodyLimit, MaxSeries: c.MaxSeries, HTTP: c.HTTP,
		}
	}
	return out
}

// String summarizes the configuration without credentials.
func (c Config) String() string {
	var urls []string
	for _, e := range c.Endpoints {
		urls = append(urls, e.URL)
	}
	token := "none"
	if c.AdminToken != "" {
		token = "<secret>"
	}
	prom := "none"
	if c.Prometheus.URL != "" {
		prom = fmt.Sprintf("%s selector=%s group_by=%s", redact(c.Prometheus.URL), c.Prometheus.Selector, c.Prometheus.GroupBy)
	}
	return fmt.Sprintf("config{targets=%v prometheus=%s interval=%v timeout=%v window=%v history=%v body_limit=%d max_series=%d once=%v output=%s fail_on=%s demo=%v read_only=%v admin_token=%s file=%q}",
		urls, prom, c.Interval, c.Timeout, c.Window, c.History, c.BodyLimit, c.MaxSeries, c.Once, c.Output, c.FailOn, c.Demo, c.ReadOnly, token, c.File)
}

// Format prints String for every verb, so %+v and %#v cannot reach the
// token or the HTTP credentials either.
func (c Config) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// GoString returns String.
func (c Config) GoString() string { return c.String() }

// Parse reads args (without the program name), the --config file they name
// and the environment through getenv. Every mistake is a *UsageError.
func Parse(args []string, getenv func(string) string) (*Config, error) {
	for _, a := range args {
		if a == "--" {
			break
		}
		name := strings.TrimLeft(a, "-")
		if strings.HasPrefix(a, "-") && (name == "admin-token" || strings.HasPrefix(name, "admin-token=")) {
			return nil, usagef("the admin token is never a flag: set %s or pass --admin-token-file", TokenEnv)
		}
	}
	var f flags
	fs := f.flagSet()
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, &UsageError{Err: err}
		}
		return nil, &UsageError{Err: errors.New(longDashes(err.Error()))}
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected argument %q (targets go after --target)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })

	c := &Config{
		Interval: DefaultInterval, Window: DefaultWindow, History: DefaultHistory,
		BodyLimit: scrape.DefaultBodyLimit, MaxSeries: scrape.DefaultMaxSeries,
		HTTP: commoncfg.DefaultHTTPClientConfig, Thresholds: model.DefaultThresholds(),
		Output: OutputTable, RecordMax: DefaultRecordMax,
	}
	if f.configFile != "" {
		data, err := os.ReadFile(f.configFile)
		if err != nil {
			return nil, usagef("config file: %v", err)
		}
		if err := loadYAML(c, f.configFile, data); err != nil {
			return nil, err
		}
	}
	if err := f.apply(c, set); err != nil {
		return nil, err
	}
	if err := readToken(c, f.tokenFile, getenv); err != nil {
		return nil, err
	}
	c.NoColor = c.NoColor || getenv("NO_COLOR") != ""
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// readToken reads the admin token: the file when given, else the environment.
func readToken(c *Config, file string, getenv func(string) string) error {
	if file == "" {
		c.AdminToken = Secret(strings.TrimSpace(getenv(TokenEnv)))
		return nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return usagef("--admin-token-file: %v", err)
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" {
		return usagef("--admin-token-file %s is empty", file)
	}
	c.AdminToken = Secret(tok)
	return nil
}

// validate checks the merged configuration and fills in derived values.
func (c *Config) validate() error {
	if err := c.validateFleet(); err != nil {
		return err
	}
	if len(c.Endpoints) == 0 && !c.Demo && c.Prometheus.URL == "" && c.Replay == "" {
		return usagef("no target: pass --target URL, --prometheus URL, a --config file with targets, --demo or --replay FILE")
	}
	seen := map[string]bool{}
	for i := range c.Endpoints {
		e := &c.Endpoints[i]
		u, err := checkURL(e.URL)
		if err != nil {
			return usagef("target %q: %v", redact(e.URL), err)
		}
		if seen[e.URL] {
			return usagef("target %s given twice", e.URL)
		}
		seen[e.URL] = true
		if e.Admin == "" {
			e.Admin = u.Scheme + "://" + u.Host + "/actuator"
		} else if _, err := checkURL(e.Admin); err != nil {
			return usagef("admin endpoint %q: %v", redact(e.Admin), err)
		}
	}
	switch {
	case c.Interval < 10*time.Millisecond:
		return usagef("interval %v is too short (at least 10ms)", c.Interval)
	case c.Timeout < 0:
		return usagef("timeout %v is negative", c.Timeout)
	case c.Timeout > c.Interval:
		return usagef("timeout %v is longer than the interval %v", c.Timeout, c.Interval)
	case c.Window <= 0:
		return usagef("window %v must be positive", c.Window)
	case c.History < c.Window:
		return usagef("history %v is shorter than the window %v", c.History, c.Window)
	case c.BodyLimit <= 0:
		return usagef("body limit must be positive")
	case c.MaxSeries <= 0:
		return usagef("max series must be positive")
	case c.Output != OutputTable && c.Output != OutputJSON:
		return usagef("-o %q: use table or json", c.Output)
	case c.FailOn != "" && c.FailOn != model.Warning && c.FailOn != model.Critical:
		return usagef("--fail-on %q: use warning or critical", c.FailOn)
	}
	if err := c.HTTP.Validate(); err != nil {
		return usagef("HTTP settings: %v", err)
	}
	return nil
}

// validateFleet checks fleet mode's settings: it excludes targets and the
// demo, and its admin template must parse.
func (c *Config) validateFleet() error {
	p := &c.Prometheus
	if p.URL == "" {
		if p.Selector != "" || p.AdminTemplate != "" || p.GroupBy != "" {
			return usagef("--selector, --group-by and --admin-template need --prometheus URL")
		}
		return nil
	}
	if !c.intervalSet {
		c.Interval = DefaultFleetInterval
	}
	if len(c.Endpoints) > 0 || c.Demo {
		return usagef("--prometheus reads the targets from Prometheus: it cannot be combined with --target or --demo")
	}
	if _, err := checkURL(p.URL); err != nil {
		return usagef("--prometheus %q: %v", redact(p.URL), err)
	}
	if p.GroupBy == "" {
		p.GroupBy = scrape.DefaultGroupBy
	}
	if !labelName.MatchString(p.GroupBy) {
		return usagef("--group-by %q: not a label name", p.GroupBy)
	}
	if p.AdminTemplate != "" {
		if _, err := AdminTemplate(p.AdminTemplate); err != nil {
			return usagef("--admin-template: %v", err)
		}
	}
	return nil
}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// AdminTemplate parses an --admin-template: Go text/template over a row's
// target labels, where a label the row lacks is an error, not "<no value>".
func AdminTemplate(text string) (*template.Template, error) {
	return template.New("admin").Option("missingkey=error").Parse(text)
}

func checkURL(s string) (*url.URL, error) {
	// host:port, as Prometheus's static_configs write targets, is the
	// likely slip; credentials are never repeated in the hint.
	if !strings.Contains(s, "://") && !strings.Contains(s, "@") {
		return nil, fmt.Errorf("not a URL (no http:// or https://): did you mean %q?", "http://"+s)
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, errors.New("not a URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("not an http(s) URL")
	}
	if u.User != nil {
		// A URL is shown on screen, in --once output and in ps; credentials
		// belong in files the flags name.
		return nil, errors.New("credentials in a URL would show on screen and in ps: use --basic-auth-user with --basic-auth-password-file (or an http: section in --config)")
	}
	return u, nil
}

// longDashes rewrites the flag package's "-name" in an error as "--name",
// the way -h and the docs spell long flags (single letters keep one dash).
func longDashes(msg string) string {
	return flagName.ReplaceAllString(msg, "$1--$2")
}

var flagName = regexp.MustCompile(`(^|[\s:])-([a-z][a-z-]+)`)

// redact hides a password in a URL that is about to be quoted in an error.
func redact(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	// Without a scheme, url.Parse reads "user:pass@host" as a scheme and
	// an opaque rest, so the password is found by hand.
	if at := strings.LastIndex(s, "@"); at >= 0 && !strings.Contains(s[:at], "://") {
		if colon := strings.Index(s[:at], ":"); colon >= 0 {
			return s[:colon+1] + "xxxxx" + s[at:]
		}
	}
	return s
}
