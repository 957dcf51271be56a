package kedascaler

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"path/filepath"
	"testing"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/testpki"
	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/credentials"
)

// pki is a CA with a server and a client certificate, written as PEM files.
type pki struct {
	caPool                                   *x509.CertPool
	caFile, srvCert, srvKey, cliCert, cliKey string
}

func newPKI(t *testing.T) pki {
	t.Helper()
	ca := testpki.NewCA(t, "test")
	p := pki{caPool: ca.Pool(), caFile: ca.CAFile}
	p.srvCert, p.srvKey = ca.Issue("server", true)
	p.cliCert, p.cliKey = ca.Issue("client", false)
	return p
}

func (p pki) client(t *testing.T, withCert bool) credentials.TransportCredentials {
	t.Helper()
	cfg := &tls.Config{RootCAs: p.caPool, MinVersion: tls.VersionTLS12}
	if withCert {
		c, err := tls.LoadX509KeyPair(p.cliCert, p.cliKey)
		require.NoError(t, err)
		cfg.Certificates = []tls.Certificate{c}
	}
	return credentials.NewTLS(cfg)
}

func TestTLS(t *testing.T) {
	p := newPKI(t)
	tests := []struct {
		name       string
		files      TLSFiles
		clientCert bool
		wantOK     bool
	}{
		{"TLS", TLSFiles{Cert: p.srvCert, Key: p.srvKey}, false, true},
		{"mutual TLS with a client certificate", TLSFiles{Cert: p.srvCert, Key: p.srvKey, ClientCA: p.caFile}, true, true},
		{"mutual TLS refuses a client without one", TLSFiles{Cert: p.srvCert, Key: p.srvKey, ClientCA: p.caFile}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			creds, err := tt.files.Credentials()
			require.NoError(t, err)
			h := startHarness(t, creds)
			h.put(t, Desired{Cluster: "prod", JobID: jobID, JobName: "orders", TaskManagers: 4, Running: true})
			c := dial(t, h.addr, p.client(t, tt.clientCert))
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if !tt.wantOK {
				_, err := c.IsActive(ctx, ref("prod", jobID))
				require.Error(t, err)
				return
			}
			eventually(t, 4.0, func() (float64, error) {
				m, err := c.GetMetrics(ctx, &externalscaler.GetMetricsRequest{ScaledObjectRef: ref("prod", jobID), MetricName: MetricName})
				if err != nil {
					return 0, err
				}
				return m.MetricValues[0].MetricValueFloat, nil
			})
		})
	}
}

func TestTLSFilesInvalid(t *testing.T) {
	p := newPKI(t)
	for name, f := range map[string]TLSFiles{
		"key without certificate": {Key: p.srvKey},
		"client CA alone":         {ClientCA: p.caFile},
		"missing files":           {Cert: filepath.Join(t.TempDir(), "nope.pem"), Key: p.srvKey},
		"client CA not PEM":       {Cert: p.srvCert, Key: p.srvKey, ClientCA: p.srvKey},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := f.Credentials()
			require.ErrorIs(t, err, ErrTLSConfig)
		})
	}
}
