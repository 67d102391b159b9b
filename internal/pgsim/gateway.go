package pgsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// depProfile is a simulated dependency's steady behaviour.
type depProfile struct {
	latencyMin, latencyMax time.Duration
	failRate               float64 // request-level 500s, before any charge
}

var steadyProfiles = map[string]depProfile{
	// A real PG sandbox: 100–500 ms, 60% of requests accepted; pg2, where a
	// failover goes, a little slower and steadier.
	DepPG:    {100 * time.Millisecond, 500 * time.Millisecond, 0.4},
	DepPG2:   {150 * time.Millisecond, 600 * time.Millisecond, 0.2},
	DepMail:  {30 * time.Millisecond, 150 * time.Millisecond, 0.02},
	DepStock: {10 * time.Millisecond, 60 * time.Millisecond, 0.01},
}

// Payment statuses as the gateway reports them.
const (
	statusPending = "PENDING"
	statusSuccess = "SUCCESS"
	statusFailed  = "FAILED"
)

// gatewayConfig configures a gateway.
type gatewayConfig struct {
	Addr      string
	Token     string
	Scenarios map[string]string
	Seed      int64
	Logf      func(string, ...any)
	// ProcessingMin/Max bound pg's asynchronous processing (1–5 s).
	ProcessingMin, ProcessingMax time.Duration
	// AllowRemoteCallbacks lets callback URLs point off loopback.
	AllowRemoteCallbacks bool
}

// payment is one idempotency key's request at one payment gateway (pg or pg2).
type payment struct {
	dep                              string
	key, txKey, orderID, callbackURL string
	amount                           int64
	status, reason                   string
	created                          time.Time
	darkAnswer                       bool          // taken by blackhole: its answer and callback never leave
	done                             chan struct{} // closed once the first request for the key has its answer
	code                             int
	body                             []byte
}

type gateway struct {
	cfg    gatewayConfig
	rnd    *lockedRand
	sc     *scenarios
	client *http.Client // for callbacks

	// Keys and orders are per payment gateway (scoped, see scoped); charges
	// per order across both, since a second charge anywhere is a duplicate.
	mu       sync.Mutex
	byKey    map[string]*payment
	byTx     map[string]*payment
	byOrder  map[string]*payment
	charges  map[string]int
	attempts map[string][]time.Time
	txSeq    atomic.Int64

	reg        *prometheus.Registry
	dupCharges prometheus.Counter
	chargesCtr prometheus.Counter
	callbacks  *prometheus.CounterVec

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
	ln       net.Listener
	srv      *http.Server
	url      string
}

func startGateway(cfg gatewayConfig) (*gateway, error) {
	if cfg.ProcessingMin == 0 && cfg.ProcessingMax == 0 {
		cfg.ProcessingMin, cfg.ProcessingMax = time.Second, 5*time.Second
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	sc, err := newScenarios(cfg.Scenarios)
	if err != nil {
		return nil, err
	}
	g := &gateway{
		cfg: cfg, rnd: newLockedRand(cfg.Seed), sc: sc,
		client:   &http.Client{Timeout: 2 * time.Second},
		byKey:    map[string]*payment{},
		byTx:     map[string]*payment{},
		byOrder:  map[string]*payment{},
		charges:  map[string]int{},
		attempts: map[string][]time.Time{},
		reg:      prometheus.NewRegistry(),
		stop:     make(chan struct{}),
	}
	g.dupCharges = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "pgsim_duplicate_charges_total",
		Help: "Charges for an order that already had one; stays 0 while clients send idempotency keys.",
	})
	g.chargesCtr = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "pgsim_charges_total", Help: "Payments the gateway accepted and charged.",
	})
	g.callbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pgsim_callbacks_total", Help: "Payment callbacks by result: sent, lost (by the scenario), failed (delivery error).",
	}, []string{"result"})
	for _, r := range []string{"sent", "lost", "failed"} {
		g.callbacks.WithLabelValues(r)
	}
	g.reg.MustRegister(g.dupCharges, g.chargesCtr, g.callbacks)

	mux := http.NewServeMux()
	for dep, prefix := range paymentPrefixes {
		mux.HandleFunc("POST "+prefix+"/api/v1/payments", g.handlePayment(dep))
		mux.HandleFunc("GET "+prefix+"/api/v1/payments/{key}", g.handleStatus(dep))
		mux.HandleFunc("GET "+prefix+"/api/v1/payments", g.handleStatus(dep))
	}
	mux.HandleFunc("POST /api/v1/mail", g.handleSimple(DepMail))
	mux.HandleFunc("POST /api/v1/stock/reservations", g.handleSimple(DepStock))
	mux.HandleFunc("GET /sim/scenario", g.handleGetScenario)
	mux.HandleFunc("POST /sim/scenario", g.handleSetScenario)
	mux.Handle("GET /metrics", promhttp.HandlerFor(g.reg, promhttp.HandlerOpts{}))

	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	g.ln = ln
	g.url = "http://" + ln.Addr().String()
	g.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	go func() { _ = g.srv.Serve(ln) }()
	g.wg.Add(1)
	go g.janitor()
	return g, nil
}

