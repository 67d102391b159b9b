package model

// The triage advice: for every finding kind, the next step an on-call
// engineer should take, grounded in why the condition arises. One entry per
// kind, here and nowhere else, so the texts can be reviewed together;
// TestEveryKindHasAdvice keeps the table complete.
var advice = map[FindingKind]string{
	TargetDown: "Check that the target runs and its metrics URL answers from here (address, port, TLS, auth); " +
		"its rows keep the last values until it does.",
	BreakerOpenKind: "The breaker is shedding calls to a failing dependency: check that dependency's health and errors; " +
		"close it by hand only once they stop, or the calls fail slowly again.",
	BreakerFlapping: "The breaker opens and closes over and over: the dependency fails intermittently, or the breaker's " +
		"window or minimum calls are too small for this traffic; widen them.",
	RetryStorm: "Check the retry policy's backoff is exponential with jitter, cap attempts (2–3), and let a breaker " +
		"stop retries to a dependency that is down: each retry adds load to it.",
	PoolExhausted: "Calls wait for a connection: look for connections held longer than the call itself " +
		"(a transaction or lease kept across other work) before raising the pool size.",
	BulkheadSaturated: "Concurrent calls hit the bulkhead's limit: the dependency got slower or traffic grew; " +
		"make sure callers handle rejections, and raise the limit only if the dependency has headroom.",
	TailNearTimeout: "Slow calls are about to time out with unknown outcomes: find what slows the tail " +
		"(the dependency, pool waits) before raising the timeout, which must stay below the caller's deadline.",
	TimeoutsRising: "A timeout is an unknown outcome, not a failure: the call may have succeeded. Reconcile " +
		"(ask the dependency's status API) before retrying, and retry only with an idempotency key.",
	BacklogGrowing: "Unknown outcomes pile up faster than they settle: check that callbacks arrive and the " +
		"reconciler runs and keeps up.",
	BacklogStale: "Operations stay PENDING far past their settle time: the reconciler or the callbacks are failing; " +
		"check their errors and settle the oldest through the dependency's status API.",
	UnsafeRetries: "Retries without an idempotency key can run the operation twice (a double charge): " +
		"send an idempotency key the dependency honours, or stop retrying this call.",
}

// poolHeldAcrossSlowCall is pool_exhausted's advice when the dependency's
// own calls are slow (its tail is near the timeout): the connections are
// busy waiting on that dependency, not leaked.
const poolHeldAcrossSlowCall = "The calls are slow and each holds a connection throughout: a connection held " +
	"across a slow call exhausts the pool. Shorten the timeout, release the connection before slow work, " +
	"or put a bulkhead in front."

// Advice returns the next step for a finding of kind; "" for an unknown kind.
func Advice(kind FindingKind) string { return advice[kind] }
