package kedascaler

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/credentials"
)

// pki is a CA with a server and a client certificate, written as PEM files.
type pki struct {
	dir                                      string
	caPool                                   *x509.CertPool
	caFile, srvCert, srvKey, cliCert, cliKey string
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	p := pki{dir: dir, caPool: x509.NewCertPool()}
	p.caPool.AddCert(ca)
	p.caFile = writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER)
	p.srvCert, p.srvKey = leaf(t, dir, "server", ca, caKey, x509.ExtKeyUsageServerAuth)
	p.cliCert, p.cliKey = leaf(t, dir, "client", ca, caKey, x509.ExtKeyUsageClientAuth)
	return p
}

func leaf(t *testing.T, dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, usage x509.ExtKeyUsage) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	return writePEM(t, dir, name+".pem", "CERTIFICATE", der), writePEM(t, dir, name+"-key.pem", "EC PRIVATE KEY", keyDER)
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
	return path
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
		"missing files":           {Cert: filepath.Join(p.dir, "nope.pem"), Key: p.srvKey},
		"client CA not PEM":       {Cert: p.srvCert, Key: p.srvKey, ClientCA: p.srvKey},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := f.Credentials()
			require.ErrorIs(t, err, ErrTLSConfig)
		})
	}
}
