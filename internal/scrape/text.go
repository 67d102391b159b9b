package scrape

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// textParser reads a text 0.0.4 page. It is expfmt's TextParser (common
// v0.72.1) ported state for state onto a byte slice, so that it accepts and
// rejects exactly what expfmt does and builds the same families, plus the
// leniency resiltop always had (a repeated HELP or TYPE line, or a TYPE
// after the name's samples, is ignored: the first wins). Hand-written
// because no library serves: expfmt allocates tens of objects per sample
// (25 objects and 3 µs a series on the 12k-series benchmark page), and
// Prometheus's model/textparse, which does build with the pinned
// prometheus/common, lexes every byte of every line, labels included,
// before a caller can look at the name: 2.6–3.2 ms for that page with
// nothing decoded, the whole 0.1× budget of an ingest, and it yields
// labels.Labels rather than the dto families the profiles read
// (docs/PERFORMANCE.md). This parser looks at a line's name first and
// skips an unwanted line with one IndexByte.
//
// A skipped line is not checked, so a page whose only error is in skipped
// families reads without error; the next full read reports it.
type textParser struct {
	a      *assembler
	b      []byte
	pos    int  // index of the next byte to read
	c      byte // the byte last read (expfmt's currentByte)
	eof    bool // a read went past the end (expfmt's io.EOF)
	err    error
	line   int
	scheme model.ValidationScheme
	wanted map[string]bool // nil: every family

	tok []byte // the current token: a slice of b, or of buf after an escape
	buf []byte // token bytes with escapes resolved
	pn  []byte // the current label pair's name

	mf              *pageFamily      // expfmt's currentMF: kept across lines, as there
	haveMetric      bool             // a metric name was read (expfmt's currentMetric != nil)
	m               *dto.Metric      // the metric the line's value went to
	labels          []*dto.LabelPair // the line's label pairs (expfmt's currentLabelPairs)
	names           map[string]bool  // their names, once there are many
	pending         bool             // labels ends in a pair whose value is still to be read
	curName         *string          // expfmt's currentLabels["__name__"]: an interned family name
	cur             []*dto.LabelPair // the rest of expfmt's currentLabels
	quantile        float64
	bucket          float64
	summaryCount    bool
	summarySum      bool
	histogramCount  bool
	histogramSum    bool
	inBraces        bool
	inBracesPresent bool
	histograms      sigTable
	summaries       sigTable

	// The leniency's memory: names with a HELP, a TYPE, a sample so far.
	helped, typed, sampled map[string]bool

	// The simple pairs of the last line by position: consecutive lines
	// mostly repeat them (one dependency's series, a histogram's buckets).
	linePairs [8]linePair
	pairIndex int // position of the next pair on the line

	// The family the last sample name resolved to: a name always resolves
	// to the same family within a page, and runs of one name are common.
	lastMFName  []byte
	lastMF      *pageFamily
	lastMFFlags [4]bool

	samples, maxSeries int
	layout             uint64
	recent             [4]recentName   // names of the last sample lines
	last, next         int             // recent's entry of the last line (-1: none), and the one to replace
	nameLen            int             // length of this line's plain name, when recent knows it
	composite          map[string]bool // skipped histograms and summaries, by their TYPE lines
}

// States of the parser, named after expfmt's state functions.
type textState int

const (
	stDone textState = iota
	stStartOfLine
	stStartComment
	stReadingMetricName
	stReadingLabels
	stStartLabelName
	stStartLabelValue
	stReadingValue
	stStartTimestamp
	stReadingHelp
	stReadingType
)

// readText reads a text page into a's families.
func (a *assembler) readText(body []byte, contentType string, format expfmt.Format, maxSeries int, wanted map[string]bool) (uint64, error) {
	p := a.text
	if p == nil {
		p = &textParser{a: a,
			helped: map[string]bool{}, typed: map[string]bool{}, sampled: map[string]bool{}, composite: map[string]bool{},
			names: map[string]bool{}}
		a.text = p
	}
	p.reset(body, wanted, maxSeries)
	p.scheme = model.LegacyValidation
	if format.ToEscapingScheme() == model.NoEscaping {
		p.scheme = model.UTF8Validation
	}
	for st := stStartOfLine; st != stDone; {
		st = states[st](p)
	}
	if p.err == nil && p.eof {
		p.parseError("unexpected end of input stream")
	}
	var se *Error
	if errors.As(p.err, &se) {
		return 0, se
	}
	var pe expfmt.ParseError
	if errors.As(p.err, &pe) {
		return 0, parseError(pe, contentType)
	}
	if p.err != nil {
		return 0, parseError(p.err, contentType)
	}
	return p.layout, nil
}

func (p *textParser) reset(body []byte, wanted map[string]bool, maxSeries int) {
	*p = textParser{
		a: p.a, b: body, wanted: wanted, maxSeries: maxSeries,
		tok: p.tok[:0], buf: p.buf[:0], pn: p.pn[:0], labels: p.labels[:0], cur: p.cur[:0], lastMFName: p.lastMFName[:0],
		quantile: math.NaN(), bucket: math.NaN(),
		histograms: p.histograms, summaries: p.summaries,
		helped: p.helped, typed: p.typed, sampled: p.sampled, composite: p.composite, last: -1, names: p.names,
	}
	p.histograms.reset()
	p.summaries.reset()
	clear(p.helped)
	clear(p.typed)
	clear(p.sampled)
	clear(p.composite)
}

// failed is expfmt's p.err != nil: a parse error or the end of input.
func (p *textParser) failed() bool { return p.err != nil || p.eof }

