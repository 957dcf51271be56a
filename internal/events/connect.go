package events

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultNATSURL is where every command looks for NATS unless told.
const DefaultNATSURL = "nats://127.0.0.1:4222"

// ConnOptions says how a function reaches NATS. Secrets are never logged.
type ConnOptions struct {
	URL string
	// Name identifies the connection in server monitoring.
	Name string
	// User and Password, or Token, authenticate with the server.
	User, Password, Token string
	// CredsFile is a JWT/NKey credentials file; NKeyFile a file holding an
	// NKey seed.
	CredsFile, NKeyFile string
	// CAFile verifies the server's TLS certificate; CertFile and KeyFile
	// present a client certificate.
	CAFile, CertFile, KeyFile string
}

// ErrConnect wraps failures to reach or authenticate with NATS.
var ErrConnect = errors.New("cannot connect to NATS")

// Connect dials NATS with opts, reconnecting forever after the first
// success, and returns the connection and its JetStream context.
func Connect(opts ConnOptions) (*nats.Conn, jetstream.JetStream, error) {
	if opts.URL == "" {
		opts.URL = DefaultNATSURL
	}
	no, err := opts.natsOptions()
	if err != nil {
		return nil, nil, err
	}
	nc, err := nats.Connect(opts.URL, no...)
	if err != nil {
		return nil, nil, fmt.Errorf("%w at %s: %w", ErrConnect, redactURLs(opts.URL), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("%w: jetstream: %w", ErrConnect, err)
	}
	return nc, js, nil
}

func (o ConnOptions) natsOptions() ([]nats.Option, error) {
	no := []nats.Option{
		nats.Name(o.Name), nats.MaxReconnects(-1), nats.ReconnectWait(500 * time.Millisecond),
		nats.Timeout(5 * time.Second), nats.RetryOnFailedConnect(false),
	}
	switch {
	case o.CredsFile != "":
		no = append(no, nats.UserCredentials(o.CredsFile))
	case o.NKeyFile != "":
		opt, err := nats.NkeyOptionFromSeed(o.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: nkey seed file: %w", ErrConnect, err)
		}
		no = append(no, opt)
	case o.User != "":
		no = append(no, nats.UserInfo(o.User, o.Password))
	case o.Token != "":
		no = append(no, nats.Token(o.Token))
	}
	if o.CAFile != "" {
		no = append(no, nats.RootCAs(o.CAFile))
	}
	if o.CertFile != "" || o.KeyFile != "" {
		no = append(no, nats.ClientCert(o.CertFile, o.KeyFile))
	}
	return no, nil
}

// redactURLs hides the passwords of a comma-separated NATS URL list.
func redactURLs(list string) string {
	urls := strings.Split(list, ",")
	for i, s := range urls {
		if u, err := url.Parse(strings.TrimSpace(s)); err == nil {
			urls[i] = u.Redacted()
		} else {
			urls[i] = "(unparsable URL)"
		}
	}
	return strings.Join(urls, ",")
}
