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
	"strings"
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
	// The lessons' switches and sizes, as in Config.
	DBPool              int
	DBAcquireTimeout    time.Duration
	ReleaseDBBeforeCall bool
	NoIdempotencyKeys   bool
	ViaProxy            bool
	ProxyTryTimeout     time.Duration
	Failover            bool
	BurstConcurrency    int
	BurstDuration       time.Duration
}

// order is a PENDING order; settled orders are forgotten.
type order struct {
	id, user string
	amount   int64
	created  time.Time
	gateway  string        // the payment gateway its payment went to: pg, or pg2 after a failover
	calling  bool          // the first payment call is still in progress
	polling  bool          // a reconciler poll is in progress
	done     chan struct{} // closed when process returns
}

type orderService struct {
	cfg   clientConfig
	m     *metrics
	rnd   *lockedRand
	deps  map[string]*depClient
	db    *dbPool
	proxy *retryProxy // nil unless ViaProxy
	runID string
	seq   atomic.Int64

	bursting atomic.Bool

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
	called := []string{DepPG, DepMail, DepStock}
	if cfg.Failover {
		called = append(called, DepPG2)
	}
	settings := map[string]depSettings{
		DepDB: {timeout: cfg.DBAcquireTimeout, maxAttempts: 1, poolMax: cfg.DBPool},
	}
	for _, d := range called {
		settings[d] = depSettings{timeout: cfg.Policy.attemptTimeout, maxAttempts: cfg.Policy.maxAttempts,
			bulkheadMax: cfg.Policy.bulkhead, poolMax: cfg.Policy.poolMax, breaker: true, pending: true}
	}
	if cfg.ViaProxy {
		settings[DepPGProxy] = depSettings{timeout: cfg.ProxyTryTimeout, maxAttempts: proxyTries}
	}
	s.m = newMetrics(settings, s.live)
	s.db = newDBPool(cfg.DBPool, cfg.DBAcquireTimeout, s.m, s.rnd)
	bases := map[string]string{DepPG: cfg.GatewayURL, DepMail: cfg.GatewayURL, DepStock: cfg.GatewayURL,
		DepPG2: strings.TrimSuffix(cfg.GatewayURL, "/") + paymentPrefixes[DepPG2]}
	if cfg.ViaProxy {
		p, err := startRetryProxy(cfg.GatewayURL, cfg.ProxyTryTimeout, s.m)
		if err != nil {
			s.cancel()
			_ = ln.Close()
			return nil, err
		}
		s.proxy, bases[DepPG] = p, p.url
	}
	s.deps = map[string]*depClient{}
	for _, d := range called {
		s.deps[d] = newDepClient(s.root, d, bases[d], cfg.Policy, s.m, s.rnd)
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

// live feeds the scrape-time gauges. The PENDING backlog is the payment
// step's, counted on pg whichever gateway took the payment.
func (s *orderService) live(dep string) liveValues {
	var v liveValues
	if c := s.deps[dep]; c != nil {
		v.poolActive, v.poolIdle, v.poolPending, v.bulkheadInFlight = c.live()
	}
	if dep == DepDB {
		v.poolActive, v.poolIdle, v.poolPending = s.db.live()
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
	if s.proxy != nil {
		if perr := s.proxy.close(ctx); perr != nil && err == nil {
			err = perr
		}
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
	o, err := s.start(user)
	if err != nil {
		return "", err
	}
	return o.id, nil
}

// start creates a PENDING order for user and starts processing it; the
// order's done channel closes when its first payment call has ended.
func (s *orderService) start(user string) (*order, error) {
	if !s.begin() {
		return nil, errShuttingDown
	}
	s.mu.Lock()
	if _, busy := s.byUser[user]; busy {
		s.mu.Unlock()
		s.work.Done()
		s.m.orders.WithLabelValues(orderRejected).Inc()
		return nil, errUserPending
	}
	o := &order{
		id: fmt.Sprintf("ord-%s-%d", s.runID, s.seq.Add(1)), user: user, gateway: DepPG,
		amount: int64(1000 + s.rnd.IntN(99000)), created: time.Now(), calling: true, done: make(chan struct{}),
	}
	s.orders[o.id] = o
	s.byUser[user] = o.id
	s.mu.Unlock()
	s.m.pendingCreated.WithLabelValues(DepPG).Inc()
	go s.process(o)
	return o, nil
}

// keyed returns a header with an idempotency key for a POST, or none when
// the service runs without keys (Config.NoIdempotencyKeys).
func (s *orderService) keyed(key string) http.Header {
	if s.cfg.NoIdempotencyKeys {
		return nil
	}
	return http.Header{"Idempotency-Key": {key}}
}

// process reserves stock, records the payment in the database and asks the
// gateway for it. The order stays PENDING unless the answer is definite:
// the callback or the reconciler settles it. The database connection is
// held across the payment call (the classic mistake: a slow gateway then
// drains the db pool) unless ReleaseDBBeforeCall says otherwise.
func (s *orderService) process(o *order) {
	defer s.work.Done()
	defer close(o.done)
	defer func() {
		s.mu.Lock()
		o.calling = false
		s.mu.Unlock()
	}()
	body, _ := json.Marshal(simpleRequest{OrderID: o.id, Quantity: 1})
	if _, outcome, _ := s.deps[DepStock].call(s.root, http.MethodPost, "/api/v1/stock/reservations", body, s.keyed("stock-"+o.id)); outcome != outcomeSuccess {
		if outcome != "" {
			s.settle(o.id, orderFailed)
		}
		return
	}
	conn, err := s.db.acquire(s.root)
	if err == nil {
		err = conn.exec(s.root) // INSERT the payment row
	}
	if err != nil {
		if conn != nil {
			conn.release()
		}
		if s.root.Err() == nil {
			s.settle(o.id, orderFailed) // no payment was asked for
		}
		return
	}
	if s.cfg.ReleaseDBBeforeCall {
		conn.release()
	}
	outcome, err := s.pay(o)
	if s.cfg.ReleaseDBBeforeCall {
		_ = s.db.query(s.root) // UPDATE the payment row
	} else {
		_ = conn.exec(s.root)
		conn.release()
	}
	if outcome != outcomeSuccess && outcome != "" && definite(err) {
		s.settle(o.id, orderFailed)
	}
}

// pay asks pg for o's payment, or pg2 when failover is on and pg's breaker
// refused the call: a short-circuited call sent nothing, so pg2 cannot
// charge a payment pg also took.
func (s *orderService) pay(o *order) (string, error) {
	body, _ := json.Marshal(paymentRequest{OrderID: o.id, Amount: o.amount, CallbackURL: s.callbackURL})
	_, outcome, err := s.deps[DepPG].call(s.root, http.MethodPost, "/api/v1/payments", body, s.keyed(o.id))
	if pg2 := s.deps[DepPG2]; pg2 != nil && outcome == outcomeShortCircuited {
		s.mu.Lock()
		o.gateway = DepPG2
		s.mu.Unlock()
		_, outcome, err = pg2.call(s.root, http.MethodPost, "/api/v1/payments", body, s.keyed(o.id))
	}
	return outcome, err
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
	_, _, _ = s.deps[DepMail].call(s.root, http.MethodPost, "/api/v1/mail", body, s.keyed("mail-"+id))
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
	s.mu.Lock()
	gw := s.deps[o.gateway]
	s.mu.Unlock()
	resp, outcome, _ := gw.call(s.root, http.MethodGet, "/api/v1/payments?orderId="+url.QueryEscape(o.id), nil, nil)
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

// burstPace is the least time between two orders of one burst client: a
// client refused at once (a full bulkhead answers in microseconds) waits
// like a user would instead of spinning.
const burstPace = 100 * time.Millisecond

// burst starts BurstConcurrency clients that each place an order, wait
// for its payment call to end and place the next (at most one per
// burstPace), for BurstDuration. Every burst order has a user of its own,
// so none is refused as a second order.
func (s *orderService) burst() (string, error) {
	if !s.bursting.CompareAndSwap(false, true) {
		return "", ErrBurstRunning
	}
	if !s.begin() {
		s.bursting.Store(false)
		return "", errShuttingDown
	}
	n, d := s.cfg.BurstConcurrency, s.cfg.BurstDuration
	s.cfg.Logf("burst: %d concurrent orders for %v", n, d)
	go func() {
		defer s.work.Done()
		defer s.bursting.Store(false)
		end := time.NewTimer(d)
		defer end.Stop()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pace := time.NewTicker(burstPace)
				defer pace.Stop()
				for {
					o, err := s.start(fmt.Sprintf("burst-%s-%d", s.runID, s.seq.Add(1)))
					if err != nil {
						return // shutting down
					}
					select {
					case <-o.done:
					case <-stop:
						return
					}
					select { // a tick already waiting when the order took longer
					case <-pace.C:
					case <-stop:
						return
					}
				}
			}()
		}
		select {
		case <-end.C:
		case <-s.stop:
		}
		close(stop)
		wg.Wait()
	}()
	return fmt.Sprintf("burst: %d concurrent orders for %v", n, d), nil
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