// close releases held requests, stops processing and the server. It returns
// once every goroutine the gateway started has ended or ctx expires.
func (g *gateway) close(ctx context.Context) error {
	g.stopOnce.Do(func() { close(g.stop) })
	err := shutdownServer(ctx, g.srv)
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return errors.New("gateway: background work did not stop in time")
	}
	return err
}

// shutdownServer lets srv finish its requests for a moment, then closes
// what is left: Shutdown polls idle connections with a growing interval, so
// it alone could take most of Close's two seconds.
func shutdownServer(ctx context.Context, srv *http.Server) error {
	sctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return srv.Close()
		}
		return err
	}
	return nil
}

// sleep waits d unless the gateway stops first; it reports whether d passed.
func (g *gateway) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-g.stop:
		return false
	}
}

// janitor forgets payments older than ten minutes so that memory stays
// bounded over long runs; the reconciler gives up long before that.
func (g *gateway) janitor() {
	defer g.wg.Done()
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case now := <-t.C:
			g.prune(now.Add(-10 * time.Minute))
		}
	}
}

func (g *gateway) prune(before time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, p := range g.byKey {
		if p.created.Before(before) {
			delete(g.byKey, k)
			delete(g.attempts, k)
		}
	}
	for k, p := range g.byTx {
		if p.created.Before(before) {
			delete(g.byTx, k)
			if g.byOrder[scoped(p.dep, p.orderID)] == p {
				delete(g.byOrder, scoped(p.dep, p.orderID))
				delete(g.charges, p.orderID)
			}
		}
	}
}

// latency is how long dep takes to answer under scen.
func (g *gateway) latency(dep, scen string) time.Duration {
	if scen == Slow {
		return g.rnd.Between(2*time.Second, 6*time.Second)
	}
	p := steadyProfiles[dep]
	return g.rnd.Between(p.latencyMin, p.latencyMax)
}

// paymentPrefixes are the path prefixes of the payment gateways' APIs.
var paymentPrefixes = map[string]string{DepPG: "", DepPG2: "/pg2"}

// scoped qualifies a payment's key or order id by its gateway: pg and pg2
// know nothing of each other's payments.
func scoped(dep, id string) string { return dep + "\x00" + id }