func (p *textParser) read() {
	if p.pos >= len(p.b) {
		p.c, p.eof = 0, true
		return
	}
	p.c = p.b[p.pos]
	p.pos++
}

func (p *textParser) parseError(msg string) {
	p.err = expfmt.ParseError{Line: p.line, Msg: msg}
}

func isBlankOrTab(b byte) bool { return b == ' ' || b == '\t' }

func (p *textParser) skipBlankTab() {
	for {
		if p.read(); p.eof || !isBlankOrTab(p.c) {
			return
		}
	}
}

func (p *textParser) skipBlankTabIfCurrentBlankTab() {
	if isBlankOrTab(p.c) {
		p.skipBlankTab()
	}
}

// states maps each state to its method.
var states = [...]func(*textParser) textState{
	stStartOfLine:       (*textParser).startOfLine,
	stStartComment:      (*textParser).startComment,
	stReadingMetricName: (*textParser).readingMetricName,
	stReadingLabels:     (*textParser).readingLabels,
	stStartLabelName:    (*textParser).startLabelName,
	stStartLabelValue:   (*textParser).startLabelValue,
	stReadingValue:      (*textParser).readingValue,
	stStartTimestamp:    (*textParser).startTimestamp,
	stReadingHelp:       (*textParser).readingHelp,
	stReadingType:       (*textParser).readingType,
}

func (p *textParser) startOfLine() textState {
	p.line++
	p.pairIndex = 0
	p.haveMetric = false
	p.inBraces = false
	p.inBracesPresent = false
	if p.skipBlankTab(); p.eof {
		// The only place where the end of input is not an error.
		p.eof = false
		return stDone
	}
	switch p.c {
	case '#':
		if !p.keepComment() {
			return p.skipLine()
		}
		return stStartComment
	case '\n':
		return stStartOfLine
	}
	if !p.keepSample() {
		if p.err != nil {
			return stDone
		}
		st := p.skipLine()
		if st == stStartOfLine && p.last >= 0 {
			p.skipRun(&p.recent[p.last])
		}
		return st
	}
	if p.c == '{' {
		p.inBraces = true
		return stReadingLabels
	}
	return stReadingMetricName
}

// skipLine skips the rest of the line as expfmt skips a plain comment: a
// line without a newline at the end of input is an error.
func (p *textParser) skipLine() textState {
	i := bytes.IndexByte(p.b[p.pos-1:], '\n')
	if i < 0 {
		p.pos = len(p.b)
		p.eof = true
		return stDone
	}
	p.pos += i
	p.c = '\n'
	return stStartOfLine
}

// skipRun skips the lines after a skipped sample line that start with the
// same name, in one tight loop: most of a page is runs of one family. It
// stops, leaving the line to the states, at anything else (a blank
// start, the end of input without a newline, the series cap).
func (p *textParser) skipRun(e *recentName) {
	// Locals, not p's fields, in the loop: it runs once per line of most
	// of the page.
	b, pos, name, n := p.b, p.pos, e.name, len(e.name)
	room := len(b) // lines the series cap still allows
	if p.maxSeries > 0 {
		room = p.maxSeries - p.samples
	}
	lines := 0
	for lines < room {
		rest := b[pos:]
		if len(rest) <= n || !isNameEnd(rest[n]) || string(rest[:n]) != string(name) {
			break
		}
		i := bytes.IndexByte(rest[n:], '\n')
		if i < 0 {
			break
		}
		lines++
		pos += n + i + 1
	}
	p.pos = pos
	p.line += lines
	p.samples += lines
	p.a.skipped += lines * e.series
}

// lineAt returns the rest of the line from the byte last read, without its newline.
func (p *textParser) lineAt() []byte {
	rest := p.b[p.pos-1:]
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		return rest[:i]
	}
	return rest
}

// keepSample counts a sample line, fingerprints the page's layout and
// decides whether the line is read (true) or skipped. p.c is the line's
// first byte after blanks.
func (p *textParser) keepSample() bool {
	p.samples++
	if p.maxSeries > 0 && p.samples > p.maxSeries {
		p.err = tooManySeries(p.maxSeries)
		return false
	}
	rest := p.b[p.pos-1:]
	p.nameLen = 0
	// The common case: the line repeats a recent line's name (a run of one
	// family, or a histogram's _bucket, _sum and _count).
	for k := range p.recent {
		i := (p.last + k) % len(p.recent) // the last line's entry first
		if p.last < 0 {
			i = k
		}
		e := &p.recent[i]
		if n := len(e.name); n > 0 && len(rest) > n && isNameEnd(rest[n]) && bytes.Equal(rest[:n], e.name) {
			if i != p.last {
				p.layout = p.layout*31 + e.hash
				p.last = i
			}
			if !e.wanted {
				p.a.skipped += e.series
			}
			p.nameLen = n
			return e.wanted
		}
	}
	raw := rest[:nameEnd(rest)]
	hash := maphash.Bytes(p.a.seed, raw)
	p.layout = p.layout*31 + hash
	// expfmt's name ends at the first byte that cannot continue it; a
	// quote or backslash there makes it a name only a full parse can read.
	name := rest[:plainNameEnd(rest)]
	odd := len(name) < len(rest) && (rest[len(name)] == '"' || rest[len(name)] == '\\')
	wanted := odd || p.wants(name)
	series := 0
	if wanted {
		p.sampled[*p.a.in.str(raw)] = true
	} else {
		series = p.skippedSeries(name)
		p.a.skipped += series
	}
	p.last = -1
	if len(name) == len(raw) && len(name) > 0 && !odd {
		p.recent[p.next] = recentName{name: name, hash: hash, wanted: wanted, series: series}
		p.last, p.next = p.next, (p.next+1)%len(p.recent)
		p.nameLen = len(name)
	}
	return wanted
}

