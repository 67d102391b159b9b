package scrape

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	jsoniter "github.com/json-iterator/go"
)

// This file reads the JSON answers of Prometheus's HTTP API (query and
// query_range) as a stream: each series is handed to a callback as soon as
// it is read, with its labels and points in buffers reused for the next
// one, so an answer of a million series is never held twice (once as bytes,
// once as Go values) before it becomes pages.

// label is one label of a series as the answer carries it.
type label struct{ name, value string }

// point is one sample: unix seconds and value.
type point struct {
	t float64
	v float64
}

// series is one series of an answer. Its slices are reused for the next
// series: a callback copies what it keeps.
type series struct {
	labels []label
	points []point
}

// get returns the value of the label called name, or "".
func (s *series) get(name string) string {
	for _, l := range s.labels {
		if l.name == name {
			return l.value
		}
	}
	return ""
}

// envelope is the part of an answer around its data.
type envelope struct {
	status    string // "success" or "error"
	errorType string
	errMsg    string
	warnings  []string
	partial   bool // VictoriaMetrics' isPartial
}

// APIError is an error answer of Prometheus's API: its errorType
// ("bad_data", "execution", "timeout", …) and message, as Prometheus words
// them, with the HTTP status.
type APIError struct {
	Status int
	Type   string
	Msg    string
}

// Error returns "bad_data: 1:6: parse error: …" (Prometheus's own words).
func (e *APIError) Error() string {
	switch {
	case e.Type != "" && e.Msg != "":
		return e.Type + ": " + e.Msg
	case e.Msg != "":
		return e.Msg
	}
	return fmt.Sprintf("HTTP %d without an error message", e.Status)
}

// errStopAnswer is what a callback returns to stop reading an answer early
// with its own error kept by the caller.
var errStopAnswer = errors.New("stop")

// decodeAnswer reads a query or query_range answer from body and hands every
// series of its result (vector or matrix) to each, in order. A vector's
// series has one point, a matrix's has its values; native histogram samples
// are skipped (resiltop reads classic histograms). It returns the envelope;
// its error is a parse error, or each's error. A scalar or string result is
// an error: resiltop only sends selectors.
func decodeAnswer(body []byte, each func(*series) error) (envelope, error) {
	var env envelope
	it := jsoniter.ParseBytes(jsoniter.ConfigFastest, body)
	var s series
	var cbErr error
	if it.WhatIsNext() != jsoniter.ObjectValue {
		return env, errors.New("parse error: the answer is not a JSON object")
	}
	it.ReadObjectCB(func(it *jsoniter.Iterator, field string) bool {
		switch field {
		case "status":
			env.status = readString(it)
		case "errorType":
			env.errorType = readString(it)
		case "error":
			env.errMsg = readString(it)
		case "warnings":
			env.warnings = readStrings(it, env.warnings)
		case "isPartial":
			env.partial = it.WhatIsNext() == jsoniter.BoolValue && it.ReadBool()
			if !env.partial && it.WhatIsNext() != jsoniter.InvalidValue {
				it.Skip()
			}
		case "data":
			cbErr = readData(it, &s, each)
			return cbErr == nil
		default:
			it.Skip()
		}
		return it.Error == nil
	})
	if cbErr != nil {
		return env, cbErr
	}
	if it.Error != nil && !errors.Is(it.Error, errStopAnswer) {
		return env, fmt.Errorf("parse error: %s", shortJSONError(it.Error))
	}
	if env.status != "success" && env.status != "error" {
		return env, fmt.Errorf("parse error: the answer has no status")
	}
	return env, nil
}

// readData reads the data object: resultType and result.
func readData(it *jsoniter.Iterator, s *series, each func(*series) error) error {
	if it.WhatIsNext() == jsoniter.NilValue {
		it.Skip()
		return nil
	}
	var cbErr error
	it.ReadObjectCB(func(it *jsoniter.Iterator, field string) bool {
		switch field {
		case "resultType":
			switch t := readString(it); t {
			case "vector", "matrix", "":
			default:
				cbErr = fmt.Errorf("parse error: a %s result where series were expected", t)
				return false
			}
		case "result":
			if it.WhatIsNext() != jsoniter.ArrayValue {
				it.Skip()
				return it.Error == nil
			}
			it.ReadArrayCB(func(it *jsoniter.Iterator) bool {
				if err := readSeries(it, s); err != nil {
					cbErr = err
					return false
				}
				if it.Error != nil {
					return false
				}
				if err := each(s); err != nil {
					cbErr = err
					return false
				}
				return true
			})
		default:
			it.Skip()
		}
		return it.Error == nil && cbErr == nil
	})
	return cbErr
}

