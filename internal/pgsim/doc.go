// Package pgsim simulates a payment gateway and an instrumented order service
// that calls it the right way, so that resiltop has a world to watch.
//
// The gateway serves four simulated dependencies on one listener: pg
// (payments, with idempotency keys, asynchronous processing, callbacks and a
// status API), a second payment gateway pg2, mail and stock. Each dependency
// runs a scenario (steady, slow, outage, flaky, blackhole, callback-loss)
// that can be switched at run time.
//
// The order service places orders against the gateway through failsafe-go
// policies (timeout, retry with exponential backoff and full jitter, circuit
// breaker, bulkhead) and a bounded connection pool, records them in a
// simulated database pool (db), keeps payments PENDING until a callback or
// the reconciler settles them, and exports every resilience signal in the
// resiltop metric convention (docs/CONVENTION.md).
//
// Config switches on the classic mistakes and their fixes, one lesson each:
// the db connection held across the pg call (ReleaseDBBeforeCall), retries
// without idempotency keys (NoIdempotencyKeys), a proxy that retries by
// itself (ViaProxy, dependency pg-proxy), load bursts (Sim.Burst) and a
// failover to pg2 while pg's breaker is open (Failover).
//
// Start runs both in-process on loopback; cmd/pgsim wraps it in a CLI.
package pgsim
