// Package flink is a client for the Apache Flink JobManager REST API
// (Flink 1.18 through 2.x), shared by metrics-ingest and actuate.
//
// It follows the wire format, not the OpenAPI file: metric endpoints answer
// bare arrays, doubles may arrive as "NaN"/"Infinity" strings (see Float),
// and fields that only some versions send are optional. One Client talks to
// one JobManager through one http.Transport (connections are reused), with a
// per-request timeout and at most Options.MaxConcurrent requests in flight.
//
// Every method takes ctx first, blocks until the answer is decoded or ctx is
// done, and returns errors that name the method, URL and status and wrap one
// of the sentinels in errors.go. The package never logs.
package flink

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Defaults for Options fields left zero.
const (
	DefaultTimeout       = 5 * time.Second
	DefaultMaxConcurrent = 16
	maxErrorBody         = 64 << 10
	maxBody              = 64 << 20
)

// Options configures a Client. The zero value is usable.
type Options struct {
	// Timeout bounds each request, including reading its body.
	Timeout time.Duration
	// MaxConcurrent bounds the requests in flight on this client.
	MaxConcurrent int
	// TLS: CAFile verifies the server; CertFile and KeyFile (both or
	// neither) present a client certificate. ServerName overrides the name
	// checked in the server certificate.
	CAFile     string
	CertFile   string
	KeyFile    string
	ServerName string
	// Basic auth (Username and Password) or a bearer token; not both.
	Username    string
	Password    string
	BearerToken string
	// Transport replaces the client's own transport (for sharing one pool
	// across clients). The TLS fields must then be empty.
	Transport http.RoundTripper
	// UserAgent is sent on every request; default "flinkscaler".
	UserAgent string
}

// Client talks to one Flink JobManager. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	http    *http.Client
	timeout time.Duration
	sem     chan struct{}
	auth    func(*http.Request)
	agent   string
}

// New returns a client for the JobManager at baseURL (for example
// http://jm:8081). It returns an error wrapping ErrConfig for a bad URL,
// conflicting options or unreadable TLS files.
func New(baseURL string, opts Options) (*Client, error) {
	base, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("%w: base URL %q: want http(s)://host[:port][/prefix]", ErrConfig, baseURL)
	}
	rt, err := transport(opts)
	if err != nil {
		return nil, err
	}
	auth, err := authFunc(opts)
	if err != nil {
		return nil, err
	}
	c := &Client{
		base:    base,
		http:    &http.Client{Transport: rt},
		timeout: opts.Timeout,
		sem:     make(chan struct{}, max(opts.MaxConcurrent, 0)),
		auth:    auth,
		agent:   opts.UserAgent,
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if opts.MaxConcurrent <= 0 {
		c.sem = make(chan struct{}, DefaultMaxConcurrent)
	}
	if c.agent == "" {
		c.agent = "flinkscaler"
	}
	return c, nil
}

// BaseURL is the JobManager address this client was built for.
func (c *Client) BaseURL() string { return c.base.String() }

func transport(opts Options) (http.RoundTripper, error) {
	hasTLS := opts.CAFile != "" || opts.CertFile != "" || opts.KeyFile != "" || opts.ServerName != ""
	if opts.Transport != nil {
		if hasTLS {
			return nil, fmt.Errorf("%w: TLS options need the client's own transport", ErrConfig)
		}
		return opts.Transport, nil
	}
	t := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: max(opts.MaxConcurrent, DefaultMaxConcurrent),
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 5 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	if hasTLS {
		cfg, err := tlsConfig(opts)
		if err != nil {
			return nil, err
		}
		t.TLSClientConfig = cfg
	}
	return t, nil
}

func tlsConfig(opts Options) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: opts.ServerName}
	if opts.CAFile != "" {
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: CA file: %w", ErrConfig, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: CA file %s: no PEM certificates", ErrConfig, opts.CAFile)
		}
		cfg.RootCAs = pool
	}
	if (opts.CertFile == "") != (opts.KeyFile == "") {
		return nil, fmt.Errorf("%w: client certificate needs both CertFile and KeyFile", ErrConfig)
	}
	if opts.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(opts.CertFile, opts.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: client certificate: %w", ErrConfig, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func authFunc(opts Options) (func(*http.Request), error) {
	basic := opts.Username != "" || opts.Password != ""
	switch {
	case basic && opts.BearerToken != "":
		return nil, fmt.Errorf("%w: basic auth and bearer token are exclusive", ErrConfig)
	case basic:
		return func(r *http.Request) { r.SetBasicAuth(opts.Username, opts.Password) }, nil
	case opts.BearerToken != "":
		h := "Bearer " + opts.BearerToken
		return func(r *http.Request) { r.Header.Set("Authorization", h) }, nil
	}
	return func(*http.Request) {}, nil
}

// get decodes the JSON answer of GET path?query into out.
func (c *Client) get(ctx context.Context, path string, query url.Values, out any) error {
	return c.do(ctx, http.MethodGet, path, query, nil, out)
}

// do sends one request and decodes a 2xx JSON body into out (unless out is
// nil). It blocks for a concurrency slot first.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body []byte, out any) error {
	u := c.base.JoinPath(path)
	u.RawQuery = query.Encode()
	select {
	case c.sem <- struct{}{}:
		defer func() { <-c.sem }()
	case <-ctx.Done():
		return fmt.Errorf("%s %s: %w", method, u, ctx.Err())
	}
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, method, u.String(), bodyReader(body))
	if err != nil {
		return fmt.Errorf("%w: %s %s: %w", ErrConfig, method, u, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.agent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c.auth(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return transportError(ctx, method, u, err)
	}
	defer func() { _ = resp.Body.Close() }()
	return decodeResponse(ctx, method, u, resp, out)
}

func bodyReader(body []byte) io.Reader {
	if body == nil {
		return nil
	}
	return bytes.NewReader(body)
}

// transportError keeps the caller's own cancellation distinct from a
// JobManager that did not answer in time.
func transportError(ctx context.Context, method string, u *url.URL, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s %s: %w", method, u, ctx.Err())
	}
	return fmt.Errorf("%w: %s %s: %w", ErrUnreachable, method, u, err)
}

func decodeResponse(ctx context.Context, method string, u *url.URL, resp *http.Response, out any) error {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return &StatusError{Method: method, URL: u.String(), Status: resp.StatusCode,
			Errors: errorTexts(raw), kind: kindOf(resp.StatusCode)}
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return transportError(ctx, method, u, err)
	}
	if out == nil || fastDecode(raw, out) {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%w: %s %s: %w", ErrMalformed, method, u, err)
	}
	return nil
}

// errorTexts extracts Flink's {"errors":[...]}; anything else is kept as
// one text so a proxy's HTML error page still shows up.
func errorTexts(raw []byte) []string {
	var body struct {
		Errors []string `json:"errors"`
	}
	if err := json.Unmarshal(raw, &body); err == nil && len(body.Errors) > 0 {
		return body.Errors
	}
	if s := strings.TrimSpace(string(raw)); s != "" {
		return []string{s}
	}
	return nil
}

// IsReactiveOrDefaultScheduler reports whether err is Flink refusing a
// resource-requirements call because the job does not run the adaptive
// scheduler (the Default scheduler, or reactive mode).
func IsReactiveOrDefaultScheduler(err error) bool {
	var se *StatusError
	if !errors.As(err, &se) {
		return false
	}
	return se.Contains("does not support changing the parallelism") ||
		se.Contains("Cannot change the parallelism of a job running in reactive mode")
}
