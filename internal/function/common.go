package function

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// Default HTTP addresses (/metrics and the health checks) of the functions: distinct,
// so the three run side by side on one machine, and on loopback, so a local
// run exposes nothing. In a pod, pass --http-listen :PORT.
const (
	HTTPIngest  = "127.0.0.1:9102"
	HTTPDecide  = "127.0.0.1:9103"
	HTTPActuate = "127.0.0.1:9104"
)

// DefaultNATSWait is how long a function retries its first connection to
// NATS before it gives up.
const DefaultNATSWait = time.Minute

// Log formats.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// Common is what every function takes: how to reach NATS, the stream
// settings it applies at start-up, where it serves /metrics and its health,
// and how it logs.
type Common struct {
	NATS      events.ConnOptions
	NATSWait  time.Duration
	Provision events.ProvisionConfig
	// HTTPListen serves /metrics, /healthz, /readyz and /livez; empty serves
	// nothing.
	HTTPListen string
	Verbose    bool
	LogFormat  string
}

// Defaults returns the common defaults of function name with its HTTP
// address.
func Defaults(name, httpListen string) Common {
	return Common{
		NATS:     events.ConnOptions{URL: events.DefaultNATSURL, Name: "flinkscaler-" + name},
		NATSWait: DefaultNATSWait, HTTPListen: httpListen, LogFormat: FormatText,
	}
}

// Bind binds the common flags to fs with c's values as defaults.
func (c *Common) Bind(fs *flag.FlagSet) {
	o := &c.NATS
	fs.StringVar(&o.URL, "nats", o.URL, "NATS server URL (comma-separated for a cluster)")
	fs.StringVar(&o.CredsFile, "nats-creds", o.CredsFile, "NATS credentials file (JWT + NKey seed)")
	fs.StringVar(&o.NKeyFile, "nats-nkey", o.NKeyFile, "file with an NKey seed")
	fs.StringVar(&o.User, "nats-user", o.User, "NATS user; the password comes from FLINKSCALER_NATS_PASSWORD")
	fs.StringVar(&o.CAFile, "nats-ca", o.CAFile, "CA file to verify the NATS server's TLS certificate")
	fs.StringVar(&o.CertFile, "nats-cert", o.CertFile, "client certificate for NATS mutual TLS")
	fs.StringVar(&o.KeyFile, "nats-key", o.KeyFile, "client key for NATS mutual TLS")
	fs.DurationVar(&c.NATSWait, "nats-wait", c.NATSWait, "how long to retry the first connection to NATS, and the start-up JetStream calls (provisioning the stream and KV buckets, opening them) that JetStream does not answer in time or is not ready for, with backoff, before exiting; 0: one try")
	p := &c.Provision
	fs.IntVar(&p.Replicas, "stream-replicas", p.Replicas,
		"JetStream replicas of the FLINKSCALER stream and KV buckets (3 on a 3-node cluster); 0 keeps the existing, 1 on create")
	fs.DurationVar(&p.MaxAge, "stream-max-age", p.MaxAge, "how long events are kept; 0 keeps the existing, 24h on create")
	fs.Int64Var(&p.MaxBytes, "stream-max-bytes", p.MaxBytes, "bytes of events kept; 0 keeps the existing, 1 GiB on create")
	fs.StringVar(&c.HTTPListen, "http-listen", c.HTTPListen, "serve /metrics, /healthz, /readyz and /livez on ADDR (host:port); empty: off")
	fs.BoolVar(&c.Verbose, "v", c.Verbose, "verbose: debug logs")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: text or json")
}

// Problems reports every problem with the common settings, each with its
// flag name. It changes nothing.
func (c Common) Problems() []error {
	var errs []error
	bad := func(flagName, format string, args ...any) {
		errs = append(errs, fmt.Errorf("--%s: %s", flagName, fmt.Sprintf(format, args...)))
	}
	if c.NATS.URL == "" {
		bad("nats", "a NATS URL is required, e.g. %s", events.DefaultNATSURL)
	}
	if c.NATSWait < 0 {
		bad("nats-wait", "%s: want 0 or more", c.NATSWait)
	}
	if c.Provision.Replicas < 0 || c.Provision.Replicas > 5 {
		bad("stream-replicas", "%d: want 0 (keep) or 1 to 5", c.Provision.Replicas)
	}
	if c.Provision.MaxAge < 0 {
		bad("stream-max-age", "%s: want 0 or more", c.Provision.MaxAge)
	}
	if c.Provision.MaxBytes < 0 {
		bad("stream-max-bytes", "%d: want 0 or more", c.Provision.MaxBytes)
	}
	if c.HTTPListen != "" {
		if _, _, err := net.SplitHostPort(c.HTTPListen); err != nil {
			bad("http-listen", "%q is not host:port (e.g. 127.0.0.1:9102 or :9102); empty turns it off", c.HTTPListen)
		}
	}
	if c.LogFormat != FormatText && c.LogFormat != FormatJSON {
		bad("log-format", "%q is not text or json", c.LogFormat)
	}
	return errs
}

// Validate is Problems joined, nil when there are none.
func (c Common) Validate() error { return errors.Join(c.Problems()...) }

// Logger returns the function's logger on w: text or JSON, debug with -v,
// every line carrying function=name.
func (c Common) Logger(w io.Writer, name string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if c.Verbose {
		opts.Level = slog.LevelDebug
	}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if c.LogFormat == FormatJSON {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(h).With("function", name)
}