// linePair is a simple pair of the last line.
type linePair struct {
	key  []byte // `name="value"`, a slice of the page
	pair *dto.LabelPair
}

// recentName is what keepSample decided for a name.
type recentName struct {
	name   []byte // a slice of the page
	hash   uint64 // for the layout fingerprint
	wanted bool
	series int // what a skipped line adds to model.Page.Skipped
}

// plainNameEnd is the length of the unquoted metric name at the start of line.
func plainNameEnd(line []byte) int {
	for i, c := range line {
		if !isPlainNameByte(c, true) {
			return i
		}
	}
	return len(line)
}

// nameEnd is the length of the name at the start of a sample line as the
// TYPE-after-samples leniency has always taken it: up to '{', a blank or
// the end of the line.
func nameEnd(line []byte) int {
	for i, c := range line {
		if isNameEnd(c) {
			return i
		}
	}
	return len(line)
}

func isNameEnd(c byte) bool { return c == '{' || c == ' ' || c == '\t' || c == '\n' }

// wants reports whether a line naming name may belong to a wanted family:
// the name or its histogram/summary base is wanted. A line without a name
// before '{' (a quoted name inside the braces) is always read.
func (p *textParser) wants(name []byte) bool {
	if p.wanted == nil || len(name) == 0 {
		return true
	}
	if p.wanted[string(name)] {
		return true
	}
	for _, suffix := range []string{"_bucket", "_count", "_sum"} {
		if base, ok := bytes.CutSuffix(name, []byte(suffix)); ok && p.wanted[string(base)] {
			return true
		}
	}
	return false
}

// skippedSeries is what a skipped sample line named name adds to the
// page's series as model.Page.Series counts them: a histogram or summary
// (known by its TYPE line) once, by its _count line, anything else once a
// line.
func (p *textParser) skippedSeries(name []byte) int {
	if p.composite[string(name)] {
		return 0 // a quantile, or a bucket named without _bucket
	}
	for _, suffix := range []string{"_bucket", "_count", "_sum"} {
		if base, ok := bytes.CutSuffix(name, []byte(suffix)); ok && p.composite[string(base)] {
			if suffix == "_count" {
				return 1
			}
			return 0
		}
	}
	return 1
}

// keepComment decides whether a comment line is read: a HELP or TYPE line
// for a wanted name that is not a repeat. A repeated HELP, a repeated
// TYPE and a TYPE after the name's samples are skipped, which is the
// leniency; other comments expfmt skips anyway.
func (p *textParser) keepComment() bool {
	line := p.lineAt()
	keyword, name, typ := commentFields(line[1:min(len(line), 513)])
	var seen map[string]bool
	switch string(keyword) {
	case "HELP":
		seen = p.helped
	case "TYPE":
		seen = p.typed
	default:
		return true // expfmt reads it as a plain comment, or fails on it
	}
	if bytes.IndexByte(name, '"') < 0 && !p.wants(name) {
		if string(keyword) == "TYPE" && isCompositeType(typ) {
			p.composite[*p.a.in.str(name)] = true
		}
		return false
	}
	drop := seen[string(name)] || (string(keyword) == "TYPE" && p.sampled[string(name)])
	seen[*p.a.in.str(name)] = true
	return !drop
}

// commentFields returns the first three fields of a comment after '#',
// split as strings.Fields splits (the old lenient pass did), without
// allocating; keyword and name are nil when there are fewer than two.
func commentFields(b []byte) (keyword, name, typ []byte) {
	var fields [3][]byte
	n := 0
	for i := 0; i < len(b) && n < len(fields); {
		for i < len(b) {
			space, size := spaceAt(b, i)
			if !space {
				break
			}
			i += size
		}
		start := i
		for i < len(b) {
			space, size := spaceAt(b, i)
			if space {
				break
			}
			i += size
		}
		if i > start {
			fields[n] = b[start:i]
			n++
		}
	}
	if n < 2 {
		return nil, nil, nil
	}
	return fields[0], fields[1], fields[2]
}

// asciiSpace are the ASCII bytes unicode.IsSpace accepts.
var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// spaceAt reports whether the character at b[i] is a space as
// unicode.IsSpace says, and its size: ASCII without decoding.
func spaceAt(b []byte, i int) (bool, int) {
	if c := b[i]; c < utf8.RuneSelf {
		return asciiSpace[c], 1
	}
	r, size := utf8.DecodeRune(b[i:])
	return unicode.IsSpace(r), size
}

// isCompositeType reports a TYPE whose samples make one series per label
// set across several lines.
func isCompositeType(t []byte) bool {
	for _, c := range []string{"histogram", "summary", "gauge_histogram", "gaugehistogram"} {
		if bytes.EqualFold(t, []byte(c)) {
			return true
		}
	}
	return false
}

