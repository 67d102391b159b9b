package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strconv"
	"sync"

	"github.com/klauspost/compress/s2"

	"resiltop/internal/model"
)

// DefaultLimit is the default size limit of a recording (--record-max).
const DefaultLimit = 1 << 30

// ErrFull is returned by Write once the recording reached its size limit;
// the scrapes after it are not recorded.
var ErrFull = errors.New("recording reached its size limit")

// Options configure a Writer.
type Options struct {
	// Limit bounds the file's size in bytes, header included; 0 means
	// DefaultLimit. The record that would cross it is not written.
	Limit int64
	// Keep selects the metric families recorded by name (those the
	// profiles read); nil records every family.
	Keep func(name string) bool
}

// KeepFamilies is the usual Options.Keep: the metric families some profile
// reads (detection included, see model.Profile.Families), so a recording
// holds what was ingested and not the rest of a page (a JVM's hundreds of
// other series).
func KeepFamilies(profiles []model.Profile) func(name string) bool {
	names := map[string]bool{}
	for _, p := range profiles {
		for _, n := range p.Families() {
			names[n] = true
		}
	}
	return func(name string) bool { return names[name] }
}

// Writer appends scrapes to a recording. It is safe for concurrent use.
type Writer struct {
	mu      sync.Mutex
	w       io.Writer
	closer  io.Closer // nil unless the Writer opened the file
	opts    Options
	size    int64 // bytes written, header included
	records int
	body    []byte // reused between records
	frame   []byte
	err     error // sticky: ErrFull or the first write error
}

// Create creates a new recording at path; an existing file is refused,
// so a recording is never overwritten by accident.
func Create(path string, meta Meta, opts Options) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("recording %s exists: remove it or name another file", path)
		}
		return nil, fmt.Errorf("creating recording: %w", err)
	}
	w, err := NewWriter(f, meta, opts)
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	w.closer = f
	return w, nil
}

// NewWriter writes the header for meta to w and returns a Writer that
// appends records to it.
func NewWriter(w io.Writer, meta Meta, opts Options) (*Writer, error) {
	if opts.Limit <= 0 {
		opts.Limit = DefaultLimit
	}
	hdr, err := appendHeader(nil, meta)
	if err != nil {
		return nil, err
	}
	if int64(len(hdr)) > opts.Limit {
		return nil, fmt.Errorf("recording limit of %d bytes is smaller than its header", opts.Limit)
	}
	if _, err := w.Write(hdr); err != nil {
		return nil, fmt.Errorf("writing recording header: %w", err)
	}
	return &Writer{w: w, opts: opts, size: int64(len(hdr))}, nil
}

// Write appends one scrape as one record, written with a single Write
// call so that a crash leaves at most that record torn. It returns ErrFull
// (once the limit is reached, for this and every later scrape) or the
// first write error, which also sticks.
func (w *Writer) Write(s model.Scrape) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	var err error
	if w.body, err = appendBody(w.body[:0], s, w.opts.Keep); err != nil {
		return err // this scrape only: the file is unchanged
	}
	if len(w.body) > MaxBody {
		return fmt.Errorf("scrape of %s too large to record (%d bytes encoded, at most %d)", s.Target, len(w.body), MaxBody)
	}
	// S2, not zstd (docs/RECORDING.md): with the caches as cold as they
	// are between scrapes, zstd's fastest level took two thirds of Write
	// and recording added 11% to the scale benchmark's CPU; with S2 it
	// adds 6%, for 1.7 times the bytes.
	if need := frameHeader + s2.MaxEncodedLen(len(w.body)); cap(w.frame) < need {
		w.frame = make([]byte, need)
	}
	payload := s2.Encode(w.frame[frameHeader:cap(w.frame)], w.body)
	w.frame = w.frame[:frameHeader+len(payload)]
	if w.size+int64(len(w.frame)) > w.opts.Limit {
		w.err = ErrFull
		return w.err
	}
	binary.BigEndian.PutUint32(w.frame, uint32(len(payload)))
	binary.BigEndian.PutUint32(w.frame[4:], crc32.Checksum(payload, castagnoli))
	n, err := w.w.Write(w.frame)
	w.size += int64(n)
	if err != nil {
		w.err = fmt.Errorf("writing recording: %w", err)
		return w.err
	}
	w.records++
	if cap(w.body) > 16<<20 { // a rare huge page: do not keep its buffers
		w.body, w.frame = nil, nil
	}
	return nil
}

// Size is the bytes written so far, header included.
func (w *Writer) Size() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.size
}

// Records is the number of records written.
func (w *Writer) Records() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.records
}

// Err is why the Writer stopped recording (ErrFull, or a write error);
// nil while it records.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Status is a short line for a header: "● rec 3.2 MiB" while recording,
// "rec stopped at 1 GiB" once full, "rec failed" after a write error.
func (w *Writer) Status() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case errors.Is(w.err, ErrFull):
		return "rec stopped at " + formatSize(w.opts.Limit)
	case w.err != nil:
		return "rec failed"
	}
	return "● rec " + formatSize(w.size)
}

// formatSize writes n bytes in binary units with one decimal: 3.2 MiB.
func formatSize(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f, u := float64(n), 0
	for f >= 1024 && u < len(units)-1 {
		f /= 1024
		u++
	}
	if u == 0 || f == float64(int64(f)) {
		return strconv.FormatFloat(f, 'f', 0, 64) + " " + units[u]
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + " " + units[u]
}

// Close closes the file if Create opened it. Records need no final
// marker: a recording is complete after every record.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closer != nil {
		return w.closer.Close()
	}
	return nil
}
