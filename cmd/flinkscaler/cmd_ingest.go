package main

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/flinkscaler/flinkscaler/functions/metrics-ingest/ingest"
)

// runIngest runs metrics-ingest: poll Flink JobManagers, publish snapshots.
func runIngest(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlagSet("ingest", "ingest --flink URL --cluster NAME [--interval D] [--config FILE] [--nats URL] [--http-listen ADDR]", stderr)
	flags := ingest.BindFlags(fs)
	verbose := fs.Bool("v", false, "log every snapshot (debug level)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := flags.Load(os.Getenv)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	return ingest.Run(ctx, cfg, log)
}
