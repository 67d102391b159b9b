package pgsim

import (
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

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// errUserPending refuses a second order while the user's first is PENDING.
var errUserPending = errors.New("the user already has a PENDING order")

// errShuttingDown refuses work once Close has begun.
var errShuttingDown = errors.New("the order service is shutting down")

// clientConfig configures the order service.
type clientConfig struct {
	Addr       string
	GatewayURL string
	Token      string
	RPS        float64
	Users      int
	Seed       int64
	Logf       func(string, ...any)
	Policy     depPolicy
	// ReconcileAfter is how long a payment stays PENDING before the
	// reconciler asks the gateway; GiveUpAfter is the agreed time after
	// which a payment the gateway has never seen is failed as expired.
	ReconcileAfter, ReconcileInterval, GiveUpAfter time.Duration
	DrainTimeout                                   time.Duration
}

// order is a PENDING order; settled orders are forgotten.
type order struct {
	id, user string
	amount   int64
	created  time.Time
	calling  bool // the first payment call is still in progress
	polling  bool // a reconciler poll is in progress
}

type orderService struct {
	cfg   clientConfig
	m     *metrics
	rnd   *lockedRand
	deps  map[string]*depClient
	runID string
	seq   atomic.Int64

	mu     sync.Mutex
	orders map[string]*order
	byUser map[string]string

	root      context.Context
	cancel    context.CancelFunc
	stop      chan struct{}
	wmu       sync.Mutex // orders begin() against close, so work.Add never races work.Wait
	accepting bool
	work      sync.WaitGroup // orders, mails, polls and callbacks in flight
	loops     sync.WaitGroup // load generator and reconciler

	ln          net.Listener
	srv         *http.Server
	url         string
	callbackURL string
}

func startOrderService(cfg clientConfig) (*orderService, error) {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Users <= 0 {
		cfg.Users = 1000
	}
	if _, err := url.Parse(cfg.GatewayURL); err != nil || cfg.GatewayURL == "" {
		return nil, fmt.Errorf("order service: bad gateway URL %q", cfg.GatewayURL)
	}
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("order service: %w", err)
	}
	s := &orderService{
		cfg: cfg, rnd: newLockedRand(cfg.Seed ^ 0x5eed), runID: randomToken()[:8],
		orders: map[string]*order{}, byUser: map[string]string{},
		stop: make(chan struct{}), ln: ln, url: "http://" + ln.Addr().String(),
	}
	s.callbackURL = s.url + "/api/v1/payments/callback"
	s.root, s.cancel = context.WithCancel(context.Background())
	settings := map[string]depSettings{}
	for _, d := range dependencyList {
		settings[d] = depSettings{timeout: cfg.Policy.attemptTimeout, maxAttempts: cfg.Policy.maxAttempts,
			bulkheadMax: cfg.Policy.bulkhead, poolMax: cfg.Policy.poolMax}
	}
	s.m = newMetrics(settings, s.live)
	s.deps = map[string]*depClient{}
	for _, d := range dependencyList {
		s.deps[d] = newDepClient(s.root, d, cfg.GatewayURL, cfg.Policy, s.m, s.rnd)
	}
	s.accepting = true

	mux := http.NewServeMux()
	mux.HandleFunc("POST /orders", s.handleOrder)
	mux.HandleFunc("POST /api/v1/payments/callback", s.handleCallback)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /actuator/circuitbreakers", s.handleListBreakers)
	mux.HandleFunc("POST /actuator/circuitbreakers/{name}", s.handleUpdateBreaker)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute,
		ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()

	s.loops.Add(1)
	go s.reconcileLoop()
	if cfg.RPS > 0 {
		s.loops.Add(1)
		go s.loadLoop()
	}
	return s, nil
}

// live feeds the scrape-time gauges.
func (s *orderService) live(dep string) liveValues {
	var v liveValues
	if c := s.deps[dep]; c != nil {
		v.poolActive, v.poolIdle, v.poolPending, v.bulkheadInFlight = c.live()
	}
	if dep == DepPG {
		now := time.Now()
		s.mu.Lock()
		for _, o := range s.orders {
			v.pendingCount++
			v.pendingOldest = max(v.pendingOldest, now.Sub(o.created).Seconds())
		}
		s.mu.Unlock()
	}
	return v
}

