package pgsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/failsafe-go/failsafe-go/timeout"
)

// response is one answered attempt.
type response struct {
	code int
	body []byte
}

// statusError is an HTTP answer that is not a success.
type statusError struct{ code int }

func (e *statusError) Error() string {
	return fmt.Sprintf("HTTP %d %s", e.code, http.StatusText(e.code))
}

// Errors of calls that made no attempt.
var (
	errShortCircuited = errors.New("refused by the circuit breaker")
	errBulkheadFull   = errors.New("refused by the bulkhead")
	errBodyTooLarge   = fmt.Errorf("response body larger than %d bytes", maxBody)
)

// retryable reports whether an attempt's error may be retried: connection
// errors, timeouts and 5xx (409 is the gateway's "an earlier request with
// this key failed; retry"). Safe for payments because of the idempotency
// key; without one (Config.NoIdempotencyKeys) the same policy charges twice.
func retryable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, timeout.ErrExceeded) {
		return true
	}
	var se *statusError
	if errors.As(err, &se) {
		return se.code >= 500 || se.code == http.StatusConflict
	}
	if errors.Is(err, errBodyTooLarge) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return true // transport: refused, reset, EOF
}

// definite reports whether a failed call certainly did not reach the
// dependency's effect: the dependency answered with an error, or no request
// left. Timeouts and connections cut after the request was sent are unknown.
func definite(err error) bool {
	var se *statusError
	if errors.As(err, &se) || errors.Is(err, errShortCircuited) || errors.Is(err, errBulkheadFull) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

// depSettingsFor are the order service's policies for every dependency.
type depPolicy struct {
	attemptTimeout time.Duration
	connectTimeout time.Duration
	maxAttempts    int
	backoffBase    time.Duration
	backoffMax     time.Duration
	bulkhead       int
	poolMax        int
	slowCall       time.Duration
	breaker        breakerConfig
}

// depClient calls one dependency through bulkhead → breaker → retry →
// timeout, over its own bounded connection pool.
type depClient struct {
	dep    string
	base   string
	pol    depPolicy
	m      *metrics
	rnd    *lockedRand
	root   context.Context
	httpc  *http.Client
	br     *breaker
	bh     bulkhead.Bulkhead[any]
	retry  retrypolicy.RetryPolicy[*response]
	to     timeout.Timeout[*response]
	flight atomic.Int64

	open, active, waiting atomic.Int64
}

func newDepClient(root context.Context, dep, base string, pol depPolicy, m *metrics, rnd *lockedRand) *depClient {
	c := &depClient{dep: dep, base: base, pol: pol, m: m, rnd: rnd, root: root}
	dialer := &net.Dialer{Timeout: pol.connectTimeout, KeepAlive: 30 * time.Second}
	c.httpc = &http.Client{Transport: &http.Transport{
		Proxy: nil, // loopback only; never route through an environment proxy
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			c.open.Add(1)
			return &countedConn{Conn: conn, open: &c.open}, nil
		},
		MaxConnsPerHost:     pol.poolMax,
		MaxIdleConnsPerHost: pol.poolMax,
		MaxIdleConns:        pol.poolMax,
		IdleConnTimeout:     30 * time.Second,
	}}
	c.br = newBreaker(dep, pol.breaker, m)
	c.bh = bulkhead.New[any](uint(pol.bulkhead))
	c.retry = retrypolicy.NewBuilder[*response]().
		HandleIf(func(_ *response, err error) bool { return retryable(err) }).
		WithMaxAttempts(pol.maxAttempts).
		WithDelayFunc(c.fullJitter).
		ReturnLastFailure().
		OnRetriesExceeded(func(failsafe.ExecutionEvent[*response]) { m.retriesExhausted.WithLabelValues(dep).Inc() }).
		Build()
	c.to = timeout.New[*response](pol.attemptTimeout)
	return c
}

// fullJitter is exponential backoff with full jitter: before retry n the
// delay is uniform in [0, min(max, base·2^(n-1))]. failsafe's jitter factor
// only spreads around the delay, so the draw is done here.
func (c *depClient) fullJitter(exec failsafe.ExecutionAttempt[*response]) time.Duration {
	ceil := c.pol.backoffBase
	for i := 1; i < exec.Attempts() && ceil < c.pol.backoffMax; i++ {
		ceil *= 2
	}
	return c.rnd.Between(0, min(ceil, c.pol.backoffMax))
}

// countedConn keeps the pool's open-connection count.
type countedConn struct {
	net.Conn
	open *atomic.Int64
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.open.Add(-1) })
	return c.Conn.Close()
}

// live returns the pool and bulkhead gauges.
func (c *depClient) live() (active, idle, waiting, inFlight float64) {
	a, o := c.active.Load(), c.open.Load()
	return float64(a), float64(max(o-a, 0)), float64(c.waiting.Load()), float64(c.flight.Load())
}

