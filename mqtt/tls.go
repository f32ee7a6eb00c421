package mqtt

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
)

// The file names in a certificate directory, as the Service Manager uses them.
const (
	CAFile   = "ca_public_certificate.pem"
	CertFile = "public_certificate.pem"
	KeyFile  = "private_key.pem"
)

// LoadTLS builds a client TLS configuration from dir: the CA that signed the
// broker's certificate and this client's certificate and key. A missing or
// unreadable file is an error that names it. The broker's certificate is
// always verified.
func LoadTLS(dir string) (*tls.Config, error) {
	read := func(name string) ([]byte, error) {
		p := filepath.Join(dir, name)
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("tls: read %s: %w", p, err)
		}
		return b, nil
	}
	caPEM, err := read(CAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("tls: %s: no PEM certificate found", filepath.Join(dir, CAFile))
	}
	certPEM, err := read(CertFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := read(KeyFile)
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("tls: %s and %s: %w", filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile), err)
	}
	return &tls.Config{
		RootCAs:      pool,
		Certificates: []tls.Certificate{pair},
		MinVersion:   tls.VersionTLS12,
	}, nil
}