// close stops the load, lets in-flight work finish for up to DrainTimeout,
// then cancels what is left (those orders stay PENDING) and stops serving.
func (s *orderService) close(ctx context.Context) error {
	s.wmu.Lock()
	was := s.accepting
	s.accepting = false
	s.wmu.Unlock()
	if !was {
		return nil
	}
	close(s.stop)
	s.loops.Wait()
	drained := make(chan struct{})
	go func() { s.work.Wait(); close(drained) }()
	t := time.NewTimer(s.cfg.DrainTimeout)
	defer t.Stop()
	select {
	case <-drained:
	case <-t.C:
	case <-ctx.Done():
	}
	s.cancel()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = errors.New("order service: in-flight work did not stop in time")
	}
	if serr := shutdownServer(ctx, s.srv); serr != nil && err == nil {
		err = serr
	}
	for _, c := range s.deps {
		c.close()
	}
	return err
}

// begin registers one piece of work unless the service is closing; the
// caller must call s.work.Done when it returns true.
func (s *orderService) begin() bool {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.accepting {
		s.work.Add(1)
	}
	return s.accepting
}

// place creates a PENDING order for user and starts processing it.
func (s *orderService) place(user string) (string, error) {
	if !s.begin() {
		return "", errShuttingDown
	}
	s.mu.Lock()
	if _, busy := s.byUser[user]; busy {
		s.mu.Unlock()
		s.work.Done()
		s.m.orders.WithLabelValues(orderRejected).Inc()
		return "", errUserPending
	}
	o := &order{
		id: fmt.Sprintf("ord-%s-%d", s.runID, s.seq.Add(1)), user: user,
		amount: int64(1000 + s.rnd.IntN(99000)), created: time.Now(), calling: true,
	}
	s.orders[o.id] = o
	s.byUser[user] = o.id
	s.mu.Unlock()
	s.m.pendingCreated.WithLabelValues(DepPG).Inc()
	go s.process(o)
	return o.id, nil
}

// process reserves stock and asks pg for the payment. The order stays
// PENDING unless the answer is definite: the callback or the reconciler
// settles it.
func (s *orderService) process(o *order) {
	defer s.work.Done()
	defer func() {
		s.mu.Lock()
		o.calling = false
		s.mu.Unlock()
	}()
	body, _ := json.Marshal(simpleRequest{OrderID: o.id, Quantity: 1})
	if _, outcome, _ := s.deps[DepStock].call(s.root, http.MethodPost, "/api/v1/stock/reservations", body, nil); outcome != outcomeSuccess {
		if outcome != "" {
			s.settle(o.id, orderFailed)
		}
		return
	}
	body, _ = json.Marshal(paymentRequest{OrderID: o.id, Amount: o.amount, CallbackURL: s.callbackURL})
	h := http.Header{"Idempotency-Key": {o.id}}
	_, outcome, err := s.deps[DepPG].call(s.root, http.MethodPost, "/api/v1/payments", body, h)
	if outcome != outcomeSuccess && outcome != "" && definite(err) {
		s.settle(o.id, orderFailed)
	}
}

// settle ends a PENDING order once; later calls for it do nothing.
func (s *orderService) settle(id, status string) {
	s.mu.Lock()
	o, ok := s.orders[id]
	if ok {
		delete(s.orders, id)
		if s.byUser[o.user] == id {
			delete(s.byUser, o.user)
		}
	}
	s.mu.Unlock()
	if !ok {
		return
	}
	resolved := map[string]string{orderSuccess: resolvedSuccess, orderFailed: resolvedFailure, orderExpired: resolvedExpired}[status]
	s.m.pendingResolved.WithLabelValues(DepPG, resolved).Inc()
	s.m.orders.WithLabelValues(status).Inc()
	if status == orderSuccess && s.begin() {
		go s.notify(id)
	}
}