// readSeries reads one element of a result into s.
func readSeries(it *jsoniter.Iterator, s *series) error {
	s.labels, s.points = s.labels[:0], s.points[:0]
	if it.WhatIsNext() != jsoniter.ObjectValue {
		it.Skip()
		return errors.New("parse error: a result element is not an object")
	}
	var err error
	it.ReadObjectCB(func(it *jsoniter.Iterator, field string) bool {
		switch field {
		case "metric":
			if it.WhatIsNext() != jsoniter.ObjectValue {
				it.Skip()
				break
			}
			it.ReadObjectCB(func(it *jsoniter.Iterator, name string) bool {
				s.labels = append(s.labels, label{name: name, value: readString(it)})
				return it.Error == nil
			})
		case "value":
			var p point
			if p, err = readPoint(it); err == nil {
				s.points = append(s.points, p)
			}
		case "values":
			if it.WhatIsNext() != jsoniter.ArrayValue {
				it.Skip()
				break
			}
			it.ReadArrayCB(func(it *jsoniter.Iterator) bool {
				var p point
				if p, err = readPoint(it); err != nil {
					return false
				}
				s.points = append(s.points, p)
				return it.Error == nil
			})
		default: // "histogram", "histograms": native histograms are not read
			it.Skip()
		}
		return it.Error == nil && err == nil
	})
	return err
}

// readPoint reads [unix seconds, "value"].
func readPoint(it *jsoniter.Iterator) (point, error) {
	var p point
	if it.WhatIsNext() != jsoniter.ArrayValue {
		it.Skip()
		return p, errors.New("parse error: a sample is not [time, value]")
	}
	n := 0
	var err error
	it.ReadArrayCB(func(it *jsoniter.Iterator) bool {
		switch n {
		case 0:
			if it.WhatIsNext() != jsoniter.NumberValue {
				err = errors.New("parse error: a sample's time is not a number")
				return false
			}
			p.t = it.ReadFloat64()
		case 1:
			raw := it.ReadStringAsSlice() // Prometheus writes values as plain strings, no escapes
			v, perr := strconv.ParseFloat(string(raw), 64)
			if perr != nil {
				err = fmt.Errorf("parse error: sample value %q", truncate(string(raw), 40))
				return false
			}
			p.v = v
		default:
			it.Skip()
		}
		n++
		return it.Error == nil
	})
	if err == nil && n < 2 && it.Error == nil {
		err = errors.New("parse error: a sample is not [time, value]")
	}
	if err == nil && (math.IsNaN(p.t) || math.IsInf(p.t, 0)) {
		err = errors.New("parse error: a sample's time is not finite")
	}
	return p, err
}

// readString reads a string, or skips any other value and returns "".
func readString(it *jsoniter.Iterator) string {
	if it.WhatIsNext() != jsoniter.StringValue {
		it.Skip()
		return ""
	}
	return it.ReadString()
}

// readStrings appends an array of strings to dst; other values are skipped.
func readStrings(it *jsoniter.Iterator, dst []string) []string {
	if it.WhatIsNext() != jsoniter.ArrayValue {
		it.Skip()
		return dst
	}
	it.ReadArrayCB(func(it *jsoniter.Iterator) bool {
		if s := readString(it); s != "" && len(dst) < maxWarnings {
			dst = append(dst, s)
		}
		return it.Error == nil
	})
	return dst
}

// maxWarnings bounds the warnings kept from one answer.
const maxWarnings = 20

// shortJSONError cuts jsoniter's message, which quotes up to a kilobyte of
// the input around the error.
func shortJSONError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, ", error found in #"); i >= 0 {
		msg = msg[:i]
	}
	return truncate(msg, 200)
}

// truncate cuts s to n bytes at most, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
