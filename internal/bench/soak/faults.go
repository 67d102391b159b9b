package main

import (
	"fmt"
	"slices"
	"strings"
)

// fault is one behaviour of a fake target. Each names what a scrape of the
// target meets while it holds; a target switches between them at random.
type fault int

// The behaviours, healthy first.
const (
	healthy      fault = iota // a valid page, protobuf or text, gzipped or not
	refuse                    // nothing listens: the port is closed
	hang                      // the connection is accepted, no answer ever comes
	drip                      // a valid page, one byte every 20 ms
	status500                 // HTTP 500
	html                      // 200 with an HTML login page
	garbage                   // 200 text/plain of random bytes, invalid UTF-8 and NULs included
	oversized                 // 200 with a body past the body limit
	gzipBomb                  // a small gzip body that inflates past the body limit
	explosion                 // a page with more series than the series limit
	typeChange                // the call counters turn gauges, retries untyped
	counterReset              // the counters restart from zero (a process restart)
	nanValues                 // call counters and one latency bucket read NaN
	vanish                    // a dependency and the other's histogram disappear
	tlsFailure                // https targets only: an untrusted certificate
	brokenHist                // the latency histogram lacks its +Inf bucket and its count
	numFaults
)

var faultNames = [numFaults]string{
	healthy: "healthy", refuse: "refuse", hang: "hang", drip: "drip", status500: "HTTP 500", html: "HTML",
	garbage: "garbage", oversized: "oversized", gzipBomb: "gzip bomb", explosion: "series explosion",
	typeChange: "type change", counterReset: "counter reset", nanValues: "NaN", vanish: "vanishing series",
	tlsFailure: "TLS failure", brokenHist: "broken histogram",
}

func (f fault) String() string { return faultNames[f] }

// faultFlags name the behaviours on the command line (-faults).
var faultFlags = [numFaults]string{
	healthy: "healthy", refuse: "refuse", hang: "hang", drip: "drip", status500: "500", html: "html",
	garbage: "garbage", oversized: "oversized", gzipBomb: "gzip-bomb", explosion: "explosion",
	typeChange: "type-change", counterReset: "reset", nanValues: "nan", vanish: "vanish",
	tlsFailure: "tls", brokenHist: "broken-histogram",
}

// parseFaults reads a comma-separated list of faultFlags; "" is every one.
func parseFaults(list string) ([]fault, error) {
	if list == "" {
		out := make([]fault, numFaults)
		for f := range numFaults {
			out[f] = f
		}
		return out, nil
	}
	var out []fault
	for name := range strings.SplitSeq(list, ",") {
		i := slices.Index(faultFlags[:], strings.TrimSpace(name))
		if i < 0 {
			return nil, fmt.Errorf("unknown behaviour %q (one of %s)", name, strings.Join(faultFlags[:], ", "))
		}
		out = append(out, fault(i))
	}
	return out, nil
}

// disturbsRates reports faults after which a window's rates or quantiles
// legitimately differ from the target's true rates until the window has
// passed: a counter reset loses the increase before it (Prometheus's
// semantics), a type change or NaN hides counters, a broken histogram
// starts a new bucket layout, a vanished histogram leaves a window with
// too few histograms for a quantile. Failures of the whole scrape do not:
// the counters go on meanwhile, and the next good scrape's increase is
// right.
func (f fault) disturbsRates() bool {
	switch f {
	case typeChange, counterReset, nanValues, vanish, brokenHist:
		return true
	}
	return false
}

// failsScrape reports faults that make the whole scrape fail.
func (f fault) failsScrape() bool {
	switch f {
	case refuse, hang, drip, status500, html, garbage, oversized, gzipBomb, explosion, tlsFailure:
		return true
	}
	return false
}
