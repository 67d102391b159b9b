// Package model is resiltop's pure domain: it turns scraped metric pages into
// per-dependency readings, keeps a bounded history of them, and answers
// snapshots with rates, quantiles and findings.
//
// Data flows one way: a Source (package scrape) hands each scrape to
// Store.Ingest; profiles (package profile, one file per convention, see
// Profile) read the page into Observations; Store.Snapshot derives an immutable Snapshot that the UI and
// the --once printer render. The package does no I/O and knows no terminal.
//
// Unknown is not zero: a value a page does not carry is NaN internally, shown
// as "—" and written to JSON as null.
package model
