package flink

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/flinkscaler/flinkscaler/internal/testpki"
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
	ca := testpki.NewCA(t, "test")
	srvCert, srvKey := ca.Issue("localhost", true)
	server, err := tls.LoadX509KeyPair(srvCert, srvKey)
	require.NoError(t, err)
	p := testPKI{caFile: ca.CAFile, pool: ca.Pool(), server: server}
	p.certFile, p.keyFile = ca.Issue("client", false)
	return p
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
