package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flink"
	"github.com/flinkscaler/flinkscaler/internal/function"
	"gopkg.in/yaml.v3"
)

// ErrConfig wraps every configuration problem.
var ErrConfig = errors.New("invalid ingest configuration")

// Config is the whole metrics-ingest configuration. Build it with
// DefaultConfig, bind a file, env and flags (Flags.Load), then Validate.
type Config struct {
	// Common is NATS, the stream settings, the HTTP address and logging:
	// flags and environment only, never the file.
	function.Common `yaml:"-"`
	Interval        time.Duration `yaml:"interval"`       // poll period per job
	Replica         string        `yaml:"replica"`        // member id; default the host name
	Attempts        int           `yaml:"attempts"`       // tries per Flink call within an interval
	Backoff         time.Duration `yaml:"backoff"`        // first wait between tries, doubling
	RequestTimeout  time.Duration `yaml:"requestTimeout"` // per Flink request; 0: min(5s, interval/2)
	Concurrency     int           `yaml:"concurrency"`    // jobs polled at once
	MaxRequests     int           `yaml:"maxRequests"`    // requests in flight per JobManager
	Targets         []Target      `yaml:"targets"`
	// Discover adds the Flink clusters found in Kubernetes to Targets
	// (default client options, all jobs), looked up again every interval.
	Discover Discover `yaml:"discover"`
}

// Discover says which Flink clusters to find in Kubernetes (package
// discovery): JobManager Services labelled flinkscaler.io/cluster, the Flink
// operator's FlinkDeployments, in Namespaces (empty: all).
type Discover struct {
	Services         bool     `yaml:"services"`
	FlinkDeployments bool     `yaml:"flinkDeployments"`
	Namespaces       []string `yaml:"namespaces"`
	// Kubeconfig is the API server to ask; empty: $KUBECONFIG, else in-cluster.
	Kubeconfig string `yaml:"kubeconfig"`
	// Every is how often to look again; 0: DiscoverEvery (30s).
	Every time.Duration `yaml:"every"`
}

// Target is one JobManager to poll.
type Target struct {
	Cluster string   `yaml:"cluster"` // NATS-safe cluster name
	URL     string   `yaml:"url"`     // JobManager REST base URL
	Jobs    []string `yaml:"jobs"`    // job names or ids to poll; empty means all
	TLS     TLS      `yaml:"tls"`
	Auth    Auth     `yaml:"auth"`
}

// TLS configures HTTPS to a JobManager.
type TLS struct {
	CAFile     string `yaml:"caFile"`
	CertFile   string `yaml:"certFile"`
	KeyFile    string `yaml:"keyFile"`
	ServerName string `yaml:"serverName"`
}