// call makes one logical call. outcome is the convention's final outcome;
// it is "" when the call was abandoned because the service is shutting down.
func (c *depClient) call(ctx context.Context, method, path string, body []byte, header http.Header) (*response, string, error) {
	if !c.bh.TryAcquirePermit() {
		c.m.calls.WithLabelValues(c.dep, outcomeBulkheadRejected).Inc()
		return nil, outcomeBulkheadRejected, errBulkheadFull
	}
	defer c.bh.ReleasePermit()
	c.flight.Add(1)
	defer c.flight.Add(-1)

	permitted, tracked := c.br.acquire()
	if !permitted {
		c.m.calls.WithLabelValues(c.dep, outcomeShortCircuited).Inc()
		return nil, outcomeShortCircuited, errShortCircuited
	}
	start := time.Now()
	idem := idempotentLabel(safeToRepeat(method, header))
	resp, err := failsafe.With(c.retry, c.to).WithContext(ctx).GetWithExecution(
		func(exec failsafe.Execution[*response]) (*response, error) {
			return c.attempt(exec, method, path, body, header, idem)
		})
	elapsed := time.Since(start)
	if ctx.Err() != nil {
		return nil, "", ctx.Err()
	}
	outcome := outcomeSuccess
	switch {
	case err == nil:
	case errors.Is(err, timeout.ErrExceeded):
		outcome = outcomeTimeout
	default:
		outcome = outcomeFailure
	}
	c.m.calls.WithLabelValues(c.dep, outcome).Inc()
	if tracked {
		failed := outcome == outcomeTimeout || (outcome == outcomeFailure && retryable(err)) || elapsed > c.pol.slowCall
		c.br.record(failed)
	}
	return resp, outcome, err
}

// safeToRepeat reports whether a request may be sent twice without a second
// effect: a GET, or a request carrying an idempotency key.
func safeToRepeat(method string, header http.Header) bool {
	return method == http.MethodGet || header.Get("Idempotency-Key") != ""
}

// attempt is one HTTP exchange, timed and traced for the pool gauges. idem
// is the retries' idempotent label.
func (c *depClient) attempt(exec failsafe.Execution[*response], method, path string, body []byte, header http.Header, idem string) (*response, error) {
	if !exec.IsFirstAttempt() {
		c.m.retries.WithLabelValues(c.dep, idem).Inc()
	}
	tr := &attemptTrace{c: c}
	ctx := httptrace.WithClientTrace(exec.Context(), tr.trace())
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		// net/http's Transport silently re-sends requests that carry an
		// Idempotency-Key when a reused connection breaks; without GetBody
		// it cannot, so every attempt is one the retry policy made and counted.
		req.GetBody = nil
	}
	start := time.Now()
	out, err := exchange(c.httpc, req)
	tr.done(err, c.root.Err() == nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)))
	c.m.attemptDuration.WithLabelValues(c.dep).Observe(time.Since(start).Seconds())
	if err != nil {
		return nil, err
	}
	if out.code >= 400 && out.code != http.StatusNotFound {
		return out, &statusError{code: out.code}
	}
	return out, nil
}

// exchange sends req with client and reads the answer, its body bounded by maxBody.
func exchange(client *http.Client, req *http.Request) (*response, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxBody {
		return nil, errBodyTooLarge
	}
	return &response{code: resp.StatusCode, body: data}, nil
}

// attemptTrace follows one request through the connection pool.
type attemptTrace struct {
	c            *depClient
	mu           sync.Mutex
	waiting, got bool
}

func (t *attemptTrace) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GetConn: func(string) {
			t.mu.Lock()
			defer t.mu.Unlock()
			if t.got { // the transport retries on a fresh connection
				t.got = false
				t.c.active.Add(-1)
			}
			if !t.waiting {
				t.waiting = true
				t.c.waiting.Add(1)
			}
		},
		GotConn: func(httptrace.GotConnInfo) {
			t.mu.Lock()
			defer t.mu.Unlock()
			if t.waiting {
				t.waiting = false
				t.c.waiting.Add(-1)
			}
			if !t.got {
				t.got = true
				t.c.active.Add(1)
			}
		},
	}
}

// done ends the attempt. timedOut says the attempt's deadline cut it: if it
// was still waiting for a connection then, it timed out in the pool's queue.
func (t *attemptTrace) done(err error, timedOut bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.waiting {
		t.waiting = false
		t.c.waiting.Add(-1)
		if err != nil && timedOut {
			t.c.m.acquireTimeouts.WithLabelValues(t.c.dep).Inc()
		}
	}
	if t.got {
		t.got = false
		t.c.active.Add(-1)
	}
}

// close drops idle connections.
func (c *depClient) close() {
	c.httpc.CloseIdleConnections()
}
