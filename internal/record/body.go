package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"resiltop/internal/model"
)

// Flags of a record body.
const (
	flagPage   = 1 << iota // families follow the fixed fields
	flagErr                // an error message is among the fixed fields
	knownFlags = flagPage | flagErr
)

// maxString bounds a target URL or error message in a body.
const maxString = 1 << 20

// appendBody appends s's body: flags, target, time, duration, bytes, error,
// then the page's families as protobuf-delimited MetricFamily messages
// (those keep accepts; all when keep is nil).
func appendBody(b []byte, s model.Scrape, keep func(string) bool) ([]byte, error) {
	var flags byte
	if s.Page != nil && s.Err == nil {
		flags |= flagPage
	}
	if s.Err != nil {
		flags |= flagErr
	}
	b = append(b, flags)
	b = appendString(b, s.Target)
	var ns int64
	if !s.Time.IsZero() {
		ns = s.Time.UnixNano()
	}
	b = binary.AppendVarint(b, ns)
	b = binary.AppendVarint(b, int64(s.Duration))
	b = binary.AppendVarint(b, s.Bytes)
	if s.Err != nil {
		b = appendString(b, s.Err.Error())
	}
	if flags&flagPage == 0 {
		return b, nil
	}
	for _, f := range s.Page.Families {
		if keep != nil && !keep(f.GetName()) {
			continue
		}
		var err error
		if b, err = appendFamily(b, f); err != nil {
			return nil, fmt.Errorf("encoding family %s: %w", f.GetName(), err)
		}
	}
	return b, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// errBody is wrapped by every body decoding error.
var errBody = errors.New("bad record body")

// parseBody decodes a body written by appendBody. With headOnly it stops
// before the page (an index needs the target and time only) and leaves
// Page nil.
func parseBody(b []byte, headOnly bool) (model.Scrape, error) {
	var s model.Scrape
	if len(b) == 0 {
		return s, fmt.Errorf("%w: empty", errBody)
	}
	flags := b[0]
	if flags&^knownFlags != 0 || flags == flagPage|flagErr {
		return s, fmt.Errorf("%w: flags %#x", errBody, flags)
	}
	d := decoder{b: b[1:]}
	s.Target = d.string()
	if ns := d.varint(); ns != 0 {
		s.Time = time.Unix(0, ns)
	}
	s.Duration = time.Duration(d.varint())
	s.Bytes = d.varint()
	if flags&flagErr != 0 {
		s.Err = errors.New(d.string())
	}
	if d.err != nil {
		return model.Scrape{}, d.err
	}
	if headOnly || flags&flagPage == 0 {
		if flags&flagPage == 0 && len(d.b) > 0 {
			return model.Scrape{}, fmt.Errorf("%w: %d bytes after a scrape without a page", errBody, len(d.b))
		}
		return s, nil
	}
	var fams []*dto.MetricFamily
	for len(d.b) > 0 {
		n := d.uvarint()
		if d.err != nil || n > uint64(len(d.b)) {
			return model.Scrape{}, fmt.Errorf("%w: family %d: length past the end", errBody, len(fams))
		}
		f := new(dto.MetricFamily)
		if err := proto.Unmarshal(d.b[:n], f); err != nil {
			return model.Scrape{}, fmt.Errorf("%w: family %d: %v", errBody, len(fams), err)
		}
		d.b = d.b[n:]
		fams = append(fams, f)
	}
	s.Page = model.NewPage(fams)
	return s, nil
}

// decoder reads a body's fields; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 { return number(d, binary.Uvarint) }

func (d *decoder) varint() int64 { return number(d, binary.Varint) }

// number reads one varint of either kind with read.
func number[T uint64 | int64](d *decoder, read func([]byte) (T, int)) T {
	if d.err != nil {
		return 0
	}
	v, n := read(d.b)
	if n <= 0 {
		d.err = fmt.Errorf("%w: truncated number", errBody)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > maxString || n > uint64(len(d.b)) {
		d.err = fmt.Errorf("%w: string of %d bytes", errBody, n)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}
