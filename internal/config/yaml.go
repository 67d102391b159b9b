package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"gopkg.in/yaml.v3"

	"resiltop/internal/model"
)

// fileConfig is the YAML file's shape; pointers tell "absent" from zero.
type fileConfig struct {
	Interval   *time.Duration              `yaml:"interval"`
	Timeout    *time.Duration              `yaml:"timeout"`
	Window     *time.Duration              `yaml:"window"`
	History    *time.Duration              `yaml:"history"`
	BodyLimit  *ByteSize                   `yaml:"body_limit"`
	MaxSeries  *int                        `yaml:"max_series"`
	Targets    []fileTarget                `yaml:"targets"`
	HTTP       *commoncfg.HTTPClientConfig `yaml:"http"`
	Thresholds *model.Thresholds           `yaml:"thresholds"`
	Profiles   yaml.Node                   `yaml:"profiles"`
	Prometheus *filePrometheus             `yaml:"prometheus"`
}

// filePrometheus is the prometheus: section (fleet mode). Its http: is how
// Prometheus is reached, in prometheus/common's form (tls_config,
// authorization with credentials_file, basic_auth with password_file).
type filePrometheus struct {
	URL           string                      `yaml:"url"`
	Selector      string                      `yaml:"selector"`
	GroupBy       string                      `yaml:"group_by"`
	AdminTemplate string                      `yaml:"admin_template"`
	HTTP          *commoncfg.HTTPClientConfig `yaml:"http"`
}

type fileTarget struct {
	URL      string   `yaml:"url"`
	Admin    string   `yaml:"admin"`
	Profiles []string `yaml:"profiles"`
}

// UnmarshalYAML reads a number of bytes or a string like "64MiB".
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a size like 64MiB", n.Line)
	}
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	*b = v
	return nil
}

// lineRE finds the line yaml.v3 (or our own unmarshalers) put in a message.
var lineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// loadYAML merges the file's settings into c. Unknown fields are errors;
// every error names the file, and the line and field where it can.
func loadYAML(c *Config, file string, data []byte) error {
	thresholds := c.Thresholds
	fc := fileConfig{Thresholds: &thresholds}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&fc); err != nil && !errors.Is(err, io.EOF) {
		return fileError(file, data, err)
	}
	c.File = file
	setIf(&c.Interval, fc.Interval)
	c.intervalSet = fc.Interval != nil
	setIf(&c.Timeout, fc.Timeout)
	setIf(&c.Window, fc.Window)
	setIf(&c.History, fc.History)
	setIf(&c.MaxSeries, fc.MaxSeries)
	if fc.BodyLimit != nil {
		c.BodyLimit = int64(*fc.BodyLimit)
	}
	for i, t := range fc.Targets {
		if t.URL == "" {
			return usagef("%s:%d: targets[%d]: url is missing", file, keyLine(data, "targets"), i)
		}
		c.Endpoints = append(c.Endpoints, Endpoint(t))
	}
	if fc.HTTP != nil {
		c.HTTP = *fc.HTTP
		// Relative file names in the file are relative to the file, as in Prometheus.
		c.HTTP.SetDirectory(filepath.Dir(file))
	}
	if p := fc.Prometheus; p != nil {
		if p.URL == "" {
			return usagef("%s:%d: prometheus: url is missing", file, keyLine(data, "prometheus"))
		}
		c.Prometheus = Prometheus{URL: p.URL, Selector: p.Selector, GroupBy: p.GroupBy, AdminTemplate: p.AdminTemplate}
		if p.HTTP != nil {
			if fc.HTTP != nil {
				return usagef("%s:%d: prometheus: http: and the top-level http: both set how Prometheus is reached; keep one", file, keyLine(data, "prometheus"))
			}
			c.HTTP = *p.HTTP
			c.HTTP.SetDirectory(filepath.Dir(file))
		}
	}
	if fc.Thresholds != nil {
		if err := checkThresholds(*fc.Thresholds); err != nil {
			return usagef("%s:%d: thresholds: %v", file, keyLine(data, "thresholds"), err)
		}
		c.Thresholds = *fc.Thresholds
	}
	if fc.Profiles.Kind != 0 {
		c.Profiles = fc.Profiles
		c.ProfilesFile = file
	}
	return nil
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// fileError words a decode error as "FILE:LINE: message" for each problem.
// Errors from prometheus/common's HTTP validation carry no line; they get
// the line of the http: key.
func fileError(file string, data []byte, err error) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	for i, m := range msgs {
		if g := lineRE.FindStringSubmatch(m); g != nil {
			msgs[i] = fmt.Sprintf("%s:%s: %s", file, g[1], tidy(g[2]))
		} else {
			msgs[i] = fmt.Sprintf("%s:%d: http: %s", file, keyLine(data, "http"), tidy(m))
		}
	}
	return usagef("%s", strings.Join(msgs, "\n"))
}

// tidy drops yaml.v3's Go type names, which mean nothing to a user.
func tidy(msg string) string {
	if i := strings.Index(msg, " in type "); i >= 0 {
		msg = msg[:i]
	}
	return strings.TrimPrefix(msg, "yaml: ")
}

// keyLine returns the line of a top-level key, or 0.
func keyLine(data []byte, key string) int {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil || len(root.Content) == 0 {
		return 0
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i].Line
		}
	}
	return 0
}

// checkThresholds rejects values that would make findings meaningless.
func checkThresholds(t model.Thresholds) error {
	switch {
	case t.FlappingTransitions < 1:
		return errors.New("flapping_transitions must be at least 1")
	case t.FlappingWindow <= 0, t.PoolExhaustedFor < 0, t.BacklogStaleAge <= 0:
		return errors.New("flapping_window and backlog_stale_age must be positive, pool_exhausted_for not negative")
	case t.RetryRatioWarning <= 0, t.BulkheadSaturation <= 0, t.TailNearTimeout <= 0, t.TimeoutRatio <= 0:
		return errors.New("retry_ratio, bulkhead_saturation, tail_near_timeout and timeout_ratio must be positive")
	}
	return nil
}