func (p *textParser) startComment() textState {
	if p.skipBlankTab(); p.failed() {
		return stDone
	}
	if p.c == '\n' {
		return stStartOfLine
	}
	if p.readTokenUntilWhitespace(); p.failed() {
		return stDone
	}
	if p.c == '\n' {
		return stStartOfLine
	}
	help := string(p.tok) == "HELP"
	if !help && string(p.tok) != "TYPE" {
		return p.skipLine()
	}
	if p.skipBlankTab(); p.failed() {
		return stDone
	}
	if p.readTokenAsMetricName(); p.failed() {
		return stDone
	}
	if p.c == '\n' {
		return stStartOfLine
	}
	if !isBlankOrTab(p.c) {
		p.parseError("invalid metric name in comment")
		return stDone
	}
	if p.setOrCreateCurrentMF(); p.failed() {
		return stDone
	}
	if p.skipBlankTab(); p.failed() {
		return stDone
	}
	if p.c == '\n' {
		return stStartOfLine
	}
	if help {
		return stReadingHelp
	}
	return stReadingType
}

func (p *textParser) readingMetricName() textState {
	if n, start := p.nameLen, p.pos-1; n > 0 && start+n < len(p.b) && isValidMetricNameStart(p.b[start]) {
		// keepSample measured the plain name, followed by '{' or a blank.
		p.tok = p.b[start : start+n]
		p.pos, p.c = start+n+1, p.b[start+n]
	} else if p.readTokenAsMetricName(); p.failed() {
		return stDone
	}
	if len(p.tok) == 0 {
		p.parseError("invalid metric name")
		return stDone
	}
	if p.setOrCreateCurrentMF(); p.failed() {
		return stDone
	}
	if !p.mf.typed {
		p.mf.typ, p.mf.typed = dto.MetricType_UNTYPED, true
	}
	p.haveMetric = true
	if p.skipBlankTabIfCurrentBlankTab(); p.failed() {
		return stDone
	}
	return stReadingLabels
}

// mfType is expfmt's currentMF.GetType(): COUNTER while there is none.
func (p *textParser) mfType() dto.MetricType {
	if p.mf == nil {
		return dto.MetricType_COUNTER
	}
	return p.mf.typ
}

func (p *textParser) mfName() string {
	if p.mf == nil {
		return ""
	}
	return *p.mf.name
}

func isHistogramType(t dto.MetricType) bool {
	return t == dto.MetricType_HISTOGRAM || t == dto.MetricType_GAUGE_HISTOGRAM
}

func (p *textParser) readingLabels() textState {
	if t := p.mfType(); t == dto.MetricType_SUMMARY || isHistogramType(t) {
		p.cur = p.cur[:0]
		p.curName = p.mf.name
		p.quantile = math.NaN()
		p.bucket = math.NaN()
	}
	if p.c != '{' {
		return stReadingValue
	}
	return stStartLabelName
}

func (p *textParser) startLabelName() textState {
	if p.skipBlankTab(); p.failed() {
		return stDone
	}
	if p.c == '}' {
		if !p.haveMetric {
			p.parseError("invalid metric name")
			return stDone
		}
		if p.skipBlankTab(); p.failed() {
			return stDone
		}
		return stReadingValue
	}
	if pair, end := p.simplePair(); pair != nil {
		if !p.addLabel(*pair.Name, pair) {
			return stDone
		}
		p.pos, p.c = end, '"'
		return p.afterLabelValue(pair)
	}
	if p.readTokenAsLabelName(); p.failed() {
		return stDone
	}
	if len(p.tok) == 0 {
		p.parseError(fmt.Sprintf("invalid label name for metric %q", p.mfName()))
		return stDone
	}
	if p.skipBlankTabIfCurrentBlankTab(); p.failed() {
		return stDone
	}
	if p.c != '=' {
		if p.inBraces {
			if p.inBracesPresent {
				p.parseError(fmt.Sprintf("multiple metric names for metric %q", p.mfName()))
				return stDone
			}
			switch p.c {
			case ',':
				if p.setOrCreateCurrentMF(); p.failed() {
					return stDone
				}
				if !p.mf.typed {
					p.mf.typ, p.mf.typed = dto.MetricType_UNTYPED, true
				}
				p.haveMetric = true
				p.inBracesPresent = true
				return stStartLabelName
			case '}':
				if p.setOrCreateCurrentMF(); p.failed() {
					return stDone
				}
				if !p.mf.typed {
					p.mf.typ, p.mf.typed = dto.MetricType_UNTYPED, true
				}
				p.haveMetric = true
				if p.skipBlankTab(); p.failed() {
					return stDone
				}
				return stReadingValue
			default:
				p.parseError(fmt.Sprintf("unexpected end of metric name %q", p.c))
				return stDone
			}
		}
		p.parseError(fmt.Sprintf("expected '=' after label name, found %q", p.c))
		return stDone
	}
	name := p.tok
	if string(name) == model.MetricNameLabel {
		p.parseError(fmt.Sprintf("label name %q is reserved", model.MetricNameLabel))
		return stDone
	}
	if !p.scheme.IsValidLabelName(unsafeString(name)) {
		p.parseError(fmt.Sprintf("invalid label name %q", name))
		return stDone
	}
	p.pn = append(p.pn[:0], name...)
	if !p.addLabel(unsafeString(name), nil) {
		return stDone
	}
	return stStartLabelValue
}

// addLabel appends the line's next pair (nil: its value is still to be
// read) unless it is a summary's quantile or a histogram's le, which are
// no labels; false on a duplicate name.
func (p *textParser) addLabel(name string, pair *dto.LabelPair) bool {
	t := p.mfType()
	if (t == dto.MetricType_SUMMARY && name == model.QuantileLabel) ||
		(isHistogramType(t) && name == model.BucketLabel) {
		return true
	}
	if p.hasLabel(name) {
		p.parseError(fmt.Sprintf("duplicate label names for metric %q", p.mfName()))
		return false
	}
	p.labels = append(p.labels, pair)
	p.pending = pair == nil
	return true
}

