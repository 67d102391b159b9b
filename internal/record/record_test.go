package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"resiltop/internal/model"
	"resiltop/internal/scrape/scrapetest"
)

var t0 = time.Date(2026, 11, 21, 3, 4, 5, 0, time.UTC)

// scrapes returns n scrapes of two targets, every third of b failed.
func scrapes(n int) []model.Scrape {
	fams := scrapetest.Families10k()[:6]
	for _, f := range fams {
		f.Metric = f.Metric[:min(len(f.Metric), 8)] // small records: TestTornTail cuts every byte
	}
	var out []model.Scrape
	for i := range n {
		s := model.Scrape{Target: []string{"http://127.0.0.1:9101/metrics", "http://127.0.0.1:9102/metrics"}[i%2],
			Time: t0.Add(time.Duration(i) * 500 * time.Millisecond), Duration: time.Duration(i+1) * time.Millisecond, Bytes: int64(1000 + i)}
		if i%6 == 5 {
			s.Err = errors.New("timeout after 800ms")
			s.Bytes = 0
		} else {
			s.Page = model.NewPage(fams)
		}
		out = append(out, s)
	}
	return out
}

// recording writes ss to a new recording and returns its bytes.
func recording(t testing.TB, ss []model.Scrape, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Meta{Started: t0, Interval: time.Second, Window: time.Minute, Source: "targets"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss {
		if err := w.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readAll reads every record of b.
func readAll(b []byte) ([]model.Scrape, int64, error) {
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, 0, err
	}
	var out []model.Scrape
	for {
		s, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, r.Skipped(), nil
		}
		if err != nil {
			return out, r.Skipped(), err
		}
		out = append(out, s)
	}
}

func sameScrape(t *testing.T, i int, got, want model.Scrape) {
	t.Helper()
	if got.Target != want.Target || !got.Time.Equal(want.Time) || got.Duration != want.Duration || got.Bytes != want.Bytes {
		t.Errorf("record %d = %s %v %v %d, want %s %v %v %d", i, got.Target, got.Time, got.Duration, got.Bytes,
			want.Target, want.Time, want.Duration, want.Bytes)
	}
	if (got.Err == nil) != (want.Err == nil) || got.Err != nil && got.Err.Error() != want.Err.Error() {
		t.Errorf("record %d error = %v, want %v", i, got.Err, want.Err)
	}
	if (got.Page == nil) != (want.Page == nil) {
		t.Fatalf("record %d page = %v, want %v", i, got.Page != nil, want.Page != nil)
	}
	if want.Page == nil {
		return
	}
	if len(got.Page.Families) != len(want.Page.Families) {
		t.Fatalf("record %d: %d families, want %d", i, len(got.Page.Families), len(want.Page.Families))
	}
	for j, f := range want.Page.Families {
		if !proto.Equal(got.Page.Families[j], f) {
			t.Errorf("record %d family %s differs", i, f.GetName())
		}
	}
}

func TestRoundTrip(t *testing.T) {
	want := scrapes(12)
	b := recording(t, want, Options{})
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if m := r.Meta(); !m.Started.Equal(t0) || m.Interval != time.Second || m.Window != time.Minute || m.Source != "targets" {
		t.Errorf("meta = %+v", m)
	}
	got, skipped, err := readAll(b)
	if err != nil || skipped != 0 {
		t.Fatalf("read: %v, skipped %d", err, skipped)
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		sameScrape(t, i, got[i], want[i])
	}
}

func TestFileRandomAccess(t *testing.T) {
	want := scrapes(9)
	path := filepath.Join(t.TempDir(), "rec")
	if err := os.WriteFile(path, recording(t, want, Options{}), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Len() != len(want) || f.Skipped() != 0 {
		t.Fatalf("Len %d Skipped %d, want %d 0", f.Len(), f.Skipped(), len(want))
	}
	for _, i := range []int{8, 0, 5, 3} { // out of order
		s, err := f.Read(i)
		if err != nil {
			t.Fatal(err)
		}
		sameScrape(t, i, s, want[i])
		if e := f.Entry(i); e.Target != want[i].Target || !e.Arrival().Equal(want[i].Time.Add(want[i].Duration)) {
			t.Errorf("entry %d = %+v", i, e)
		}
	}
	if _, err := f.Read(9); err == nil {
		t.Error("Read past the end succeeded")
	}
}

// TestTornTail cuts a recording at every byte of its last two records: the
// reader returns every record before the cut and says how much it skipped.
func TestTornTail(t *testing.T) {
	want := scrapes(4)
	full := recording(t, want, Options{})
	ends := recordEnds(t, full)
	for cut := ends[1]; cut <= len(full); cut++ {
		got, skipped, err := readAll(full[:cut])
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		complete := 0
		for _, e := range ends[1:] {
			if e <= cut {
				complete++
			}
		}
		if len(got) != complete {
			t.Fatalf("cut at %d: %d records, want %d", cut, len(got), complete)
		}
		if want := int64(cut - ends[complete]); skipped != want {
			t.Errorf("cut at %d: skipped %d bytes, want %d", cut, skipped, want)
		}
		for i := range got {
			sameScrape(t, i, got[i], want[i])
		}
	}
	// A crash can leave zeros where the last record's data never landed.
	zeros := append(bytes.Clone(full), make([]byte, 4096)...)
	if got, skipped, err := readAll(zeros); err != nil || len(got) != len(want) || skipped != 4096 {
		t.Errorf("zero-filled tail: %d records, skipped %d, %v", len(got), skipped, err)
	}
	// The last record's payload damaged (written, then the machine died).
	bad := bytes.Clone(full)
	bad[len(bad)-3] ^= 0xff
	if got, skipped, err := readAll(bad); err != nil || len(got) != len(want)-1 || skipped != int64(len(full)-ends[len(ends)-2]) {
		t.Errorf("damaged last record: %d records, skipped %d, %v", len(got), skipped, err)
	}
}

// recordEnds returns the header's end and each record's end offset.
func recordEnds(t *testing.T, b []byte) []int {
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	ends := []int{int(r.Offset())}
	for {
		if _, err := r.Next(); err != nil {
			break
		}
		ends = append(ends, int(r.Offset()))
	}
	return ends
}

func TestCorruptAndForeign(t *testing.T) {
	full := recording(t, scrapes(4), Options{})
	ends := recordEnds(t, full)
	mutate := func(f func(b []byte)) []byte { b := bytes.Clone(full); f(b); return b }
	newer := mutate(func(b []byte) { binary.BigEndian.PutUint16(b[8:], Version+1) })
	v1S2 := mutate(func(b []byte) { binary.BigEndian.PutUint16(b[8:], 1) }) // version 1 had zstd only
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty file", nil, "not a resiltop recording"},
		{"text file", []byte("# HELP up whether\nup 1\n"), "not a resiltop recording"},
		{"gzip file", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}, "not a resiltop recording"},
		{"newer version", newer, "version 3 is not supported (this resiltop reads up to 2): use a newer resiltop"},
		{"codec not of its version", v1S2, "recording of format version 1 uses unknown codec 2"},
		{"header damaged", mutate(func(b []byte) { b[20] ^= 1 }), "header corrupt: checksum mismatch"},
		{"header cut", full[:12], "header truncated"},
		{"first record's payload damaged", mutate(func(b []byte) { b[ends[0]+frameHeader+5] ^= 0xff }),
			"recording corrupt at record 0 (byte " + strconv.Itoa(ends[0]) + "): checksum mismatch"},
		{"second record's length damaged", mutate(func(b []byte) { binary.BigEndian.PutUint32(b[ends[1]:], MaxPayload+1) }),
			"recording corrupt at record 1 (byte " + strconv.Itoa(ends[1]) + "): record length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readAll(tt.b)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(tt.want, "not a resiltop") != errors.Is(err, ErrForeign) {
				t.Errorf("errors.Is(err, ErrForeign) = %v", errors.Is(err, ErrForeign))
			}
			path := filepath.Join(t.TempDir(), "rec")
			os.WriteFile(path, tt.b, 0o644)
			if _, err := Open(path); err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("Open: err = %v, want the path and %q", err, tt.want)
			}
		})
	}
}

