package flink

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testPKI is a CA with one server and one client certificate, written as
// PEM files into a temporary directory.
type testPKI struct {
	caFile, certFile, keyFile string
	pool                      *x509.CertPool
	server                    tls.Certificate
}

func newTestPKI(t *testing.T) testPKI {
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
	issue := func(serial int64, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "localhost"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature,
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		require.NoError(t, err)
		return der, key
	}
	writePEM := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
		return p
	}
	keyDER := func(k *ecdsa.PrivateKey) []byte {
		b, err := x509.MarshalECPrivateKey(k)
		require.NoError(t, err)
		return b
	}
	srvDER, srvKey := issue(2, x509.ExtKeyUsageServerAuth)
	cliDER, cliKey := issue(3, x509.ExtKeyUsageClientAuth)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return testPKI{
		caFile:   writePEM("ca.pem", "CERTIFICATE", caDER),
		certFile: writePEM("client.pem", "CERTIFICATE", cliDER),
		keyFile:  writePEM("client-key.pem", "EC PRIVATE KEY", keyDER(cliKey)),
		pool:     pool,
		server:   tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey},
	}
}

// authServer is a TLS JobManager that demands a client certificate from the
// test CA and the given Authorization check.
func authServer(t *testing.T, pki testPKI, authorized func(*http.Request) bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !authorized(r) {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"errors":["Unauthorized"]}`)
			return
		}
		_, _ = io.WriteString(w, `{"taskmanagers":2,"slots-total":8,"slots-available":2,"flink-version":"1.18.1"}`)
	}))
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{pki.server},
		ClientCAs:    pki.pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestTLSAndAuth(t *testing.T) {
	pki := newTestPKI(t)
	basic := func(r *http.Request) bool {
		u, p, ok := r.BasicAuth()
		return ok && u == "flink" && p == "s3cret"
	}
	bearer := func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer tok-1" }
	mtls := Options{CAFile: pki.caFile, CertFile: pki.certFile, KeyFile: pki.keyFile}
	with := func(o Options, f func(*Options)) Options { f(&o); return o }
	tests := []struct {
		name string
		auth func(*http.Request) bool
		opts Options
		want error
	}{
		{"basic auth", basic, with(mtls, func(o *Options) { o.Username, o.Password = "flink", "s3cret" }), nil},
		{"wrong password", basic, with(mtls, func(o *Options) { o.Username, o.Password = "flink", "nope" }), ErrUnauthorized},
		{"bearer token", bearer, with(mtls, func(o *Options) { o.BearerToken = "tok-1" }), nil},
		{"no client certificate", bearer, Options{CAFile: pki.caFile, BearerToken: "tok-1"}, ErrUnreachable},
		{"unknown CA", bearer, Options{BearerToken: "tok-1"}, ErrUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := authServer(t, pki, tt.auth)
			o, err := newTestClient(t, srv.URL, tt.opts).Overview(context.Background())
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
				return
			}
			require.NoError(t, err)
			require.Equal(t, 8, o.SlotsTotal)
			require.Equal(t, "1.18.1", o.FlinkVersion)
		})
	}
}
