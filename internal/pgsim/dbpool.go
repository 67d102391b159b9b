package pgsim

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// errDBAcquireTimeout is a db connection not obtained within the acquire
// timeout: the query never ran, so the order fails definitely.
var errDBAcquireTimeout = errors.New("db: timed out waiting for a connection")

// dbPool is the order service's simulated database: a bounded pool of
// connections with an acquire timeout, as HikariCP and database/sql have.
// Queries take a few milliseconds; what makes the pool run dry is how long
// callers hold a connection between them (orders hold one across the pg call
// unless ReleaseDBBeforeCall is set).
type dbPool struct {
	conns          chan struct{} // a token per free connection
	max            int
	acquireTimeout time.Duration
	m              *metrics
	rnd            *lockedRand

	active, waiting atomic.Int64
}

func newDBPool(size int, acquireTimeout time.Duration, m *metrics, rnd *lockedRand) *dbPool {
	p := &dbPool{conns: make(chan struct{}, size), max: size, acquireTimeout: acquireTimeout, m: m, rnd: rnd}
	for range size {
		p.conns <- struct{}{}
	}
	return p
}

// dbConn is a connection taken from the pool; release returns it once.
type dbConn struct {
	p        *dbPool
	waited   time.Duration // time spent in the pool's queue, charged to the first query
	released atomic.Bool
}

// acquire takes a connection, waiting at most the acquire timeout. A
// timeout counts as an acquire timeout and a failed db call (the query it
// was for never ran).
func (p *dbPool) acquire(ctx context.Context) (*dbConn, error) {
	start := time.Now()
	select {
	case <-p.conns:
		p.active.Add(1)
		return &dbConn{p: p}, nil
	default:
	}
	p.waiting.Add(1)
	defer p.waiting.Add(-1)
	t := time.NewTimer(p.acquireTimeout)
	defer t.Stop()
	select {
	case <-p.conns:
		p.active.Add(1)
		return &dbConn{p: p, waited: time.Since(start)}, nil
	case <-t.C:
		p.m.acquireTimeouts.WithLabelValues(DepDB).Inc()
		p.m.calls.WithLabelValues(DepDB, outcomeFailure).Inc()
		// The wait was the timeout; the timer's few µs late would put it in
		// the bucket above and read as a latency up to half a second longer.
		p.m.attemptDuration.WithLabelValues(DepDB).Observe(p.acquireTimeout.Seconds())
		return nil, errDBAcquireTimeout
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// exec runs one query on the connection: 1–4 ms. Its duration as exported
// includes the wait for the connection when it is the first query, since
// that is what the caller waited.
func (c *dbConn) exec(ctx context.Context) error {
	d := c.p.rnd.Between(time.Millisecond, 4*time.Millisecond)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	c.p.m.calls.WithLabelValues(DepDB, outcomeSuccess).Inc()
	c.p.m.attemptDuration.WithLabelValues(DepDB).Observe((c.waited + d).Seconds())
	c.waited = 0
	return nil
}

// release returns the connection to the pool; later calls do nothing.
func (c *dbConn) release() {
	if c.released.Swap(true) {
		return
	}
	c.p.active.Add(-1)
	c.p.conns <- struct{}{}
}

// query takes a connection, runs one query and releases it.
func (p *dbPool) query(ctx context.Context) error {
	c, err := p.acquire(ctx)
	if err != nil {
		return err
	}
	defer c.release()
	return c.exec(ctx)
}

// live returns the pool gauges: connections in use, idle, waiters.
func (p *dbPool) live() (active, idle, waiting float64) {
	a := p.active.Load()
	return float64(a), float64(int64(p.max) - a), float64(p.waiting.Load())
}
