package pgsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// proxyTries is how many tries the proxy gives a request, the first included.
const proxyTries = 2

// retryProxy is a reverse proxy in front of pg (Config.ViaProxy) that, like
// some proxies by default, sends a request again when a try times out,
// whatever its method and whether or not it carries an idempotency key. The
// order service never sees those retries; the proxy reports them itself as
// dependency pg-proxy in the convention (calls, attempt latency, retries
// with their idempotent label).
type retryProxy struct {
	upstream   string
	tryTimeout time.Duration
	m          *metrics
	client     *http.Client
	ln         net.Listener
	srv        *http.Server
	url        string
}

func startRetryProxy(upstream string, tryTimeout time.Duration, m *metrics) (*retryProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	p := &retryProxy{
		upstream: upstream, tryTimeout: tryTimeout, m: m, ln: ln, url: "http://" + ln.Addr().String(),
		client: &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}},
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// forwarded are the request headers the proxy passes on.
var forwarded = []string{"Content-Type", "Idempotency-Key", "Accept"}

// ServeHTTP forwards one request, retrying a try that timed out.
func (p *retryProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		writeError(w, http.StatusBadRequest, "proxy: request body unreadable or too large")
		return
	}
	idem := idempotentLabel(safeToRepeat(r.Method, r.Header))
	for try := 1; ; try++ {
		if try > 1 {
			p.m.retries.WithLabelValues(DepPGProxy, idem).Inc()
		}
		resp, err := p.try(r, body)
		switch {
		case err == nil:
			outcome := outcomeSuccess
			if resp.code >= 500 {
				outcome = outcomeFailure
			}
			p.m.calls.WithLabelValues(DepPGProxy, outcome).Inc()
			writeRaw(w, resp.code, resp.body)
			return
		case r.Context().Err() != nil:
			// The client gave up: the outcome is unknown to it and to us.
			p.m.calls.WithLabelValues(DepPGProxy, outcomeTimeout).Inc()
			return
		case errors.Is(err, context.DeadlineExceeded) && try < proxyTries:
			continue
		case errors.Is(err, context.DeadlineExceeded):
			p.m.retriesExhausted.WithLabelValues(DepPGProxy).Inc()
			p.m.calls.WithLabelValues(DepPGProxy, outcomeTimeout).Inc()
			writeError(w, http.StatusGatewayTimeout, "proxy: upstream timed out")
			return
		default:
			p.m.calls.WithLabelValues(DepPGProxy, outcomeFailure).Inc()
			writeError(w, http.StatusBadGateway, "proxy: upstream: "+err.Error())
			return
		}
	}
}

// try sends the request upstream once within the per-try timeout.
func (p *retryProxy) try(r *http.Request, body []byte) (*response, error) {
	ctx, cancel := context.WithTimeout(r.Context(), p.tryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.Method, p.upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for _, h := range forwarded {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	// No silent re-send by net/http on a broken reused connection: every
	// try is one the proxy made and counted.
	req.GetBody = nil
	start := time.Now()
	defer func() { p.m.attemptDuration.WithLabelValues(DepPGProxy).Observe(time.Since(start).Seconds()) }()
	return exchange(p.client, req)
}

// close stops the proxy.
func (p *retryProxy) close(ctx context.Context) error {
	err := shutdownServer(ctx, p.srv)
	p.client.CloseIdleConnections()
	return err
}