// notify sends the confirmation mail. Mail is not critical: its failure is
// counted in its metrics and never fails the order.
func (s *orderService) notify(id string) {
	defer s.work.Done()
	body, _ := json.Marshal(simpleRequest{OrderID: id})
	_, _, _ = s.deps[DepMail].call(s.root, http.MethodPost, "/api/v1/mail", body, nil)
}

// loadLoop places orders at RPS for random users.
func (s *orderService) loadLoop() {
	defer s.loops.Done()
	t := time.NewTicker(time.Duration(float64(time.Second) / s.cfg.RPS))
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			_, _ = s.place(fmt.Sprintf("user-%d", s.rnd.IntN(s.cfg.Users)))
		}
	}
}

// reconcileLoop polls the gateway for payments PENDING longer than
// ReconcileAfter whose first call has ended.
func (s *orderService) reconcileLoop() {
	defer s.loops.Done()
	t := time.NewTicker(s.cfg.ReconcileInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			s.mu.Lock()
			var due []*order
			for _, o := range s.orders {
				if !o.calling && !o.polling && now.Sub(o.created) >= s.cfg.ReconcileAfter {
					o.polling = true
					due = append(due, o)
				}
			}
			s.mu.Unlock()
			for _, o := range due {
				if s.begin() {
					go s.poll(o)
				}
			}
		}
	}
}

// poll asks the gateway for one order's payment.
func (s *orderService) poll(o *order) {
	defer s.work.Done()
	defer func() {
		s.mu.Lock()
		o.polling = false
		s.mu.Unlock()
	}()
	resp, outcome, _ := s.deps[DepPG].call(s.root, http.MethodGet, "/api/v1/payments?orderId="+url.QueryEscape(o.id), nil, nil)
	if outcome != outcomeSuccess || resp == nil {
		return
	}
	if resp.code == http.StatusNotFound {
		if time.Since(o.created) >= s.cfg.GiveUpAfter {
			s.settle(o.id, orderExpired)
		}
		return
	}
	var st callbackBody
	if err := json.Unmarshal(resp.body, &st); err != nil {
		s.cfg.Logf("reconciler: %s: bad status answer: %v", o.id, err)
		return
	}
	switch st.Status {
	case statusSuccess:
		s.settle(o.id, orderSuccess)
	case statusFailed:
		s.settle(o.id, orderFailed)
	}
}

// orderRequest is the body of POST /orders.
type orderRequest struct {
	UserID string `json:"userId"`
}

// decodeOrderRequest parses and validates a POST /orders body.
func decodeOrderRequest(r io.Reader) (orderRequest, error) {
	var req orderRequest
	if err := decodeStrict(r, &req); err != nil {
		return req, err
	}
	if req.UserID == "" || len(req.UserID) > 128 {
		return req, errors.New("userId must be 1–128 characters")
	}
	return req, nil
}

func (s *orderService) handleOrder(w http.ResponseWriter, r *http.Request) {
	req, err := decodeOrderRequest(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	id, err := s.place(req.UserID)
	switch {
	case errors.Is(err, errUserPending):
		writeError(w, http.StatusConflict, err.Error())
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, err.Error())
	default:
		writeJSON(w, http.StatusAccepted, map[string]string{"orderId": id, "status": statusPending})
	}
}

// decodeCallback parses and validates a payment callback body.
func decodeCallback(r io.Reader) (callbackBody, error) {
	var cb callbackBody
	if err := decodeStrict(r, &cb); err != nil {
		return cb, err
	}
	if cb.OrderID == "" {
		return cb, errors.New("orderId is required")
	}
	if cb.Status != statusSuccess && cb.Status != statusFailed {
		return cb, fmt.Errorf("status must be %s or %s", statusSuccess, statusFailed)
	}
	return cb, nil
}

func (s *orderService) handleCallback(w http.ResponseWriter, r *http.Request) {
	if !s.begin() {
		writeError(w, http.StatusServiceUnavailable, errShuttingDown.Error())
		return
	}
	defer s.work.Done()
	cb, err := decodeCallback(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	status := orderSuccess
	if cb.Status == statusFailed {
		status = orderFailed
	}
	s.settle(cb.OrderID, status)
	writeJSON(w, http.StatusOK, map[string]string{"orderId": cb.OrderID})
}
