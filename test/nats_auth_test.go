package test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/decide/decider"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/natsserver"
	"github.com/flinkscaler/flinkscaler/internal/testpki"
)

// authMode is one way a server admits clients, the options a function
// connects with, and options that must be refused.
type authMode struct {
	name    string
	server  func(t *testing.T) (*server.Options, string) // options and URL scheme
	good    func(t *testing.T) events.ConnOptions
	refused events.ConnOptions
}

// TestNATSAuthModes starts decide (decider.Run, as `flinkscaler decide`
// does) against servers that require user/password, a token, an NKey, a
// creds file (operator JWTs), TLS with a private CA and mutual TLS: it
// connects and provisions with the right credentials and fails with
// events.ErrConnect with wrong or missing ones.
func TestNATSAuthModes(t *testing.T) {
	dir := t.TempDir()
	ca, clientCA := testpki.NewCA(t, "nats"), testpki.NewCA(t, "clients")
	nkeySeed, nkeyPub := userNKey(t, dir)
	opOpts, credsFile := operatorMode(t, dir)
	clientCert, clientKey := clientCA.Issue("decide", false)
	modes := []authMode{
		{name: "user-password",
			server: func(*testing.T) (*server.Options, string) {
				return &server.Options{Users: []*server.User{{Username: "decide", Password: "pw-9f2c"}}}, "nats"
			},
			good:    func(*testing.T) events.ConnOptions { return events.ConnOptions{User: "decide", Password: "pw-9f2c"} },
			refused: events.ConnOptions{User: "decide", Password: "wrong"}},
		{name: "token",
			server:  func(*testing.T) (*server.Options, string) { return &server.Options{Authorization: "tok-51ab"}, "nats" },
			good:    func(*testing.T) events.ConnOptions { return events.ConnOptions{Token: "tok-51ab"} },
			refused: events.ConnOptions{Token: "tok-wrong"}},
		{name: "nkey",
			server: func(*testing.T) (*server.Options, string) {
				return &server.Options{Nkeys: []*server.NkeyUser{{Nkey: nkeyPub}}}, "nats"
			},
			good:    func(*testing.T) events.ConnOptions { return events.ConnOptions{NKeyFile: nkeySeed} },
			refused: events.ConnOptions{User: "decide", Password: "none"}},
		{name: "creds-file",
			server:  func(*testing.T) (*server.Options, string) { return opOpts, "nats" },
			good:    func(*testing.T) events.ConnOptions { return events.ConnOptions{CredsFile: credsFile} },
			refused: events.ConnOptions{NKeyFile: nkeySeed}},
		{name: "tls-ca",
			server: func(t *testing.T) (*server.Options, string) {
				return &server.Options{TLS: true, TLSConfig: ca.ServerTLS("nats", nil), TLSTimeout: 2}, "tls"
			},
			good:    func(*testing.T) events.ConnOptions { return events.ConnOptions{CAFile: ca.CAFile} },
			refused: events.ConnOptions{CAFile: clientCA.CAFile}},
		{name: "mutual-tls",
			server: func(t *testing.T) (*server.Options, string) {
				return &server.Options{TLS: true, TLSVerify: true, TLSConfig: ca.ServerTLS("nats", clientCA), TLSTimeout: 2}, "tls"
			},
			good: func(*testing.T) events.ConnOptions {
				return events.ConnOptions{CAFile: ca.CAFile, CertFile: clientCert, KeyFile: clientKey}
			},
			refused: events.ConnOptions{CAFile: ca.CAFile}},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			opts, scheme := m.server(t)
			srv, err := natsserver.Start(natsserver.Config{Options: opts, ServerName: "auth-" + m.name})
			require.NoError(t, err)
			t.Cleanup(srv.Shutdown)
			url := scheme + "://" + srv.Server().Addr().String()

			conn := m.good(t)
			conn.URL, conn.Name = url, "decide"
			cfg := decideConfig(t, url)
			cfg.NATS = conn
			nc, js, err := events.Connect(conn)
			require.NoError(t, err)
			t.Cleanup(nc.Close)
			// In operator mode the account's JetStream comes up shortly
			// after the server accepts connections.
			eventually(t, 60*time.Second, func() bool {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				_, err := js.AccountInfo(ctx)
				return err == nil
			}, "JetStream not enabled for the account over %s", m.name)
			p := startDecide(t, cfg, testLog(t, "decide"))
			eventually(t, 60*time.Second, func() bool {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				_, err := js.Consumer(ctx, events.StreamName, decider.Function)
				return err == nil
			}, "decide did not provision and consume over %s (Run: %v)", m.name, p.exited())
			// Stopping while the runner still sets up its consumer ends it
			// with the context's error; anything else is a failure.
			if err := p.stop(); !errors.Is(err, context.Canceled) {
				require.NoError(t, err)
			}

			bad := m.refused
			bad.URL = url
			cfg.NATS = bad
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err = decider.Run(ctx, cfg, testLog(t, "decide"))
			require.ErrorIs(t, err, events.ErrConnect, "decide with refused credentials")
			t.Logf("%s: connected and provisioned; refused credentials: %v", m.name, err)
		})
	}
}

// userNKey writes a user NKey seed file and returns it with the public key.
func userNKey(t *testing.T, dir string) (seedFile, public string) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	require.NoError(t, err)
	seed, err := kp.Seed()
	require.NoError(t, err)
	public, err = kp.PublicKey()
	require.NoError(t, err)
	seedFile = filepath.Join(dir, "decide.nk")
	require.NoError(t, os.WriteFile(seedFile, seed, 0o600))
	return seedFile, public
}

// operatorMode makes an operator, an account with JetStream and a user, and
// returns server options trusting the operator and the user's creds file.
func operatorMode(t *testing.T, dir string) (*server.Options, string) {
	t.Helper()
	okp, err := nkeys.CreateOperator()
	require.NoError(t, err)
	opub, err := okp.PublicKey()
	require.NoError(t, err)
	oc := jwt.NewOperatorClaims(opub)
	ojwt, err := oc.Encode(okp)
	require.NoError(t, err)
	oc, err = jwt.DecodeOperatorClaims(ojwt)
	require.NoError(t, err)

	akp, err := nkeys.CreateAccount()
	require.NoError(t, err)
	apub, err := akp.PublicKey()
	require.NoError(t, err)
	ac := jwt.NewAccountClaims(apub)
	ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
	ajwt, err := ac.Encode(okp)
	require.NoError(t, err)

	ukp, err := nkeys.CreateUser()
	require.NoError(t, err)
	upub, err := ukp.PublicKey()
	require.NoError(t, err)
	ujwt, err := jwt.NewUserClaims(upub).Encode(akp)
	require.NoError(t, err)
	useed, err := ukp.Seed()
	require.NoError(t, err)
	creds, err := jwt.FormatUserConfig(ujwt, useed)
	require.NoError(t, err)
	credsFile := filepath.Join(dir, "decide.creds")
	require.NoError(t, os.WriteFile(credsFile, creds, 0o600))

	// The server needs a system account of the operator's.
	skp, err := nkeys.CreateAccount()
	require.NoError(t, err)
	spub, err := skp.PublicKey()
	require.NoError(t, err)
	sjwt, err := jwt.NewAccountClaims(spub).Encode(okp)
	require.NoError(t, err)

	resolver := &server.MemAccResolver{}
	require.NoError(t, resolver.Store(apub, ajwt))
	require.NoError(t, resolver.Store(spub, sjwt))
	return &server.Options{TrustedOperators: []*jwt.OperatorClaims{oc}, AccountResolver: resolver, SystemAccount: spub}, credsFile
}
