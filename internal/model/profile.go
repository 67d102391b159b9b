package model

// Profile reads one metric convention (resiltop's own, resilience4j,
// OpenTelemetry, Envoy, …) into Observations. The built-in profiles live in
// package profile, one file each; user mappings are profiles too. Several
// profiles can apply to one target; the Store merges their observations by
// dependency name.
type Profile interface {
	// Name is the short name used by --profile and shown per target.
	Name() string
	// Families names every metric family the profile reads, detection
	// included, so a Source can fetch or parse just those (a Prometheus
	// query per family, a page reader that skips the rest). Detect and Read
	// must give the same answer on a page cut down to these families.
	Families() []string
	// Detect reports whether the page carries this convention.
	Detect(p *Page) bool
	// Read turns the page into one observation per dependency. It must not
	// keep references to the page, and must never panic on odd input
	// (NaN, ±Inf, missing labels, wrong types). The Store owns what it
	// returns and changes it in place (names cleaned, values merged).
	Read(p *Page) []Observation
}
