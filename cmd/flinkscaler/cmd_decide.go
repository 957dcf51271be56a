package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/flinkscaler/flinkscaler/functions/decide/decider"
)

// runDecide runs decide: turn snapshots into scaling decisions.
func runDecide(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlagSet("decide", "decide [--policy FILE] [--nats URL] [--dry-run] [--metric-sources LIST] [--http-listen ADDR]", stderr)
	flags := decider.BindFlags(fs)
	verbose := fs.Bool("v", false, "log every hold (debug level)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := flags.Load()
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	return decider.Run(ctx, cfg, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})))
}
