package record

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"iter"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"resiltop/internal/model"
)

// Reader reads a recording's records in order.
type Reader struct {
	br      *bufio.Reader
	meta    Meta
	off     int64 // offset of the next frame
	n       int   // records read
	skipped int64
	dec     *decompressor
	payload []byte
	body    []byte
	err     error // sticky: io.EOF or the error that ended reading
}

// NewReader reads and checks the header. A file that is not a recording
// gives an error wrapping ErrForeign; a newer format version, an error
// saying to use a newer resiltop.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	meta, codec, n, err := readHeader(br)
	if err != nil {
		return nil, err
	}
	return &Reader{br: br, meta: meta, off: n, dec: &decompressor{codec: codec}}, nil
}

// decompressor decompresses the payloads of one recording's codec.
type decompressor struct {
	codec byte
	zstd  *zstd.Decoder // version 1's, made at its first record
}

// decompress decompresses payload into buf's array, growing it as needed;
// it returns that array even with an error, for the next record to reuse.
// Neither codec lets a hostile record cost more than MaxBody: an S2
// block's size is checked before the buffer grows to it, and zstd is
// decompressed as a stream into a buffer grown as output arrives, so a
// frame that claims a huge size costs only what it really expands to.
func (d *decompressor) decompress(payload, buf []byte) ([]byte, error) {
	if d.codec == codecS2 {
		n, err := s2.DecodedLen(payload)
		if err != nil {
			return buf[:0], err
		}
		if n > MaxBody {
			return buf[:0], fmt.Errorf("body of %d bytes, more than %d", n, MaxBody)
		}
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		body, err := s2.Decode(buf[:n], payload)
		if err != nil {
			return buf[:0], err
		}
		return body, nil
	}
	if d.zstd == nil {
		dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(MaxBody),
			zstd.WithDecoderMaxWindow(maxWindow))
		if err != nil {
			return nil, err
		}
		d.zstd = dec
	}
	if err := d.zstd.Reset(bytes.NewReader(payload)); err != nil {
		return nil, err
	}
	return readLimited(d.zstd, buf[:0], MaxBody)
}

// close releases the zstd decoder's goroutines, if one was made.
func (d *decompressor) close() {
	if d.zstd != nil {
		d.zstd.Close()
	}
}

// Meta is the recording's header metadata.
func (r *Reader) Meta() Meta { return r.meta }

// Skipped is how many bytes of a torn tail (a record cut short by a crash)
// were skipped; known once Next returned io.EOF.
func (r *Reader) Skipped() int64 { return r.skipped }

// Offset is the byte offset of the next record.
func (r *Reader) Offset() int64 { return r.off }

// Next returns the next scrape, or io.EOF after the last complete one. A
// torn tail ends the recording (see Skipped); damage before the end is a
// *CorruptError.
func (r *Reader) Next() (model.Scrape, error) {
	s, _, err := r.next(false)
	return s, err
}

// next reads one record; with headOnly its page is not decoded. It also
// returns the record's frame offset and payload length.
func (r *Reader) next(headOnly bool) (model.Scrape, Entry, error) {
	if r.err != nil {
		return model.Scrape{}, Entry{}, r.err
	}
	off := r.off
	payload, err := r.frame()
	if err != nil {
		r.err = err
		return model.Scrape{}, Entry{}, err
	}
	s, err := decodePayload(r.dec, payload, &r.body, headOnly)
	if err != nil {
		r.err = &CorruptError{Record: r.n, Offset: off, Reason: err.Error()}
		return model.Scrape{}, Entry{}, r.err
	}
	r.n++
	return s, Entry{Offset: off, Len: uint32(len(payload)), Target: s.Target, Time: s.Time, Duration: s.Duration}, nil
}

// decodePayload decompresses a payload into *buf, at most MaxBody bytes,
// and decodes its body.
func decodePayload(dec *decompressor, payload []byte, buf *[]byte, headOnly bool) (model.Scrape, error) {
	body, err := dec.decompress(payload, *buf)
	*buf = body
	if err != nil {
		return model.Scrape{}, fmt.Errorf("decompressing: %w", err)
	}
	return parseBody(body, headOnly)
}

// readLimited appends r to b until EOF, failing past limit bytes.
func readLimited(r io.Reader, b []byte, limit int) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			if len(b) > limit {
				return b, fmt.Errorf("body larger than %d bytes", limit)
			}
			b = slices.Grow(b, min(max(len(b), 64<<10), limit+1-len(b)))
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if len(b) > limit {
			return b, fmt.Errorf("body larger than %d bytes", limit)
		}
		if errors.Is(err, io.EOF) {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// frame reads the next frame and checks its CRC, returning its payload.
func (r *Reader) frame() ([]byte, error) {
	var hdr [frameHeader]byte
	n, err := io.ReadFull(r.br, hdr[:])
	switch {
	case n == 0 && errors.Is(err, io.EOF):
		return nil, io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, r.torn(int64(n))
	case err != nil:
		return nil, err
	}
	length, sum := binary.BigEndian.Uint32(hdr[:]), binary.BigEndian.Uint32(hdr[4:])
	if length == 0 || length > MaxPayload {
		// A crash can leave a zero-filled tail (the size grew before the
		// data landed); anything else is damage.
		rest, zero, err := drainZeros(r.br)
		if err != nil {
			return nil, err
		}
		if zero && hdr == [frameHeader]byte{} {
			return nil, r.torn(frameHeader + rest)
		}
		return nil, &CorruptError{Record: r.n, Offset: r.off, Reason: fmt.Sprintf("record length %d", length)}
	}
	if cap(r.payload) < int(length) {
		r.payload = make([]byte, length)
	}
	p := r.payload[:length]
	got, err := io.ReadFull(r.br, p)
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return nil, r.torn(frameHeader + int64(got))
	case err != nil:
		return nil, err
	}
	if crc32.Checksum(p, castagnoli) != sum {
		if _, err := r.br.Peek(1); errors.Is(err, io.EOF) {
			return nil, r.torn(frameHeader + int64(length)) // the last record, partly written
		}
		return nil, &CorruptError{Record: r.n, Offset: r.off, Reason: "checksum mismatch"}
	}
	r.off += frameHeader + int64(length)
	return p, nil
}

