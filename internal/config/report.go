package config

import (
	"errors"
	"flag"
	"io"
	"strings"
)

// Output formats of `resiltop report`.
const (
	ReportMarkdown = "md"
	ReportHTML     = "html"
)

// ReportConfig is what `resiltop report FILE [-o md|html]` was given.
type ReportConfig struct {
	File   string // the recording
	Output string // ReportMarkdown or ReportHTML
}

// ParseReport reads the arguments after `report`. Every mistake is a
// *UsageError.
func ParseReport(args []string) (*ReportConfig, error) {
	fs := flag.NewFlagSet("resiltop report", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c := &ReportConfig{}
	fs.StringVar(&c.Output, "o", ReportMarkdown, "md or html")
	// The file may come before or after -o: parse, take it, parse the rest.
	if err := fs.Parse(args); err != nil {
		return nil, reportErr(err)
	}
	if fs.NArg() > 0 {
		c.File = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return nil, reportErr(err)
		}
	}
	switch {
	case c.File == "":
		return nil, usagef("report: name a recording: resiltop report FILE [-o md|html]")
	case fs.NArg() > 0:
		return nil, usagef("report: unexpected argument %q", fs.Arg(0))
	case c.Output != ReportMarkdown && c.Output != ReportHTML:
		return nil, usagef("report: -o %q: use md or html", c.Output)
	}
	return c, nil
}

func reportErr(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return &UsageError{Err: err}
	}
	return usagef("report: %s", strings.TrimSpace(longDashes(err.Error())))
}