// simplePair reads a label pair written the usual way, name="value" with a
// plain name and no escape, from the interner by its bytes, so a page
// like the last costs one map lookup per label; it returns the pair and
// the index after its closing quote, or nil when the pair is not simple
// or not valid (then the byte-wise states read it, and fail as expfmt).
func (p *textParser) simplePair() (*dto.LabelPair, int) {
	b := p.b
	start := p.pos - 1
	i := start
	for i < len(b) && plainName[b[i]] {
		i++
	}
	if i == start || b[start] <= '9' || i+1 >= len(b) || b[i] != '=' || b[i+1] != '"' {
		return nil, 0
	}
	nameEnd, valueStart := i, i+2
	j := valueStart
	for short := min(j+16, len(b)); j < short && b[j] != '"'; j++ {
		if b[j] == '\\' || b[j] == '\n' {
			return nil, 0
		}
	}
	if j == len(b) {
		return nil, 0
	}
	if b[j] != '"' {
		if j = quoteEnd(b, j); j < 0 {
			return nil, 0
		}
	}
	end := j + 1
	key := b[start:end]
	k := p.pairIndex
	p.pairIndex++
	if k < len(p.linePairs) && bytes.Equal(p.linePairs[k].key, key) {
		return p.linePairs[k].pair, end
	}
	pair, ok := p.a.in.raw[string(key)]
	if !ok {
		if pair = p.newSimplePair(start, nameEnd, valueStart, end); pair == nil {
			return nil, 0
		}
		p.a.in.raw[string(key)] = pair
		p.a.in.n++
	}
	if k < len(p.linePairs) {
		p.linePairs[k].key, p.linePairs[k].pair = key, pair
	}
	return pair, end
}

// quoteEnd returns the index of the quote that closes a long label value
// (Envoy's cluster names) read up to b[i], or -1 when none follows or the
// value has an escape or a newline before it: memchr-speed scans take
// several times fewer instructions a byte than simplePair's loop.
func quoteEnd(b []byte, i int) int {
	j := bytes.IndexByte(b[i:], '"')
	if j < 0 {
		return -1
	}
	if value := b[i : i+j]; bytes.IndexByte(value, '\\') >= 0 || bytes.IndexByte(value, '\n') >= 0 {
		return -1
	}
	return i + j
}

// newSimplePair checks and interns a simple pair not seen before; nil
// when it is not valid.
func (p *textParser) newSimplePair(start, nameEnd, valueStart, end int) *dto.LabelPair {
	name, value := p.b[start:nameEnd], p.b[valueStart:end-1]
	if string(name) == model.MetricNameLabel || !p.scheme.IsValidLabelName(unsafeString(name)) || !utf8.Valid(value) {
		return nil
	}
	return p.a.in.pair(name, value)
}

// hasLabel reports whether the line's pairs already name name.
func (p *textParser) hasLabel(name string) bool {
	if len(p.labels) < manyLabels {
		for _, l := range p.labels {
			if l != nil && *l.Name == name {
				return true
			}
		}
		return false
	}
	// A hostile line's thousands of labels would make the scan quadratic.
	if len(p.names) == 0 {
		for _, l := range p.labels {
			p.names[*l.Name] = true // no pair is pending: the last value was read
		}
	}
	if p.names[name] {
		return true
	}
	p.names[strings.Clone(name)] = true
	return false
}

func (p *textParser) startLabelValue() textState {
	if p.skipBlankTab(); p.failed() {
		return stDone
	}
	if p.c != '"' {
		p.parseError(fmt.Sprintf("expected '\"' at start of label value, found %q", p.c))
		return stDone
	}
	if p.readTokenAsLabelValue(); p.failed() {
		return stDone
	}
	value := p.tok
	if !utf8.Valid(value) {
		p.parseError(fmt.Sprintf("invalid label value %q", value))
		return stDone
	}
	pair := p.a.in.pair(p.pn, value)
	if p.pending {
		p.labels[len(p.labels)-1] = pair
		p.pending = false
	}
	return p.afterLabelValue(pair)
}

// afterLabelValue is the rest of expfmt's startLabelValue once the pair is
// read: a quantile or le bound is parsed, a summary's or histogram's other
// labels join its signature, then ',' or '}' must follow.
func (p *textParser) afterLabelValue(pair *dto.LabelPair) textState {
	value := *pair.Value
	t := p.mfType()
	if t == dto.MetricType_SUMMARY {
		if *pair.Name == model.QuantileLabel {
			var err error
			if p.quantile, err = parseFloat(value); err != nil {
				p.parseError(fmt.Sprintf("expected float as value for 'quantile' label, got %q", value))
				return stDone
			}
		} else {
			p.setCur(pair)
		}
	}
	if isHistogramType(t) {
		if *pair.Name == model.BucketLabel {
			var err error
			if p.bucket, err = parseFloat(value); err != nil {
				p.parseError(fmt.Sprintf("expected float as value for 'le' label, got %q", value))
				return stDone
			}
		} else {
			p.setCur(pair)
		}
	}
	if p.skipBlankTab(); p.failed() {
		return stDone
	}
	switch p.c {
	case ',':
		return stStartLabelName
	case '}':
		if !p.haveMetric {
			p.parseError("invalid metric name")
			return stDone
		}
		if p.skipBlankTab(); p.failed() {
			return stDone
		}
		return stReadingValue
	default:
		p.parseError(fmt.Sprintf("unexpected end of label value %q", value))
		return stDone
	}
}

