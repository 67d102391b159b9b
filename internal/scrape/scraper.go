// Package scrape reads metrics pages from targets over HTTP: a Scraper reads
// one target once, an HTTPSource scrapes many on their own tickers and hands
// every result, page or classified error, to the model as a model.Scrape. A
// PromSource (fleet mode) reads the same pages, one per instance, from a
// Prometheus server's HTTP API instead.
//
// A hostile or broken target costs its own row an error and nothing else:
// every scrape has a timeout, bodies are limited after decompression, pages
// are capped in series, and no input panics.
package scrape

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"

	commoncfg "github.com/prometheus/common/config"

	"resiltop/internal/model"
)

// Defaults for a Target's zero fields.
const (
	DefaultInterval   = time.Second
	DefaultBodyLimit  = 64 << 20
	DefaultMaxSeries  = 200_000
	maxDefaultTimeout = 10 * time.Second
)

// Accept asks for protobuf-delimited first, then text 0.0.4. Never
// OpenMetrics: expfmt's OpenMetrics path took 18 s on a 10k-series page
// (DESIGN.md §6).
const Accept = `application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3`

// userAgent names resiltop to the targets' access logs.
const userAgent = "resiltop"

// keepBuffer is the largest read buffer a Scraper keeps between scrapes;
// a larger one (a rare huge page) is left to the garbage collector.
const keepBuffer = 16 << 20

// Target is one metrics endpoint and how to scrape it. Zero fields take the
// defaults (see WithDefaults).
type Target struct {
	URL       string
	Interval  time.Duration // between scrape starts; default 1 s
	Timeout   time.Duration // per scrape, body included; default 80% of Interval, at most 10 s
	BodyLimit int64         // bytes after decompression; default 64 MiB
	MaxSeries int           // Prometheus series per page; default 200,000
	HTTP      commoncfg.HTTPClientConfig
	// Profiles are the profiles that may read the target's pages
	// (model.StoreOptions.Candidates). After a first full read, only the
	// families of those present on the page are decoded (see Reader);
	// none decodes every family.
	Profiles []model.Profile
}

// WithDefaults returns t with its zero fields set to the defaults.
func (t Target) WithDefaults() Target {
	if t.Interval <= 0 {
		t.Interval = DefaultInterval
	}
	if t.Timeout <= 0 {
		t.Timeout = min(t.Interval*8/10, maxDefaultTimeout)
	}
	if t.BodyLimit <= 0 {
		t.BodyLimit = DefaultBodyLimit
	}
	if t.MaxSeries <= 0 {
		t.MaxSeries = DefaultMaxSeries
	}
	return t
}

// Scraper scrapes one target. It is safe for concurrent use; concurrent
// calls of Scrape wait for each other.
type Scraper struct {
	target Target
	client *http.Client

	mu     sync.Mutex // held for a whole scrape: scrapes of one target never overlap
	buf    []byte     // read buffer reused between scrapes
	reader *Reader    // decodes pages, keeping what it learned between scrapes
}

// NewScraper checks t and builds its HTTP client (TLS, authorization, basic
// auth and proxy from t.HTTP, through prometheus/common/config).
func NewScraper(t Target) (*Scraper, error) {
	t = t.WithDefaults()
	u, err := url.Parse(t.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("target %q: not an http(s) URL", t.URL)
	}
	cfg := t.HTTP
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("target %s: %w", t.URL, err)
	}
	client, err := commoncfg.NewClientFromConfig(cfg, "resiltop", commoncfg.WithUserAgent(userAgent))
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", t.URL, err)
	}
	return &Scraper{target: t, client: client, reader: NewReader(t.Profiles)}, nil
}

// Target returns the target with its defaults filled in.
func (s *Scraper) Target() Target { return s.target }

// Scrape reads the target once, within its timeout, and returns the page or
// a classified *Error in model.Scrape.Err.
func (s *Scraper) Scrape(ctx context.Context) model.Scrape {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := time.Now()
	res := model.Scrape{Target: s.target.URL, Time: start}
	page, n, err := s.scrape(ctx)
	res.Duration = time.Since(start)
	res.Bytes = n
	if err != nil {
		res.Err = classify(err, s.target.Timeout)
		return res
	}
	res.Page = page
	return res
}

