package kedascaler

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"google.golang.org/grpc/credentials"
)

// ErrTLSConfig is returned for unusable TLS settings or files.
var ErrTLSConfig = errors.New("keda scaler TLS")

// TLSFiles are the scaler's TLS settings. Cert and Key (both or neither)
// turn TLS on; ClientCA additionally requires and verifies client
// certificates (mutual TLS) and needs Cert and Key.
type TLSFiles struct {
	Cert     string
	Key      string
	ClientCA string
}

// Enabled reports whether any TLS file is set.
func (f TLSFiles) Enabled() bool { return f.Cert != "" || f.Key != "" || f.ClientCA != "" }

// Credentials loads the files into gRPC server credentials; nil, nil when
// no file is set. Errors wrap ErrTLSConfig.
func (f TLSFiles) Credentials() (credentials.TransportCredentials, error) {
	if !f.Enabled() {
		return nil, nil
	}
	if f.Cert == "" || f.Key == "" {
		return nil, fmt.Errorf("%w: a certificate and its key are both required (client CA alone is not enough)", ErrTLSConfig)
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, fmt.Errorf("%w: load key pair: %w", ErrTLSConfig, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if f.ClientCA != "" {
		pem, err := os.ReadFile(f.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("%w: client CA: %w", ErrTLSConfig, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: client CA %s holds no PEM certificate", ErrTLSConfig, f.ClientCA)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return credentials.NewTLS(cfg), nil
}