// setCur is expfmt's currentLabels[name] = value.
func (p *textParser) setCur(pair *dto.LabelPair) {
	for i, l := range p.cur {
		if l.Name == pair.Name {
			p.cur[i] = pair
			return
		}
	}
	p.cur = append(p.cur, pair)
}

// curSignature hashes expfmt's currentLabels, __name__ included,
// independently of order as model.LabelsToSignature does; the name and
// pairs are interned, so their addresses stand for their contents.
func (p *textParser) curSignature() uint64 {
	sum := mix(uint64(uintptr(unsafe.Pointer(p.curName))))
	for _, l := range p.cur {
		sum += pairHash(l)
	}
	return sum
}

// metric builds the line's metric with its pairs.
func (p *textParser) metric() *dto.Metric {
	m := p.a.metrics.get()
	if len(p.labels) > 0 {
		m.Label = p.a.pairPtrs.carve(len(p.labels), len(p.labels))
		copy(m.Label, p.labels)
	}
	return m
}

func (p *textParser) readingValue() textState {
	var m *dto.Metric
	switch t := p.mfType(); {
	case t == dto.MetricType_SUMMARY:
		sig := p.curSignature()
		if m = p.summaries.get(sig); m == nil {
			m = p.metric()
			p.summaries.put(sig, m)
			p.mf.metrics = append(p.mf.metrics, m)
		}
	case isHistogramType(t):
		sig := p.curSignature()
		if m = p.histograms.get(sig); m == nil {
			m = p.metric()
			p.histograms.put(sig, m)
			p.mf.metrics = append(p.mf.metrics, m)
		}
	default:
		m = p.metric()
		p.mf.metrics = append(p.mf.metrics, m)
	}
	p.labels = p.labels[:0]
	if len(p.names) > 0 {
		clear(p.names)
	}
	if p.readTokenUntilWhitespace(); p.failed() {
		return stDone
	}
	value, err := parseFloat(unsafeString(p.tok))
	if err != nil {
		p.parseError(fmt.Sprintf("expected float as value, got %q", p.tok))
		return stDone
	}
	s := p.a.slabs
	switch p.mfType() {
	case dto.MetricType_COUNTER:
		c := s.counters.get()
		c.Value = s.float(value)
		m.Counter = c
	case dto.MetricType_GAUGE:
		g := s.gauges.get()
		g.Value = s.float(value)
		m.Gauge = g
	case dto.MetricType_UNTYPED:
		u := s.untyped.get()
		u.Value = s.float(value)
		m.Untyped = u
	case dto.MetricType_SUMMARY:
		if m.Summary == nil {
			m.Summary = s.summaries.get()
		}
		switch {
		case p.summaryCount:
			m.Summary.SampleCount = s.uint(uint64(value))
		case p.summarySum:
			m.Summary.SampleSum = s.float(value)
		case !math.IsNaN(p.quantile):
			q := s.quantiles.get()
			q.Quantile, q.Value = s.float(p.quantile), s.float(value)
			m.Summary.Quantile = s.appendQuantile(m.Summary.Quantile, q)
		}
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		if m.Histogram == nil {
			m.Histogram = s.histograms.get()
		}
		h := m.Histogram
		switch {
		case p.histogramCount:
			if u := uint64(value); value == float64(u) {
				h.SampleCount = s.uint(u)
			} else {
				if value < 0 {
					p.parseError(fmt.Sprintf("negative count for histogram %q", p.mfName()))
					return stDone
				}
				h.SampleCountFloat = s.float(value)
			}
		case p.histogramSum:
			h.SampleSum = s.float(value)
		case !math.IsNaN(p.bucket):
			b := s.buckets.get()
			b.UpperBound = s.float(p.bucket)
			if u := uint64(value); value == float64(u) {
				b.CumulativeCount = s.uint(u)
			} else {
				if value < 0 {
					p.parseError(fmt.Sprintf("negative bucket population for histogram %q", p.mfName()))
					return stDone
				}
				b.CumulativeCountFloat = s.float(value)
			}
			h.Bucket = s.appendBucket(h.Bucket, b, p.a.widest)
		}
	}
	p.m = m
	if p.c == '\n' {
		return stStartOfLine
	}
	return stStartTimestamp
}

func (p *textParser) startTimestamp() textState {
	if p.skipBlankTab(); p.failed() {
		return stDone
	}
	if p.readTokenUntilWhitespace(); p.failed() {
		return stDone
	}
	ts, err := strconv.ParseInt(unsafeString(p.tok), 10, 64)
	if err != nil {
		p.parseError(fmt.Sprintf("expected integer as timestamp, got %q", p.tok))
		return stDone
	}
	p.m.TimestampMs = &ts
	if p.readTokenUntilNewline(false); p.failed() {
		return stDone
	}
	if len(p.tok) > 0 {
		p.parseError(fmt.Sprintf("spurious string after timestamp: %q", p.tok))
		return stDone
	}
	return stStartOfLine
}

func (p *textParser) readingHelp() textState {
	if p.mf.help != nil {
		p.parseError(fmt.Sprintf("second HELP line for metric name %q", p.mfName()))
		return stDone
	}
	if p.readTokenUntilNewline(true); p.failed() {
		return stDone
	}
	p.mf.help = p.a.in.str(p.tok)
	return stStartOfLine
}