// disrupt applies the scenario's faults that come before any processing. It
// reports whether it answered (or dropped) the request. Blackholed requests
// are held here until the scenario changes or the gateway stops; before
// holding, onHold runs (pg uses it to process some of them: the request
// arrived, only the answer is lost). With late set, flaky's resets are left
// to the caller (reset true): a payment is charged first and its answer is
// lost, as when a connection dies on the way back, which is what makes a
// retry without an idempotency key charge twice.
func (g *gateway) disrupt(w http.ResponseWriter, r *http.Request, dep string, onHold func(), late bool) (handled, reset bool) {
	scen, changed := g.sc.watch(dep)
	switch scen {
	case Outage:
		if g.rnd.Float64() < 0.5 {
			writeError(w, http.StatusServiceUnavailable, dep+" is down")
		} else {
			resetConn(w)
		}
		return true, false
	case Flaky:
		switch x := g.rnd.Float64(); {
		case x < 0.5:
			writeError(w, http.StatusBadGateway, dep+" is flaky")
			return true, false
		case x < 0.6 && late:
			return false, true
		case x < 0.6:
			resetConn(w)
			return true, false
		}
	case Blackhole:
		if onHold != nil {
			onHold()
		}
		select {
		case <-r.Context().Done():
		case <-changed:
		case <-g.stop:
		}
		// Close the connection without an answer.
		panic(http.ErrAbortHandler)
	}
	return false, false
}

// resetConn closes the client's connection with a TCP RST, as a crashed or
// overloaded peer does.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// paymentRequest is the body of POST /api/v1/payments.
type paymentRequest struct {
	OrderID     string `json:"orderId"`
	Amount      int64  `json:"amount"`
	CallbackURL string `json:"callbackUrl"`
}

// decodePaymentRequest parses and validates a payment request body.
func decodePaymentRequest(r io.Reader, allowRemote bool) (paymentRequest, error) {
	var req paymentRequest
	if err := decodeStrict(r, &req); err != nil {
		return req, err
	}
	if req.OrderID == "" || len(req.OrderID) > 128 {
		return req, errors.New("orderId must be 1–128 characters")
	}
	if req.Amount <= 0 {
		return req, errors.New("amount must be positive")
	}
	u, err := url.Parse(req.CallbackURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return req, errors.New("callbackUrl must be an absolute http(s) URL")
	}
	if !allowRemote && !isLoopbackHost(u.Hostname()) {
		return req, errors.New("callbackUrl must point to loopback")
	}
	return req, nil
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// handlePayment serves a payment gateway's (pg or pg2) payment requests.
func (g *gateway) handlePayment(dep string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if len(key) > 128 {
			writeError(w, http.StatusBadRequest, "Idempotency-Key longer than 128 characters")
			return
		}
		if key != "" {
			key = scoped(dep, key)
			g.mu.Lock()
			g.attempts[key] = append(g.attempts[key], time.Now())
			g.mu.Unlock()
		}
		req, err := decodePaymentRequest(r.Body, g.cfg.AllowRemoteCallbacks)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		onHold := func() {
			if g.rnd.Float64() < 0.5 {
				p := g.claim(dep, key, req)
				if p != nil {
					p.darkAnswer = true
					g.accept(p)
				}
			}
		}
		handled, reset := g.disrupt(w, r, dep, onHold, true)
		if handled {
			return
		}
		p := g.claim(dep, key, req)
		if p == nil {
			g.answerDuplicate(w, r, key)
			return
		}
		if !g.sleep(g.latency(dep, g.sc.get(dep))) {
			g.finish(p, http.StatusServiceUnavailable, []byte(`{"error":"gateway shutting down"}`))
			writeRaw(w, p.code, p.body)
			return
		}
		if g.rnd.Float64() < steadyProfiles[dep].failRate {
			// The sandbox's "server unstable": nothing was charged, so the key
			// is forgotten and a retry is processed afresh.
			g.finish(p, http.StatusInternalServerError, []byte(`{"error":"server unstable, try again"}`))
			writeRaw(w, p.code, p.body)
			return
		}
		g.accept(p)
		if reset {
			resetConn(w) // charged, and the answer is lost on the way back
			return
		}
		writeRaw(w, p.code, p.body)
	}
}

