// Package natsserver runs a NATS server with JetStream in this process:
// `flinkscaler nats`, the demo and tests. The functions never link it.
package natsserver

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Config configures an in-process NATS server with JetStream.
type Config struct {
	// Listen is host:port; port -1 or 0 picks a free one. Empty means
	// 127.0.0.1 on a free port.
	Listen string
	// StoreDir keeps JetStream data on disk; empty uses a temporary
	// directory removed at Shutdown.
	StoreDir string
	// ServerName names the server in logs and cluster views.
	ServerName string
	// Options, when set, is used as the base of the server options (auth,
	// TLS, accounts); Listen and StoreDir still apply.
	Options *server.Options
}

// Server is a running in-process NATS server.
type Server struct {
	srv     *server.Server
	tempDir string
}

// ErrNotReady is returned when the embedded server does not accept
// connections in time.
var ErrNotReady = errors.New("nats server not ready")

// Start starts a NATS server with JetStream in this process and
// blocks until it accepts connections (at most 10 s).
func Start(cfg Config) (*Server, error) {
	opts := &server.Options{}
	if cfg.Options != nil {
		cp := *cfg.Options
		opts = &cp
	}
	host, port, err := splitListen(cfg.Listen)
	if err != nil {
		return nil, err
	}
	opts.Host, opts.Port = host, port
	opts.JetStream = true
	opts.NoSigs = true
	opts.ServerName = cfg.ServerName
	e := &Server{}
	opts.StoreDir = cfg.StoreDir
	if opts.StoreDir == "" {
		if e.tempDir, err = os.MkdirTemp("", "flinkscaler-nats-"); err != nil {
			return nil, fmt.Errorf("nats store dir: %w", err)
		}
		opts.StoreDir = e.tempDir
	}
	if e.srv, err = server.NewServer(opts); err != nil {
		e.cleanup()
		return nil, fmt.Errorf("nats server: %w", err)
	}
	go e.srv.Start()
	if !e.srv.ReadyForConnections(10 * time.Second) {
		e.Shutdown()
		return nil, fmt.Errorf("%w: listening on %s:%d", ErrNotReady, host, port)
	}
	return e, nil
}

func splitListen(listen string) (string, int, error) {
	if listen == "" {
		return "127.0.0.1", server.RANDOM_PORT, nil
	}
	host, p, err := net.SplitHostPort(listen)
	if err != nil {
		return "", 0, fmt.Errorf("listen address %q: %w", listen, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < -1 || port > 65535 {
		return "", 0, fmt.Errorf("listen address %q: bad port", listen)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}

// ClientURL is the nats:// URL clients connect to.
func (e *Server) ClientURL() string { return e.srv.ClientURL() }

// Server exposes the underlying server (for monitoring or fault tests).
func (e *Server) Server() *server.Server { return e.srv }

// Shutdown stops the server, waits for it, and removes a temporary store.
func (e *Server) Shutdown() {
	if e.srv != nil {
		e.srv.Shutdown()
		e.srv.WaitForShutdown()
	}
	e.cleanup()
}

func (e *Server) cleanup() {
	if e.tempDir != "" {
		_ = os.RemoveAll(e.tempDir)
	}
}
