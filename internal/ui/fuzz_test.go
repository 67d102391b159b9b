package ui

import (
	"strings"
	"testing"
)

// FuzzFilter feeds arbitrary filter expressions, typed key by key, to the
// model: an invalid regex must be an error on screen, never a panic, and the
// table must stay consistent.
func FuzzFilter(f *testing.F) {
	for _, s := range []string{"pg", "!pg", "^st", "(", "!", "!!", "[a-", `\`, "a{1000000}", "(?i)MAIL", "é|ø", ""} {
		f.Add(s)
	}
	base := testModel(f, Options{}, 80, 24, fixture())
	f.Fuzz(func(t *testing.T, expr string) {
		table, err := base.table.setFilter(expr)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "invalid filter") {
				t.Fatalf("error %q does not say the filter is invalid", err)
			}
			return
		}
		for _, i := range table.view {
			if i < 0 || i >= len(table.rows) {
				t.Fatalf("view index %d out of %d rows", i, len(table.rows))
			}
		}
		if table.cursor < 0 || (len(table.view) > 0 && table.cursor >= len(table.view)) {
			t.Fatalf("cursor %d with %d rows", table.cursor, len(table.view))
		}
		m := base
		m.table = table
		_ = screen(m.relayout())
	})
}

// FuzzMenuKeys drives the scenario menu with arbitrary keys: it must never
// pick outside its items.
func FuzzMenuKeys(f *testing.F) {
	f.Add("jjkp\ro\r")
	f.Add("zzz\r\r")
	f.Fuzz(func(t *testing.T, keys string) {
		sc := &fakeScenarios{}
		menu := scenarioMenu{}.open(sc, "mail")
		for _, r := range keys {
			k := string(r)
			if r == '\r' {
				k = "enter"
			}
			var apply bool
			menu, apply = menu.Update(keyMsg(k), sc)
			if apply && menu.choice() == "" {
				t.Fatal("applied an empty choice")
			}
			if !menu.active {
				return
			}
		}
	})
}