func TestLimit(t *testing.T) {
	ss := scrapes(40)
	one := len(recording(t, ss[:1], Options{}))
	limit := int64(one * 5)
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Meta{Started: t0, Interval: time.Second}, Options{Limit: limit})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range ss {
		if err := w.Write(s); errors.Is(err, ErrFull) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n == 0 || n == len(ss) {
		t.Fatalf("%d records written before the limit", n)
	}
	if int64(buf.Len()) > limit || w.Size() != int64(buf.Len()) || w.Records() != n {
		t.Errorf("file %d bytes, Size %d, Records %d, limit %d, written %d", buf.Len(), w.Size(), w.Records(), limit, n)
	}
	if err := w.Write(ss[0]); !errors.Is(err, ErrFull) {
		t.Errorf("a write after the limit: %v, want ErrFull", err)
	}
	got, _, err := readAll(buf.Bytes())
	if err != nil || len(got) != n {
		t.Errorf("read back %d records, %v; want %d", len(got), err, n)
	}
}

func TestKeepFilters(t *testing.T) {
	ss := scrapes(1)
	keep := func(name string) bool { return name == ss[0].Page.Families[1].GetName() }
	got, _, err := readAll(recording(t, ss, Options{Keep: keep}))
	if err != nil || len(got) != 1 || len(got[0].Page.Families) != 1 || !keep(got[0].Page.Families[0].GetName()) {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestCreateRefusesExisting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec")
	w, err := Create(path, Meta{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(scrapes(1)[0]); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if _, err := Create(path, Meta{}, Options{}); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("second Create: %v", err)
	}
	if f, err := Open(path); err != nil || f.Len() != 1 {
		t.Errorf("Open: %v", err)
	} else {
		f.Close()
	}
}

func TestStatus(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Meta{}, Options{Limit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Status(); !strings.HasPrefix(got, "● rec ") || !strings.HasSuffix(got, " B") {
		t.Errorf("status %q", got)
	}
	w.opts.Limit = w.size + 10
	if err := w.Write(scrapes(1)[0]); !errors.Is(err, ErrFull) || !errors.Is(w.Err(), ErrFull) {
		t.Fatalf("write past the limit: %v", err)
	}
	if got, want := w.Status(), "rec stopped at "+formatSize(w.opts.Limit); got != want {
		t.Errorf("status %q, want %q", got, want)
	}
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1 << 30: "1 GiB", 3<<20 + 1<<19: "3.5 MiB"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestReadsVersion1 reads a recording of scrapes(6) written by the last
// resiltop that wrote format version 1 (zstd payloads), in order and at
// random: every later resiltop must.
func TestReadsVersion1(t *testing.T) {
	want := scrapes(6)
	b, err := os.ReadFile("testdata/v1.rec")
	if err != nil {
		t.Fatal(err)
	}
	if v := binary.BigEndian.Uint16(b[len(Magic):]); v != 1 {
		t.Fatalf("testdata/v1.rec is version %d", v)
	}
	got, skipped, err := readAll(b)
	if err != nil || skipped != 0 || len(got) != len(want) {
		t.Fatalf("read %d records, skipped %d, err %v; want %d", len(got), skipped, err, len(want))
	}
	for i := range want {
		sameScrape(t, i, got[i], want[i])
	}
	f, err := Open("testdata/v1.rec")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, i := range []int{4, 0, 5} {
		s, err := f.Read(i)
		if err != nil {
			t.Fatal(err)
		}
		sameScrape(t, i, s, want[i])
	}
}
