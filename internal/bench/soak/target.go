package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"resiltop/internal/scrape/scrapetest"
)

// depsPerTarget is how many dependencies each fake target exposes.
const depsPerTarget = 2

// Timings of the hostile behaviours; each is bounded so a target never
// holds a connection longer than the scraper's timeout needs.
const (
	dripEvery  = 20 * time.Millisecond
	maxHang    = 30 * time.Second
	relistenBy = 2 * time.Second
)

// target is one fake service on 127.0.0.1: it serves a page in the
// resiltop convention whose counters grow at known rates, until the
// scheduler switches it to another behaviour (setFault).
type target struct {
	id    int
	url   string
	addr  string
	key   string // the target as the snapshot names it: its URL, or in fleet mode its instance
	https bool
	deps  []depTruth
	as    *assets
	junk  []byte // this target's garbage body, seeded

	mu               sync.Mutex
	fault            fault
	since            time.Time // when fault began
	epoch            time.Time // the counters count from here; a reset moves it
	quietSince       time.Time // when the last rate-disturbing fault ended
	text, gzip       bool      // how the page is served under the current fault
	ln               net.Listener
	srv              *http.Server
	conns            map[net.Conn]struct{}
	relistenFailures int

	served  [numFaults]atomic.Int64 // requests answered per behaviour
	entered [numFaults]int          // times each behaviour began (under mu)
}

// state is what a check needs of a target at one moment.
type state struct {
	fault      fault
	since      time.Time
	quietSince time.Time
}

func (t *target) state() state {
	t.mu.Lock()
	defer t.mu.Unlock()
	return state{fault: t.fault, since: t.since, quietSince: t.quietSince}
}

// truth returns the named dependency's truth.
func (t *target) truth(name string) depTruth {
	for _, d := range t.deps {
		if d.name == name {
			return d
		}
	}
	panic("soak: no dependency " + name) // checks look names up from the target itself
}

// newTarget starts a healthy target on a fresh loopback port.
func newTarget(id int, https bool, as *assets, rng *rand.Rand, now time.Time) (*target, error) {
	t := &target{id: id, https: https, as: as, fault: healthy, since: now, epoch: now, quietSince: now,
		conns: map[net.Conn]struct{}{}, text: rng.IntN(2) == 0, gzip: rng.IntN(2) == 0}
	for d := range depsPerTarget {
		t.deps = append(t.deps, randomTruth(fmt.Sprintf("t%03d%c", id, 'a'+d), rng))
	}
	t.junk = make([]byte, 2048+rng.IntN(4096))
	for i := range t.junk {
		t.junk[i] = byte(rng.IntN(256))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	t.addr = ln.Addr().String()
	scheme := "http"
	if https {
		scheme = "https"
	}
	t.url = scheme + "://" + t.addr + "/metrics"
	t.key = t.url
	t.entered[healthy]++
	t.serveLocked(ln)
	return t, nil
}

// serveLocked serves on ln with a fresh server (TLS for https targets).
func (t *target) serveLocked(ln net.Listener) {
	t.ln = ln
	srv := &http.Server{
		Handler:           t,
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0), // TLS failures are the point, not news
		ConnState: func(c net.Conn, s http.ConnState) {
			t.mu.Lock()
			defer t.mu.Unlock()
			switch s {
			case http.StateNew:
				t.conns[c] = struct{}{}
			case http.StateClosed, http.StateHijacked:
				delete(t.conns, c)
			}
		},
	}
	t.srv = srv
	if t.https {
		cfg := t.as.goodTLS.Clone()
		cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
			if t.state().fault == tlsFailure {
				return t.as.badTLS, nil
			}
			return nil, nil
		}
		ln = tls.NewListener(ln, cfg)
	}
	go func() { _ = srv.Serve(ln) }()
}

// setFault switches the target to f at now. Open connections are closed,
// as a restart would, so keep-alive connections meet the new behaviour.
func (t *target) setFault(f fault, rng *rand.Rand, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if f == t.fault && f != counterReset {
		return // it goes on (a reset, though, happens again)
	}
	if t.fault.disturbsRates() {
		t.quietSince = now
	}
	switch {
	case f == refuse && t.srv != nil:
		_ = t.srv.Close() // the listener and every connection
		t.srv, t.ln = nil, nil
	case f != refuse && t.srv == nil:
		if !t.relistenLocked() {
			t.relistenFailures++
			f = refuse // the port was taken meanwhile: the target keeps refusing
		}
	}
	for c := range t.conns {
		_ = c.Close()
	}
	if f == counterReset {
		t.epoch = now
	}
	t.fault, t.since = f, now
	t.text, t.gzip = rng.IntN(2) == 0, rng.IntN(2) == 0
	if f == brokenHist || f == nanValues {
		t.text = true // only text can say it: protobuf implies +Inf and counts buckets in integers
	}
	t.entered[f]++
}