func (p *textParser) readingType() textState {
	if p.mf.typed {
		p.parseError(fmt.Sprintf("second TYPE line for metric name %q, or TYPE reported after samples", p.mfName()))
		return stDone
	}
	if p.readTokenUntilNewline(false); p.failed() {
		return stDone
	}
	typ := strings.ToUpper(string(p.tok))
	t, ok := dto.MetricType_value[typ]
	if !ok {
		if typ != "GAUGEHISTOGRAM" {
			p.parseError(fmt.Sprintf("unknown metric type %q", p.tok))
			return stDone
		}
		t = int32(dto.MetricType_GAUGE_HISTOGRAM)
	}
	p.mf.typ, p.mf.typed = dto.MetricType(t), true
	return stStartOfLine
}

// readTokenUntilWhitespace: the token from the byte last read up to a
// blank, tab or newline, which is left in p.c.
func (p *textParser) readTokenUntilWhitespace() {
	start := p.pos - 1
	i := start
	for i < len(p.b) {
		if c := p.b[i]; c == ' ' || c == '\t' || c == '\n' {
			break
		}
		i++
	}
	if p.eof {
		p.tok = p.b[:0]
		return
	}
	p.tok = p.b[start:i]
	if i >= len(p.b) {
		p.pos, p.c, p.eof = len(p.b), 0, true
		return
	}
	p.pos, p.c = i+1, p.b[i]
}

// readTokenUntilNewline: the token from the byte last read up to a
// newline, resolving \\, \n and \" when escapes is set.
func (p *textParser) readTokenUntilNewline(escapes bool) {
	p.buf = p.buf[:0]
	escaped := false
	for !p.failed() {
		if escapes && escaped {
			switch p.c {
			case '\\':
				p.buf = append(p.buf, '\\')
			case 'n':
				p.buf = append(p.buf, '\n')
			case '"':
				p.buf = append(p.buf, '"')
			default:
				p.parseError(fmt.Sprintf("invalid escape sequence '\\%c'", p.c))
				return
			}
			escaped = false
		} else {
			switch p.c {
			case '\n':
				p.tok = p.buf
				return
			case '\\':
				escaped = true
			default:
				p.buf = append(p.buf, p.c)
			}
		}
		p.read()
	}
	p.tok = p.buf
}

func isValidLabelNameStart(b byte) bool {
	return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || b == '_' || b == '"'
}

// isValidLabelNameContinuation is expfmt's: inside quotes every byte
// continues (expfmt converts the byte to a rune, always valid UTF-8).
func isValidLabelNameContinuation(b byte, quoted bool) bool {
	return isValidLabelNameStart(b) || (b >= '0' && b <= '9') || quoted
}

func isValidMetricNameStart(b byte) bool { return isValidLabelNameStart(b) || b == ':' }

func isValidMetricNameContinuation(b byte, quoted bool) bool {
	return isValidLabelNameContinuation(b, quoted) || b == ':'
}

// readTokenAsMetricName and readTokenAsLabelName read a name, quoted
// (UTF-8, with escapes) or not, from the byte last read; the first byte
// after it is left in p.c.
func (p *textParser) readTokenAsMetricName() { p.readName(true) }

func (p *textParser) readTokenAsLabelName() { p.readName(false) }

func (p *textParser) readName(metric bool) {
	p.tok = p.b[:0]
	start := p.pos - 1
	if metric && !isValidMetricNameStart(p.c) || !metric && !isValidLabelNameStart(p.c) {
		return
	}
	// Fast path: an unquoted name of plain characters.
	if p.c != '"' {
		i := p.pos
		for i < len(p.b) && isPlainNameByte(p.b[i], metric) {
			i++
		}
		if i < len(p.b) && p.b[i] != '"' && p.b[i] != '\\' {
			p.tok = p.b[start:i]
			p.pos, p.c = i+1, p.b[i]
			return
		}
	}
	p.buf = p.buf[:0]
	quoted, escaped := false, false
	for !p.failed() {
		if escaped {
			switch p.c {
			case '\\':
				p.buf = append(p.buf, '\\')
			case 'n':
				p.buf = append(p.buf, '\n')
			case '"':
				p.buf = append(p.buf, '"')
			default:
				p.parseError(fmt.Sprintf("invalid escape sequence '\\%c'", p.c))
				p.tok = p.buf
				return
			}
			escaped = false
		} else {
			switch p.c {
			case '"':
				quoted = !quoted
				if !quoted {
					p.read()
					p.tok = p.buf
					return
				}
			case '\n':
				kind := "label"
				if metric {
					kind = "metric"
				}
				p.parseError(fmt.Sprintf("%s name %q contains unescaped new-line", kind, p.buf))
				p.tok = p.buf
				return
			case '\\':
				escaped = true
			default:
				p.buf = append(p.buf, p.c)
			}
		}
		p.read()
		if metric {
			if !isValidMetricNameContinuation(p.c, quoted) || (!quoted && p.c == ' ') {
				break
			}
		} else if !isValidLabelNameContinuation(p.c, quoted) || (!quoted && p.c == '=') {
			break
		}
	}
	p.tok = p.buf
}

// isPlainNameByte: a byte an unquoted name continues with, other than '"'.
func isPlainNameByte(b byte, metric bool) bool {
	return plainName[b] || (metric && b == ':')
}

// plainName marks the bytes of unquoted label names: [a-zA-Z0-9_].
var plainName = func() (t [256]bool) {
	for b := range 256 {
		t[b] = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || b == '_' || (b >= '0' && b <= '9')
	}
	return t
}()