func (s *Scraper) scrape(ctx context.Context) (*model.Page, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.target.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.target.URL, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", Accept)
	// The transport's own gzip handling is off (common/config sets
	// DisableCompression) so that the body limit applies after
	// decompression, where a gzip bomb shows its real size.
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", fmt.Sprintf("%g", s.target.Timeout.Seconds()))
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, 0, &Error{Kind: KindHTTPStatus, Status: resp.StatusCode, Msg: "HTTP " + statusText(resp)}
	}
	body, err := s.read(resp)
	n := int64(len(body))
	if err != nil {
		return nil, n, err
	}
	// A body still arriving at the deadline is cut short, and over TLS the
	// cut can read as a clean end: what arrived is a prefix, not the page.
	if ctx.Err() != nil {
		return nil, n, ctx.Err()
	}
	page, err := s.reader.Read(body, resp.Header.Get("Content-Type"), s.target.MaxSeries)
	return page, n, err
}

// read reads the body, decompressing gzip, up to the body limit.
func (s *Scraper) read(resp *http.Response) ([]byte, error) {
	var r io.Reader = resp.Body
	gzipped := strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip")
	if gzipped {
		gz, _ := gzipReaders.Get().(*gzip.Reader)
		var err error
		if gz == nil {
			gz, err = gzip.NewReader(resp.Body)
		} else {
			err = gz.Reset(resp.Body)
		}
		if err != nil {
			return nil, gzipError(err)
		}
		defer gzipReaders.Put(gz)
		r = gz
	}
	if cap(s.buf) > keepBuffer {
		s.buf = nil
	}
	var err error
	s.buf, err = readLimited(r, s.buf[:0], s.target.BodyLimit)
	if err == nil {
		return s.buf, nil
	}
	if errors.Is(err, errTooLarge) {
		// The target backs off and its next page will be over the limit
		// too: keeping a buffer of the limit's size through the backoff
		// would pin up to the limit per oversized target.
		body := s.buf
		s.buf = nil
		return body, &Error{Kind: KindTooLarge, Msg: "body larger than " + formatBytes(s.target.BodyLimit) + " (raise --body-limit)"}
	}
	if gzipped {
		err = gzipError(err)
	}
	return s.buf, err
}

var errTooLarge = errors.New("body too large")

// readLimited appends r to b until EOF and fails with errTooLarge past limit
// bytes. Hand-rolled instead of bytes.Buffer.ReadFrom or io.ReadAll, which
// double their buffer and so could hold twice the limit; here capacity never
// exceeds limit+1 (plus slices.Grow's rounding).
func readLimited(r io.Reader, b []byte, limit int64) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			next := min(max(2*int64(cap(b)), 32<<10), limit+1)
			if next <= int64(len(b)) {
				return b, errTooLarge
			}
			b = slices.Grow(b, int(next)-len(b))
		}
		free := b[len(b):cap(b)]
		if room := limit + 1 - int64(len(b)); int64(len(free)) > room {
			free = free[:room]
		}
		n, err := r.Read(free)
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			return b[:limit], errTooLarge
		}
		if errors.Is(err, io.EOF) {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// gzipReaders are reused between scrapes of every target: a new
// gzip.Reader allocates its 32 KiB window and tables, 40 MB a second at
// 1,000 targets, which the GC then had to chase. A pool rather than one
// per target holds as many as scrapes run at once, not one per target.
// They are klauspost/compress's, already a dependency (recordings use its
// S2): it inflates a 12k-series protobuf page in 0.65–0.7× the time of
// compress/gzip, and gzip is a tenth of the CPU at 1,000 targets.
var gzipReaders sync.Pool

// gzipError names a broken gzip stream as a parse error; transport errors
// while reading (timeouts, resets) are left to classify.
func gzipError(err error) error {
	var corrupt flate.CorruptInputError
	if errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) || errors.As(err, &corrupt) ||
		errors.Is(err, io.ErrUnexpectedEOF) {
		return &Error{Kind: KindParse, Msg: "parse error: broken gzip body: " + err.Error(), Err: err}
	}
	return err
}

func statusText(resp *http.Response) string {
	if t := http.StatusText(resp.StatusCode); t != "" {
		return fmt.Sprintf("%d %s", resp.StatusCode, t)
	}
	return resp.Status
}

// formatBytes writes a byte count in the unit a user would type (64 MiB).
func formatBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
