package model

import "sort"

// Profile reads one metric convention (resiltop's own, resilience4j,
// OpenTelemetry, Envoy, …). Each profile lives in one file of this package
// and registers itself in Profiles. Several profiles can apply to one target;
// the Store merges their observations by dependency name.
type Profile interface {
	// Name is the short name used by --profile and shown per target.
	Name() string
	// Detect reports whether the page carries this convention.
	Detect(p *Page) bool
	// Read turns the page into one observation per dependency. It must not
	// keep references to the page, and must never panic on odd input
	// (NaN, ±Inf, missing labels, wrong types).
	Read(p *Page) []Observation
}

var registered []Profile

// register adds a built-in profile; each profile file calls it from init.
func register(p Profile) { registered = append(registered, p) }

// Profiles returns the built-in profiles, sorted by name.
func Profiles() []Profile {
	out := append([]Profile(nil), registered...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}
