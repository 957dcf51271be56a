package main

import (
	"context"
	"fmt"
	"io"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/natsserver"
)

func runNATS(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("nats", "nats [--listen ADDR] [--store DIR]", stderr)
	listen := fs.String("listen", "127.0.0.1:4222", "address to listen on for NATS clients")
	store := fs.String("store", "", "JetStream storage directory (default: a temporary directory removed on exit)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	srv, err := natsserver.Start(natsserver.Config{Listen: *listen, StoreDir: *store, ServerName: "flinkscaler"})
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	nc, js, err := events.Connect(events.ConnOptions{URL: srv.ClientURL(), Name: "flinkscaler-nats"})
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := events.Provision(ctx, js, events.ProvisionConfig{}); err != nil {
		return err
	}
	where := *store
	if where == "" {
		where = "a temporary directory"
	}
	fmt.Fprintf(stdout, "NATS with JetStream listening on %s (stream %s and KV buckets ready; data in %s)\n",
		srv.ClientURL(), events.StreamName, where)
	fmt.Fprintln(stdout, "Press Ctrl-C to stop.")
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping")
	return nil
}
