package record

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
)

// FuzzRecordReader feeds arbitrary files to the reader: it must end every
// one with io.EOF (a torn tail skipped) or a clear error, never panic, hang
// or allocate past its limits; a record it returns has a target and either
// a page or an error.
func FuzzRecordReader(f *testing.F) {
	full := recording(f, scrapes(3), Options{})
	f.Add(full)
	f.Add(full[:len(full)-7])
	f.Add(full[:30])
	if v1, err := os.ReadFile("testdata/v1.rec"); err == nil { // version 1, zstd
		f.Add(v1)
		f.Add(v1[:len(v1)-7])
	}
	f.Add([]byte(Magic))
	f.Add([]byte("# HELP up\nup 1\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b))
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		for i := 0; ; i++ {
			if i > len(b) { // every record takes at least a frame header
				t.Fatalf("%d records from %d bytes", i, len(b))
			}
			s, err := r.Next()
			if errors.Is(err, io.EOF) {
				if r.Skipped() < 0 || r.Offset() > int64(len(b)) {
					t.Fatalf("skipped %d, offset %d of %d bytes", r.Skipped(), r.Offset(), len(b))
				}
				return
			}
			if err != nil {
				if err.Error() == "" {
					t.Fatal("empty error")
				}
				return
			}
			if s.Page != nil && s.Err != nil {
				t.Fatalf("record %d has both a page and an error", i)
			}
		}
	})
}