// readTokenAsLabelValue reads a quoted label value from the byte after the
// opening quote; the closing quote is left in p.c.
func (p *textParser) readTokenAsLabelValue() {
	start := p.pos
	// Fast path: no escape before the closing quote.
	if i := bytes.IndexAny(p.b[start:], "\"\\\n"); i >= 0 && p.b[start+i] == '"' {
		p.tok = p.b[start : start+i]
		p.pos, p.c = start+i+1, '"'
		return
	}
	p.buf = p.buf[:0]
	escaped := false
	for {
		if p.read(); p.eof {
			return
		}
		if escaped {
			switch p.c {
			case '"', '\\':
				p.buf = append(p.buf, p.c)
			case 'n':
				p.buf = append(p.buf, '\n')
			default:
				p.parseError(fmt.Sprintf("invalid escape sequence '\\%c'", p.c))
				return
			}
			escaped = false
			continue
		}
		switch p.c {
		case '"':
			p.tok = p.buf
			return
		case '\n':
			p.parseError(fmt.Sprintf("label value %q contains unescaped new-line", p.buf))
			return
		case '\\':
			escaped = true
		default:
			p.buf = append(p.buf, p.c)
		}
	}
}

// setOrCreateCurrentMF finds or creates the family of the name in p.tok:
// the name itself, else the summary or histogram it is the _sum, _count
// (or _bucket) of.
func (p *textParser) setOrCreateCurrentMF() {
	name := p.tok
	if p.lastMF != nil && bytes.Equal(name, p.lastMFName) {
		p.mf = p.lastMF
		p.summaryCount, p.summarySum, p.histogramCount, p.histogramSum = p.lastMFFlags[0], p.lastMFFlags[1], p.lastMFFlags[2], p.lastMFFlags[3]
		return
	}
	p.resolveMF(name)
	if p.err == nil {
		p.lastMF, p.lastMFName = p.mf, append(p.lastMFName[:0], name...)
		p.lastMFFlags = [4]bool{p.summaryCount, p.summarySum, p.histogramCount, p.histogramSum}
	}
}

// resolveMF is expfmt's setOrCreateCurrentMF.
func (p *textParser) resolveMF(name []byte) {
	p.summaryCount, p.summarySum = false, false
	p.histogramCount, p.histogramSum = false, false
	if !p.scheme.IsValidMetricName(unsafeString(name)) {
		p.parseError(fmt.Sprintf("invalid metric name %q", name))
		return
	}
	if p.mf = p.a.byName[string(name)]; p.mf != nil {
		return
	}
	base := summaryMetricName(name)
	if p.mf = p.a.byName[string(base)]; p.mf != nil && p.mf.typ == dto.MetricType_SUMMARY {
		p.summaryCount = isCount(name)
		p.summarySum = isSum(name)
		return
	}
	base = histogramMetricName(name)
	if p.mf = p.a.byName[string(base)]; p.mf != nil && isHistogramType(p.mf.typ) {
		p.histogramCount = isCount(name)
		p.histogramSum = isSum(name)
		return
	}
	p.mf = p.a.family(name, p.wanted == nil || p.wanted[string(name)])
}

func isCount(name []byte) bool  { return len(name) > 6 && string(name[len(name)-6:]) == "_count" }
func isSum(name []byte) bool    { return len(name) > 4 && string(name[len(name)-4:]) == "_sum" }
func isBucket(name []byte) bool { return len(name) > 7 && string(name[len(name)-7:]) == "_bucket" }

func summaryMetricName(name []byte) []byte {
	switch {
	case isCount(name):
		return name[:len(name)-6]
	case isSum(name):
		return name[:len(name)-4]
	}
	return name
}

func histogramMetricName(name []byte) []byte {
	if isBucket(name) {
		return name[:len(name)-7]
	}
	return summaryMetricName(name)
}

// parseFloat is expfmt's: strconv.ParseFloat without p, P or _. Plain
// decimals of up to 15 digits, most sample values, are converted directly:
// an integer below 2⁵³ divided by a power of ten up to 10²² is correctly
// rounded, so the result is strconv's.
func parseFloat(s string) (float64, error) {
	var mant uint64
	digits, frac, dot, neg := 0, 0, false, false
	plain := len(s) > 0
	for i := 0; i < len(s) && plain; i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			mant = mant*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
		case c == '.' && !dot:
			dot = true
		case c == '-' && i == 0:
			neg = true
		default:
			plain = false
		}
	}
	if plain && digits > 0 && digits <= 15 {
		v := float64(mant) / pow10[frac]
		if neg {
			v = -v
		}
		return v, nil
	}
	if strings.ContainsAny(s, "pP_") {
		return 0, errors.New("unsupported character in float")
	}
	return strconv.ParseFloat(s, 64)
}

// pow10 are the powers of ten parseFloat divides by (exact in float64).
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// unsafeString views b as a string for a call that does not keep it.
func unsafeString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// normalizeHistogram is expfmt's: a histogram's counts are all integers or
// all floats.
func normalizeHistogram(h *dto.Histogram) {
	if h == nil {
		return
	}
	anyFloats := h.GetSampleCountFloat() != 0
	for _, b := range h.GetBucket() {
		anyFloats = anyFloats || b.GetCumulativeCountFloat() != 0
	}
	if !anyFloats {
		return
	}
	if h.GetSampleCountFloat() == 0 {
		v := float64(h.GetSampleCount())
		h.SampleCountFloat, h.SampleCount = &v, nil
	}
	for _, b := range h.GetBucket() {
		if b.GetCumulativeCountFloat() == 0 {
			v := float64(b.GetCumulativeCount())
			b.CumulativeCountFloat, b.CumulativeCount = &v, nil
		}
	}
}