// Auth is basic auth or a bearer token; secrets may come from files.
type Auth struct {
	Username     string `yaml:"username"`
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"passwordFile"`
	Token        string `yaml:"token"`
	TokenFile    string `yaml:"tokenFile"`
}

// DefaultConfig returns the defaults every binding starts from.
func DefaultConfig() Config {
	return Config{
		Common:      function.Defaults(Function, function.HTTPIngest),
		Interval:    10 * time.Second,
		Attempts:    3,
		Backoff:     250 * time.Millisecond,
		Concurrency: 64,
		MaxRequests: flink.DefaultMaxConcurrent,
	}
}

// LoadFile decodes a YAML file over cfg. Unknown fields are errors.
func LoadFile(path string, cfg *Config) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrConfig, path, err)
	}
	return nil
}

// Validate reports every problem, each with its field path. It changes
// nothing.
func (c Config) Validate() error {
	if errs := c.problems(); len(errs) > 0 {
		return fmt.Errorf("%w:\n%w", ErrConfig, errors.Join(errs...))
	}
	return nil
}

func (c Config) problems() []error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{path}, args...)...))
	}
	if c.Interval < 100*time.Millisecond {
		bad("interval", "%v is below 100ms", c.Interval)
	}
	errs = append(errs, c.Common.Problems()...)
	if c.Replica != "" && !events.ValidToken(c.Replica) {
		bad("replica", "%q: use 1-128 letters, digits, '-' or '_'", c.Replica)
	}
	positive := map[string]int{"attempts": c.Attempts, "concurrency": c.Concurrency, "maxRequests": c.MaxRequests}
	for path, v := range positive {
		if v < 1 {
			bad(path, "%d: must be at least 1", v)
		}
	}
	if c.Backoff < 0 {
		bad("backoff", "%v is negative", c.Backoff)
	}
	if c.RequestTimeout < 0 || c.RequestTimeout > c.Interval {
		bad("requestTimeout", "%v: must be between 0 (automatic) and the interval %v", c.RequestTimeout, c.Interval)
	}
	if len(c.Targets) == 0 && !c.Discover.Services && !c.Discover.FlinkDeployments {
		bad("targets", "no JobManager to poll: give --flink CLUSTER=URL, targets in the config file, or discover")
	}
	seen := map[string]int{}
	for i, t := range c.Targets {
		errs = append(errs, t.validate(fmt.Sprintf("targets[%d]", i))...)
		if j, dup := seen[t.Cluster]; dup && t.Cluster != "" {
			bad(fmt.Sprintf("targets[%d].cluster", i), "%q repeats targets[%d]", t.Cluster, j)
		}
		seen[t.Cluster] = i
	}
	return errs
}

func (t Target) validate(path string) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: "+format, append([]any{path, field}, args...)...))
	}
	if err := events.ValidateCluster(t.Cluster); err != nil {
		bad("cluster", "%v", err)
	}
	if u, err := url.Parse(t.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("url", "%q: want http(s)://host:port", t.URL)
	}
	for i, j := range t.Jobs {
		if strings.TrimSpace(j) == "" {
			bad(fmt.Sprintf("jobs[%d]", i), "empty job name or id")
		}
	}
	if (t.TLS.CertFile == "") != (t.TLS.KeyFile == "") {
		bad("tls", "certFile and keyFile go together")
	}
	a := t.Auth
	basic := a.Username != "" || a.Password != "" || a.PasswordFile != ""
	bearer := a.Token != "" || a.TokenFile != ""
	if basic && bearer {
		bad("auth", "basic auth and a token are exclusive")
	}
	if a.Password != "" && a.PasswordFile != "" {
		bad("auth.passwordFile", "give password or passwordFile, not both")
	}
	if a.Token != "" && a.TokenFile != "" {
		bad("auth.tokenFile", "give token or tokenFile, not both")
	}
	return errs
}

// requestTimeout is RequestTimeout, or min(5s, interval/2) when zero.
func (c Config) requestTimeout() time.Duration {
	if c.RequestTimeout > 0 {
		return c.RequestTimeout
	}
	return min(5*time.Second, c.Interval/2)
}

// clientOptions turns a target into flink.Options, reading secret files.
func (c Config) clientOptions(t Target) (flink.Options, error) {
	o := flink.Options{
		Timeout: c.requestTimeout(), MaxConcurrent: c.MaxRequests,
		CAFile: t.TLS.CAFile, CertFile: t.TLS.CertFile, KeyFile: t.TLS.KeyFile, ServerName: t.TLS.ServerName,
		Username: t.Auth.Username, Password: t.Auth.Password, BearerToken: t.Auth.Token,
		UserAgent: "flinkscaler-metrics-ingest",
	}
	var err error
	if t.Auth.PasswordFile != "" {
		o.Password, err = readSecret(t.Auth.PasswordFile)
	}
	if err == nil && t.Auth.TokenFile != "" {
		o.BearerToken, err = readSecret(t.Auth.TokenFile)
	}
	return o, err
}

func readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w: secret: %w", ErrConfig, err)
	}
	return strings.TrimSpace(string(b)), nil
}
