// Package profile holds the metric conventions resiltop reads, one file
// each: resiltop's own (native.go), resilience4j, Spring, OpenTelemetry,
// Envoy, HAProxy, and user mappings from --config (mapping.go). Each turns
// the metric families it declares into model.Observations; the Store
// decides which apply to a page and merges what they read.
package profile

import (
	"math"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"

	"resiltop/internal/model"
)

// nan marks a value a page does not carry: unknown is not zero.
var nan = math.NaN()

var registered []model.Profile

// register adds a built-in profile; each profile file calls it from init.
func register(p model.Profile) { registered = append(registered, p) }

// Builtin returns the built-in profiles in the order the Store tries them:
// resiltop's own first, because its observations win merges, then the
// others by name.
func Builtin() []model.Profile {
	out := slices.Clone(registered)
	slices.SortFunc(out, func(a, b model.Profile) int {
		if (a.Name() == Native) != (b.Name() == Native) {
			if a.Name() == Native {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name(), b.Name())
	})
	return out
}

// detectAny reports whether the page carries any of names with at least one
// sample that ok accepts (nil accepts every sample). Detection looks only at
// a profile's own Families, so a page cut down to them detects the same.
func detectAny(p *model.Page, names []string, ok func(*dto.Metric) bool) bool {
	for _, n := range names {
		f := p.Family(n)
		if f == nil || len(f.GetMetric()) == 0 {
			continue
		}
		if ok == nil || ok(f.GetMetric()[0]) {
			return true
		}
	}
	return false
}

// Names returns the names of the built-in profiles, in Builtin's order.
func Names() []string {
	var out []string
	for _, p := range Builtin() {
		out = append(out, p.Name())
	}
	return out
}
