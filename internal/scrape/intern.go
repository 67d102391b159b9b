package scrape

import (
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
)

// maxInterned bounds the strings an interner keeps: a target whose label
// values churn (request ids, timestamps) starts afresh past it instead of
// growing without bound.
const maxInterned = 1 << 16

// interner keeps the strings of one target's pages across scrapes, so an
// unchanged page allocates no strings: family names and help texts as
// *string, label pairs as shared *dto.LabelPair. Pages only read them.
type interner struct {
	strs  map[string]*string
	pairs map[string]map[string]*dto.LabelPair // name → value → pair
	raw   map[string]*dto.LabelPair            // `name="value"` as on a text page → pair
	proto map[string]*dto.LabelPair            // an encoded LabelPair → pair, checked under protoScheme
	n     int

	protoScheme model.ValidationScheme
}

func newInterner() *interner {
	in := &interner{}
	in.init()
	return in
}

func (in *interner) init() {
	in.strs, in.pairs = map[string]*string{}, map[string]map[string]*dto.LabelPair{}
	in.raw, in.proto = map[string]*dto.LabelPair{}, map[string]*dto.LabelPair{}
	in.n = 0
}

// trim starts afresh when the interner has grown past its bound; called
// between pages, never while one is being read. New maps, not clear():
// a cleared map keeps the memory of its largest size.
func (in *interner) trim() {
	if in.n > maxInterned {
		in.init()
	}
}

// str returns the interned copy of b.
func (in *interner) str(b []byte) *string {
	if p, ok := in.strs[string(b)]; ok {
		return p
	}
	s := string(b)
	p := &s
	in.strs[s] = p
	in.n++
	return p
}

// pair returns the interned label pair name=value.
func (in *interner) pair(name, value []byte) *dto.LabelPair {
	vs, ok := in.pairs[string(name)]
	if !ok {
		vs = map[string]*dto.LabelPair{}
		in.pairs[string(name)] = vs
	}
	if p, ok := vs[string(value)]; ok {
		return p
	}
	v := string(value)
	p := &dto.LabelPair{Name: in.str(name), Value: &v}
	vs[v] = p
	in.n++
	return p
}
