package uplink

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
)

// tlsConfig builds the client TLS config: the CA in ca_file (or the system
// roots) and the client certificate for mutual TLS. Verification is never
// switched off.
func tlsConfig(c Config) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, configErr("ca_file", "%v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, configErr("ca_file", "%s: no PEM certificate in it", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, configErr("cert_file", "load %s and %s: %v", c.CertFile, c.KeyFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// connectError names the cause of a failed connect in the operator's
// terms: an untrusted broker certificate names the CA file.
func connectError(c Config, broker string, err error) error {
	var ua x509.UnknownAuthorityError
	var cv *tls.CertificateVerificationError
	var hn x509.HostnameError
	msg := err.Error()
	ca := "the system roots"
	if c.CAFile != "" {
		ca = "the CA in " + c.CAFile + " (mqtt.ca_file)"
	}
	switch {
	case errors.As(err, &hn) || strings.Contains(msg, "x509: certificate is valid for"):
		return fmt.Errorf("uplink: connect %s: %w: its certificate does not name this host: %v", broker, ErrUntrusted, err)
	case errors.As(err, &ua) || errors.As(err, &cv) || strings.Contains(msg, "certificate signed by unknown authority"):
		return fmt.Errorf("uplink: connect %s: %w: the broker's certificate is not signed by %s: %v", broker, ErrUntrusted, ca, err)
	case strings.Contains(msg, "not Authorized") || strings.Contains(msg, "bad user name or password"):
		return fmt.Errorf("uplink: connect %s: the broker refused the credentials (mqtt.username/password): %v", broker, err)
	}
	return fmt.Errorf("uplink: connect %s: %w", broker, err)
}