// relistenLocked binds the target's port again after a refusal.
func (t *target) relistenLocked() bool {
	deadline := time.Now().Add(relistenBy)
	for {
		ln, err := net.Listen("tcp", t.addr)
		if err == nil {
			t.serveLocked(ln)
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// close stops the target's server and its connections.
func (t *target) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.srv != nil {
		_ = t.srv.Close()
		t.srv, t.ln = nil, nil
	}
}

// ServeHTTP answers one scrape according to the current behaviour.
func (t *target) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	f, epoch, text, gz := t.fault, t.epoch, t.text, t.gzip
	t.mu.Unlock()
	t.served[f].Add(1)
	ctx := r.Context()
	switch f {
	case hang:
		select {
		case <-ctx.Done():
		case <-time.After(maxHang):
		}
	case drip:
		w.Header().Set("Content-Type", string(expfmt.FmtText))
		page := t.page(f, time.Now(), epoch, true)
		rc := http.NewResponseController(w)
		for i := range page {
			if _, err := w.Write(page[i : i+1]); err != nil || rc.Flush() != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(dripEvery):
			}
		}
	case status500:
		http.Error(w, "internal error", http.StatusInternalServerError)
	case html:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><form>…</form></body></html>\n")
	case garbage:
		w.Header().Set("Content-Type", string(expfmt.FmtText))
		_, _ = w.Write(t.junk)
	case oversized:
		w.Header().Set("Content-Type", string(expfmt.FmtText))
		for n := int64(0); n <= t.as.bodyLimit; n += int64(len(t.as.filler)) {
			if _, err := w.Write(t.as.filler); err != nil {
				return
			}
		}
	case gzipBomb:
		w.Header().Set("Content-Type", string(expfmt.FmtText))
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(t.as.bomb)
	case explosion:
		w.Header().Set("Content-Type", string(expfmt.FmtText))
		_, _ = w.Write(t.as.explosion)
	default:
		t.servePage(w, r, f, epoch, text, gz)
	}
}

// servePage serves the page as client_golang would: the format the Accept
// header prefers (text when the behaviour needs it), gzip when asked.
func (t *target) servePage(w http.ResponseWriter, r *http.Request, f fault, epoch time.Time, text, gz bool) {
	format := expfmt.FmtText
	if !text {
		format = expfmt.NegotiateAccept(r.Header, expfmt.FmtProtoDelim, expfmt.FmtText)
	}
	var body []byte
	if format.FormatType() == expfmt.TypeTextPlain {
		body = t.page(f, time.Now(), epoch, true)
	} else {
		body = t.page(f, time.Now(), epoch, false)
	}
	w.Header().Set("Content-Type", string(format))
	if gz && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		body = gzipped(body)
	}
	_, _ = w.Write(body)
}

// page encodes the target's page at now under behaviour f, as text or
// protobuf-delimited.
func (t *target) page(f fault, now, epoch time.Time, text bool) []byte {
	elapsed := now.Sub(epoch).Seconds()
	b := scrapetest.NewBuilder()
	for i, d := range t.deps {
		if f == vanish && i == 1 {
			continue // the whole dependency is gone
		}
		d.families(b, elapsed, f == vanish)
	}
	fams := b.Families()
	if f == typeChange {
		retype(fams)
	}
	if f == nanValues {
		for _, fam := range fams {
			if fam.GetName() == familyCalls {
				for _, m := range fam.Metric {
					m.Counter.Value = ptr(math.NaN())
				}
			}
		}
	}
	var buf bytes.Buffer
	format := expfmt.FmtProtoDelim
	if text {
		format = expfmt.FmtText
	}
	enc := expfmt.NewEncoder(&buf, format)
	for _, fam := range fams {
		if err := enc.Encode(fam); err != nil {
			panic(fmt.Sprintf("soak: encoding %s: %v", fam.GetName(), err)) // the generator's own bug
		}
	}
	switch f {
	case brokenHist:
		// Without the +Inf bucket a text histogram still has its total in
		// _count (which resiltop rightly uses as +Inf); without both, no
		// quantile can be known.
		page := dropLines(buf.Bytes(), familyLatency+"_bucket{", `le="+Inf"`)
		return dropLines(page, familyLatency+"_count{", "")
	case nanValues:
		return nanLines(buf.Bytes(), familyLatency+"_bucket{", `le="0.1"`)
	}
	return buf.Bytes()
}

// retype turns the call counters into gauges and the retry counter into
// an untyped family, as a service that changed its instrumentation would.
func retype(fams []*dto.MetricFamily) {
	for _, fam := range fams {
		switch fam.GetName() {
		case familyCalls:
			fam.Type = dto.MetricType_GAUGE.Enum()
			for _, m := range fam.Metric {
				m.Gauge, m.Counter = &dto.Gauge{Value: m.Counter.Value}, nil
			}
		case familyRetries:
			fam.Type = dto.MetricType_UNTYPED.Enum()
			for _, m := range fam.Metric {
				m.Untyped, m.Counter = &dto.Untyped{Value: m.Counter.Value}, nil
			}
		}
	}
}

// dropLines removes the text lines that start with prefix and contain sub.
func dropLines(page []byte, prefix, sub string) []byte {
	var out bytes.Buffer
	for line := range bytes.Lines(page) {
		if bytes.HasPrefix(line, []byte(prefix)) && bytes.Contains(line, []byte(sub)) {
			continue
		}
		out.Write(line)
	}
	return out.Bytes()
}

// nanLines sets the value of the text lines that start with prefix and
// contain sub to NaN.
func nanLines(page []byte, prefix, sub string) []byte {
	var out bytes.Buffer
	for line := range bytes.Lines(page) {
		if bytes.HasPrefix(line, []byte(prefix)) && bytes.Contains(line, []byte(sub)) {
			if i := bytes.LastIndexByte(line, ' '); i > 0 {
				out.Write(line[:i+1])
				out.WriteString("NaN\n")
				continue
			}
		}
		out.Write(line)
	}
	return out.Bytes()
}

func ptr[T any](v T) *T { return &v }
