package function

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// shutdownTimeout bounds how long in-flight scrapes may finish at stop.
const shutdownTimeout = 2 * time.Second

// NewRegistry returns a Prometheus registry with the Go runtime and
// process collectors, which every function serves.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Server serves GET /metrics from a registry and three checks, each
// answering 200 "ok" while it returns nil and 503 with the error's text
// otherwise: GET /healthz (the function can do its work), GET /readyz (it
// should get traffic) and GET /livez (the process is not stuck: the
// Kubernetes liveness probe, as a restart would fix it).
type Server struct {
	ln  net.Listener
	srv *http.Server
}

// Checks are a Server's health checks. Health is required; a nil Ready or
// Live answers as Health.
type Checks struct {
	Health, Ready, Live func() error
}

// Listen binds addr (so a port in use fails the start, not later) and
// returns the server; Run serves. An empty addr returns a nil *Server,
// whose Run waits for ctx and whose Addr is "".
func Listen(addr string, reg prometheus.Gatherer, checks Checks) (*Server, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--http-listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", check(checks.Health))
	mux.HandleFunc("GET /readyz", check(orHealth(checks.Ready, checks.Health)))
	mux.HandleFunc("GET /livez", check(orHealth(checks.Live, checks.Health)))
	return &Server{ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}, nil
}

func orHealth(f, health func() error) func() error {
	if f == nil {
		return health
	}
	return f
}

func check(f func() error) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if err := f(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n")) // the client went away; nothing to do
	}
}

// Addr is the bound address, "" for a nil server.
func (s *Server) Addr() string {
	if s == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Run serves until ctx ends, then shuts down (in-flight requests get
// shutdownTimeout). It returns nil after a clean stop, or the error that
// stopped serving.
func (s *Server) Run(ctx context.Context) error {
	if s == nil {
		<-ctx.Done()
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- s.srv.Serve(s.ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	_ = s.srv.Shutdown(shut) // in-flight scrapes only; nothing to report
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	return nil
}

// NATSHealth reports an error while nc is not connected.
func NATSHealth(nc *nats.Conn) func() error {
	return func() error {
		if !nc.IsConnected() {
			return fmt.Errorf("NATS connection %s", nc.Status())
		}
		return nil
	}
}

// RunAll runs parts until ctx ends or one of them returns an error, then
// cancels the others and waits for them. It returns the first error, or
// nil when all stopped cleanly.
func RunAll(ctx context.Context, parts ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(parts))
	done := make(chan struct{}, len(parts))
	for _, p := range parts {
		go func() {
			if err := p(ctx); err != nil {
				errs <- err
				cancel()
			}
			done <- struct{}{}
		}()
	}
	for range parts {
		<-done
	}
	close(errs)
	return <-errs // nil when none failed
}