// claim registers key's first request at dep and returns its payment, or
// nil when the key is already known (a retry, or a concurrent duplicate).
// Keyless requests are always new, which is how duplicate charges happen.
func (g *gateway) claim(dep, key string, req paymentRequest) *payment {
	p := &payment{
		dep: dep, key: key, orderID: req.OrderID, amount: req.Amount, callbackURL: req.CallbackURL,
		created: time.Now(), done: make(chan struct{}),
	}
	if key == "" {
		return p
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.byKey[key]; ok {
		return nil
	}
	g.byKey[key] = p
	return p
}

// finish answers a payment's first request without charging.
func (g *gateway) finish(p *payment, code int, body []byte) {
	g.mu.Lock()
	p.code, p.body = code, body
	if p.key != "" && g.byKey[p.key] == p {
		delete(g.byKey, p.key)
	}
	g.mu.Unlock()
	close(p.done)
}

// accept charges p and starts its asynchronous processing.
func (g *gateway) accept(p *payment) {
	tx := fmt.Sprintf("TX-%d-%06d", time.Now().Unix(), g.txSeq.Add(1))
	body, _ := json.Marshal(map[string]string{"transactionKey": tx, "orderId": p.orderID, "status": statusPending})
	g.mu.Lock()
	p.txKey, p.status, p.code, p.body = tx, statusPending, http.StatusOK, body
	g.byTx[tx] = p
	g.byOrder[scoped(p.dep, p.orderID)] = p
	g.charges[p.orderID]++
	dup := g.charges[p.orderID] > 1
	g.mu.Unlock()
	close(p.done)
	g.chargesCtr.Inc()
	if dup {
		g.dupCharges.Inc()
		g.cfg.Logf("gateway: duplicate charge for order %s", p.orderID)
	}
	g.wg.Add(1)
	go g.process(p)
}

// answerDuplicate gives a repeated key the first request's answer, waiting
// for it when the first request is still in progress.
func (g *gateway) answerDuplicate(w http.ResponseWriter, r *http.Request, key string) {
	g.mu.Lock()
	p := g.byKey[key]
	g.mu.Unlock()
	if p == nil { // the first request failed and was forgotten meanwhile
		writeError(w, http.StatusConflict, "request with this key failed; retry")
		return
	}
	select {
	case <-p.done:
	case <-r.Context().Done():
		return
	case <-g.stop:
		writeError(w, http.StatusServiceUnavailable, "gateway shutting down")
		return
	}
	g.mu.Lock()
	code, body := p.code, p.body
	g.mu.Unlock()
	writeRaw(w, code, body)
}

func writeRaw(w http.ResponseWriter, code int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// process settles a payment after 1–5 s and sends its callback.
func (g *gateway) process(p *payment) {
	defer g.wg.Done()
	if !g.sleep(g.rnd.Between(g.cfg.ProcessingMin, g.cfg.ProcessingMax)) {
		return
	}
	status, reason := statusSuccess, ""
	if g.rnd.Float64() < 0.2 {
		status, reason = statusFailed, "limit exceeded"
	}
	g.mu.Lock()
	p.status, p.reason = status, reason
	g.mu.Unlock()

	scen := g.sc.get(p.dep)
	if (p.darkAnswer && scen == Blackhole) || (scen == CallbackLoss && g.rnd.Float64() < 0.5) {
		g.callbacks.WithLabelValues("lost").Inc()
		return
	}
	body, _ := json.Marshal(callbackBody{TransactionKey: p.txKey, OrderID: p.orderID, Status: status, Reason: reason})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	go func() {
		select {
		case <-g.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.callbackURL, bytes.NewReader(body))
	if err != nil {
		g.callbacks.WithLabelValues("failed").Inc()
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := g.client.Do(req)
	if err != nil {
		g.callbacks.WithLabelValues("failed").Inc()
		g.cfg.Logf("gateway: callback for %s: %v", p.orderID, err)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	_ = resp.Body.Close()
	if resp.StatusCode >= 300 {
		g.callbacks.WithLabelValues("failed").Inc()
		return
	}
	g.callbacks.WithLabelValues("sent").Inc()
}

// callbackBody is what the gateway POSTs to a payment's callback URL and
// what the status API answers.
type callbackBody struct {
	TransactionKey string `json:"transactionKey"`
	OrderID        string `json:"orderId"`
	Status         string `json:"status"`
	Reason         string `json:"reason,omitempty"`
}

// handleStatus serves a payment gateway's status API.
func (g *gateway) handleStatus(dep string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, orderID := r.PathValue("key"), r.URL.Query().Get("orderId")
		if key == "" && orderID == "" {
			writeError(w, http.StatusBadRequest, "want /api/v1/payments/{transactionKey} or ?orderId=")
			return
		}
		if handled, _ := g.disrupt(w, r, dep, nil, false); handled {
			return
		}
		if !g.sleep(g.latency(dep, g.sc.get(dep)) / 4) {
			writeError(w, http.StatusServiceUnavailable, "gateway shutting down")
			return
		}
		g.mu.Lock()
		p := g.byTx[key]
		if key == "" {
			p = g.byOrder[scoped(dep, orderID)]
		}
		if p != nil && p.dep != dep {
			p = nil
		}
		var body callbackBody
		if p != nil {
			body = callbackBody{TransactionKey: p.txKey, OrderID: p.orderID, Status: p.status, Reason: p.reason}
		}
		g.mu.Unlock()
		if p == nil {
			writeError(w, http.StatusNotFound, "no such payment")
			return
		}
		writeJSON(w, http.StatusOK, body)
	}
}

// simpleRequest is the body mail and stock accept.
type simpleRequest struct {
	OrderID  string `json:"orderId"`
	Quantity int    `json:"quantity,omitempty"`
}

func (g *gateway) handleSimple(dep string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req simpleRequest
		if err := decodeStrict(r.Body, &req); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if req.OrderID == "" {
			writeError(w, http.StatusBadRequest, "orderId is required")
			return
		}
		if handled, _ := g.disrupt(w, r, dep, nil, false); handled {
			return
		}
		if !g.sleep(g.latency(dep, g.sc.get(dep))) {
			writeError(w, http.StatusServiceUnavailable, "gateway shutting down")
			return
		}
		if g.rnd.Float64() < steadyProfiles[dep].failRate {
			writeError(w, http.StatusInternalServerError, dep+" failed")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "OK", "orderId": req.OrderID})
	}
}

// scenarioRequest is the body of POST /sim/scenario.
type scenarioRequest struct {
	Dependency string `json:"dependency"`
	Scenario   string `json:"scenario"`
}

// decodeScenarioRequest parses and validates a POST /sim/scenario body.
func decodeScenarioRequest(r io.Reader) (scenarioRequest, error) {
	var req scenarioRequest
	if err := decodeStrict(r, &req); err != nil {
		return req, err
	}
	return req, validateScenario(req.Dependency, req.Scenario)
}

func (g *gateway) handleGetScenario(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"scenarios": g.sc.all(), "available": scenarioNames})
}

func (g *gateway) handleSetScenario(w http.ResponseWriter, r *http.Request) {
	if !authorize(w, r, g.cfg.Token) {
		return
	}
	req, err := decodeScenarioRequest(r.Body)
	if err != nil {
		code := http.StatusBadRequest
		if errors.Is(err, ErrUnknownDependency) {
			code = http.StatusNotFound
		}
		writeError(w, code, err.Error())
		return
	}
	if err := g.sc.set(req.Dependency, req.Scenario); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	g.cfg.Logf("gateway: %s scenario is now %s", req.Dependency, req.Scenario)
	writeJSON(w, http.StatusOK, map[string]any{"scenarios": g.sc.all()})
}

// attemptTimes returns when requests with the idempotency key arrived at pg.
func (g *gateway) attemptTimes(key string) []time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]time.Time(nil), g.attempts[scoped(DepPG, key)]...)
}

// chargesFor returns how often orderID was charged.
func (g *gateway) chargesFor(orderID string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.charges[orderID]
}
