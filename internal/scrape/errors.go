package scrape

import (
	"mime"

	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/common/expfmt"
)

// Kind classifies a failed scrape so callers can branch on it.
type Kind string

// The kinds of scrape failure.
const (
	KindRefused       Kind = "refused"         // nothing listens at the target's port
	KindTimeout       Kind = "timeout"         // no complete answer within the scrape timeout
	KindHTTPStatus    Kind = "http_status"     // the target answered with a non-2xx status
	KindTooLarge      Kind = "too_large"       // the (decompressed) body exceeds the body limit
	KindTooManySeries Kind = "too_many_series" // the page exceeds the series cap
	KindParse         Kind = "parse"           // the body is not a metrics page resiltop can read
	KindTLS           Kind = "tls"             // TLS handshake or certificate problem
	KindOther         Kind = "other"           // anything else (DNS, reset connection, bad config…)
)

// Error is a classified scrape failure. Its Error() is a plain sentence fit
// for a table cell ("connection refused", "timeout after 800ms",
// "HTTP 500 Internal Server Error", "parse error: line 3: …").
type Error struct {
	Kind   Kind
	Msg    string
	Status int   // the HTTP status code for KindHTTPStatus
	Line   int   // the 1-based line of a text parse error; 0 when unknown
	Err    error // the underlying error, if any
}

// Error returns the plain sentence.
func (e *Error) Error() string { return e.Msg }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// classify turns a transport or body-read error into an *Error. timeout is
// the scrape timeout, named in the message.
func classify(err error, timeout time.Duration) *Error {
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return &Error{Kind: KindTimeout, Msg: "timeout after " + timeout.String(), Err: err}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &Error{Kind: KindRefused, Msg: "connection refused", Err: err}
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		// net/http replaces the TLS record error with this plain one.
		return &Error{Kind: KindTLS, Msg: "TLS: the target speaks plain HTTP (use http://)", Err: err}
	case isTLS(err):
		return &Error{Kind: KindTLS, Msg: "TLS: " + innermost(err).Error(), Err: err}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return &Error{Kind: KindOther, Msg: fmt.Sprintf("cannot resolve %s: %s", dnsErr.Name, dnsErr.Err), Err: err}
	}
	return &Error{Kind: KindOther, Msg: innermost(err).Error(), Err: err}
}

// isTLS reports whether err comes from the TLS layer: an untrusted or
// mismatched certificate, a failed handshake, or a server that does not
// speak TLS at all.
func isTLS(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
		alert    tls.AlertError
	)
	return errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &record) || errors.As(err, &alert)
}

// innermost strips *url.Error's "Get \"http://…\": " prefix, which repeats
// the target the caller already shows beside the message.
func innermost(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func tooManySeries(limit int) *Error {
	return &Error{Kind: KindTooManySeries, Msg: fmt.Sprintf("more than %d series (raise --max-series)", limit)}
}

// parseError words a decoder error, naming the line for text and the
// content type when the target sent something that is not a metrics format.
func parseError(err error, contentType string) *Error {
	e := &Error{Kind: KindParse, Err: err}
	var pe expfmt.ParseError
	if errors.As(err, &pe) {
		e.Line = pe.Line
		e.Msg = fmt.Sprintf("parse error: line %d: %s", pe.Line, pe.Msg)
	} else {
		e.Msg = "parse error: " + err.Error()
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt != "" && mt != "text/plain" && mt != expfmt.ProtoType && mt != expfmt.OpenMetricsType {
		e.Msg += fmt.Sprintf(" (the target sent %s, not a metrics page)", mt)
	}
	return e
}
