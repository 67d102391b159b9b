// Package record writes and reads resiltop recordings: every scrape result
// a Source emitted (target, time, duration, bytes, error and the page's
// metric families), appended as it arrives, so an incident can be replayed
// and reported on later by any later resiltop.
//
// The format (docs/RECORDING.md is its specification) is a 16-byte-plus
// header followed by framed records. Each frame carries its length and a
// CRC-32C of its payload, and each payload is compressed on its own (one
// S2 block in version 2, one zstd frame in version 1, which is still
// read), so a reader can seek to any record through an index and a torn
// tail (a crash or SIGKILL in mid-write) loses only the last record.
package record

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"
)

// Magic opens every recording.
const Magic = "RESILREC"

// Version is the format version this package writes; it reads versions up
// to this one.
const Version = 2

// Payload codecs: a header names the one its records use.
const (
	// codecZstd is version 1's only codec: one zstd frame per record.
	codecZstd = 1
	// codecS2 is version 2's: one S2 block per record, which a version 1
	// reader cannot decode, hence the new version.
	codecS2 = 2
)

// codecs is the codec each version allows.
var codecs = map[uint16]byte{1: codecZstd, 2: codecS2}

// Limits that keep a hostile or corrupt file from costing unbounded memory.
const (
	// MaxPayload bounds a record's compressed payload.
	MaxPayload = 256 << 20
	// MaxBody bounds a record's decompressed body. A page at the default
	// --body-limit (64 MiB of text) encodes to far less; a larger one is
	// not recorded (Writer.Write says so).
	MaxBody = 64 << 20
	// maxWindow bounds a version 1 zstd frame's window: its writer's was
	// 8 MiB at most, and a decoder allocates the window a frame asks for.
	maxWindow = 8 << 20
	// maxMeta bounds the header's metadata.
	maxMeta = 1 << 20
	// fixedHeader is magic, version, codec, reserved byte and metadata length.
	fixedHeader = len(Magic) + 2 + 1 + 1 + 4
	// frameHeader is a record's length and CRC.
	frameHeader = 8
)

// castagnoli is the CRC-32C table (hardware-accelerated on amd64 and arm64).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Meta describes a recording as a whole; it is stored as JSON in the header.
type Meta struct {
	// Started is when recording began, on the recorder's clock.
	Started time.Time `json:"started"`
	// Interval is the scrape interval of the recording resiltop, which a
	// replay shows and paces by.
	Interval time.Duration `json:"interval_ns"`
	// Window is the recording resiltop's --window, the replay's default.
	Window time.Duration `json:"window_ns,omitempty"`
	// Source names what produced the scrapes: "targets" or "prometheus".
	Source string `json:"source,omitempty"`
}

// ErrForeign is returned (wrapped) for a file that is not a resiltop recording.
var ErrForeign = errors.New("not a resiltop recording")

// CorruptError is a recording damaged before its end: a record whose
// checksum, length or content is wrong although more data follows it.
// (Damage in the last record is a torn tail, skipped, not an error.)
type CorruptError struct {
	Record int   // 0-based index of the damaged record
	Offset int64 // its byte offset in the file
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("recording corrupt at record %d (byte %d): %s", e.Record, e.Offset, e.Reason)
}

// appendHeader appends the file header for meta.
func appendHeader(b []byte, meta Meta) ([]byte, error) {
	js, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	start := len(b)
	b = append(b, Magic...)
	b = binary.BigEndian.AppendUint16(b, Version)
	b = append(b, codecS2, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(len(js)))
	b = append(b, js...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli)), nil
}

// readHeader reads and checks the file header, returning the metadata,
// the records' codec and the header's length.
func readHeader(r io.Reader) (Meta, byte, int64, error) {
	var meta Meta
	fixed := make([]byte, fixedHeader)
	n, err := io.ReadFull(r, fixed)
	if n < len(Magic) || string(fixed[:len(Magic)]) != Magic {
		if n == 0 && err != nil && !errors.Is(err, io.EOF) {
			return meta, 0, 0, err
		}
		return meta, 0, 0, fmt.Errorf("%w (no %q magic at its start)", ErrForeign, Magic)
	}
	if err != nil {
		return meta, 0, 0, fmt.Errorf("recording header truncated: %w", err)
	}
	v, codec := binary.BigEndian.Uint16(fixed[8:]), fixed[10]
	if v == 0 || v > Version {
		return meta, 0, 0, fmt.Errorf("recording format version %d is not supported (this resiltop reads up to %d): use a newer resiltop", v, Version)
	}
	if codec != codecs[v] {
		return meta, 0, 0, fmt.Errorf("recording of format version %d uses unknown codec %d", v, codec)
	}
	mlen := binary.BigEndian.Uint32(fixed[12:])
	if mlen > maxMeta {
		return meta, 0, 0, fmt.Errorf("recording header corrupt: metadata of %d bytes", mlen)
	}
	rest := make([]byte, int(mlen)+4)
	if _, err := io.ReadFull(r, rest); err != nil {
		return meta, 0, 0, fmt.Errorf("recording header truncated: %w", err)
	}
	js, sum := rest[:mlen], binary.BigEndian.Uint32(rest[mlen:])
	crc := crc32.Update(crc32.Checksum(fixed, castagnoli), castagnoli, js)
	if crc != sum {
		return meta, 0, 0, errors.New("recording header corrupt: checksum mismatch")
	}
	if err := json.Unmarshal(js, &meta); err != nil {
		return meta, 0, 0, fmt.Errorf("recording header corrupt: %w", err)
	}
	return meta, codec, int64(fixedHeader) + int64(len(rest)), nil
}
