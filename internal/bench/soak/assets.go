package main

import (
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
)

// assets are the bodies and certificates every target shares, built once.
type assets struct {
	bodyLimit int64
	filler    []byte // one chunk of an oversized page
	bomb      []byte // gzip that inflates to twice the body limit
	explosion []byte // a text page with more series than the series limit
	goodTLS   *tls.Config
	badTLS    *tls.Config // a certificate no CA the scraper trusts signed
	caPEM     string      // the CA the scraper trusts
}

func newAssets(bodyLimit int64, maxSeries int) (*assets, error) {
	as := &assets{bodyLimit: bodyLimit}
	as.filler = []byte(strings.Repeat("# padding of an oversized page, a comment line of 64 bytes...\n", 1024))
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zero := make([]byte, 1<<20)
	for range 2 * bodyLimit >> 20 {
		_, _ = zw.Write(zero)
	}
	_ = zw.Close()
	as.bomb = bomb.Bytes()
	var page bytes.Buffer
	page.WriteString("# TYPE app_requests_total counter\n")
	for i := range maxSeries + 1000 {
		fmt.Fprintf(&page, "app_requests_total{user_id=\"u%07d\"} %d\n", i, i)
	}
	as.explosion = page.Bytes()
	ca, caKey, err := certificate("soak CA", nil, nil, true)
	if err != nil {
		return nil, err
	}
	good, goodKey, err := certificate("127.0.0.1", ca, caKey, false)
	if err != nil {
		return nil, err
	}
	bad, badKey, err := certificate("127.0.0.1", nil, nil, false)
	if err != nil {
		return nil, err
	}
	as.goodTLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{good.Raw}, PrivateKey: goodKey}}}
	as.badTLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{bad.Raw}, PrivateKey: badKey}}}
	as.caPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}))
	return as, nil
}

// certificate makes a P-256 certificate for 127.0.0.1 (or a CA), signed
// by parent, or by itself when parent is nil.
func certificate(cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	} else {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

// gzipped compresses b.
func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}
