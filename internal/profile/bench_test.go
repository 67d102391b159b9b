package profile

import (
	"resiltop/internal/model"
	"resiltop/internal/scrape/scrapetest"
	"testing"
)

// BenchmarkReadNative is the native profile alone on a decoded page: the
// part of ingest that is resiltop's own work.
func BenchmarkReadNative(b *testing.B) {
	page := model.NewPage(scrapetest.Families10k())
	b.ReportAllocs()
	for b.Loop() {
		if len(native{}.Read(page)) != scrapetest.Dependencies {
			b.Fatal("wrong dependency count")
		}
	}
}