// torn records a torn tail of n bytes and ends the recording.
func (r *Reader) torn(n int64) error {
	r.skipped = n
	r.off += n
	return io.EOF
}

// drainZeros reads r to its end and reports how many bytes it read and
// whether all were zero.
func drainZeros(r io.Reader) (int64, bool, error) {
	var buf [32 << 10]byte
	var n int64
	zero := true
	for {
		m, err := r.Read(buf[:])
		n += int64(m)
		for _, c := range buf[:m] {
			zero = zero && c == 0
		}
		if errors.Is(err, io.EOF) {
			return n, zero, nil
		}
		if err != nil {
			return n, zero, err
		}
	}
}

// Entry locates one record of a File.
type Entry struct {
	Offset   int64  // of its frame
	Len      uint32 // of its payload
	Target   string
	Time     time.Time     // when the scrape started
	Duration time.Duration // how long it took
}

// Arrival is when the scrape's result reached the recording resiltop, the
// moment its Store ingested it: its start plus its duration.
func (e Entry) Arrival() time.Time { return e.Time.Add(e.Duration) }

// File is a recording opened for random access: an index of its records,
// each decoded on demand.
type File struct {
	f       *os.File
	meta    Meta
	entries []Entry
	skipped int64

	mu      sync.Mutex // guards dec and the buffers
	dec     *decompressor
	payload []byte
	body    []byte
}

// Open opens a recording and indexes it, reading every record once (its
// page is not decoded until Read). A torn tail is skipped (see Skipped).
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	file, err := index(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return file, nil
}

func index(f *os.File) (*File, error) {
	r, err := NewReader(f)
	if err != nil {
		return nil, err
	}
	file := &File{f: f, meta: r.meta, dec: r.dec}
	targets := map[string]string{} // one copy of each target URL
	for {
		_, e, err := r.next(true)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if t, ok := targets[e.Target]; ok {
			e.Target = t
		} else {
			targets[e.Target] = e.Target
		}
		file.entries = append(file.entries, e)
	}
	file.skipped = r.skipped
	return file, nil
}

// Meta is the recording's header metadata.
func (f *File) Meta() Meta { return f.meta }

// Len is the number of complete records.
func (f *File) Len() int { return len(f.entries) }

// Entry returns record i's index entry.
func (f *File) Entry(i int) Entry { return f.entries[i] }

// Span is how long the recording lasts: from its first scrape's start to
// the latest arrival (start plus duration) of any scrape; 0 when empty.
func (f *File) Span() time.Duration {
	if len(f.entries) == 0 {
		return 0
	}
	var end time.Time
	for _, e := range f.entries {
		if a := e.Arrival(); a.After(end) {
			end = a
		}
	}
	return end.Sub(f.entries[0].Time)
}

// Skipped is how many bytes of a torn tail Open skipped.
func (f *File) Skipped() int64 { return f.skipped }

// Read decodes record i. It is safe for concurrent use.
func (f *File) Read(i int) (model.Scrape, error) {
	if i < 0 || i >= len(f.entries) {
		return model.Scrape{}, fmt.Errorf("record %d out of range [0,%d)", i, len(f.entries))
	}
	e := f.entries[i]
	f.mu.Lock()
	defer f.mu.Unlock()
	if cap(f.payload) < int(e.Len) {
		f.payload = make([]byte, e.Len)
	}
	p := f.payload[:e.Len]
	if _, err := f.f.ReadAt(p, e.Offset+frameHeader); err != nil {
		return model.Scrape{}, fmt.Errorf("reading record %d: %w", i, err)
	}
	s, err := decodePayload(f.dec, p, &f.body, false)
	if err != nil {
		return model.Scrape{}, &CorruptError{Record: i, Offset: e.Offset, Reason: err.Error()}
	}
	return s, nil
}

// All yields every record in order, and the error of one that cannot be
// read, which ends the sequence.
func (f *File) All() iter.Seq2[model.Scrape, error] {
	return func(yield func(model.Scrape, error) bool) {
		for i := range f.entries {
			s, err := f.Read(i)
			if !yield(s, err) || err != nil {
				return
			}
		}
	}
}

// Close closes the file.
func (f *File) Close() error {
	f.dec.close()
	return f.f.Close()
}
