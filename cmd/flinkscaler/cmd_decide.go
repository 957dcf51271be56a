package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"gopkg.in/yaml.v3"

	"github.com/flinkscaler/flinkscaler/functions/decide/decider"
)

// runDecide runs decide: turn snapshots into scaling decisions.
func runDecide(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("decide", "decide [--policy FILE] [--nats URL] [--dry-run] [--metric-sources LIST] [--http-listen ADDR] [--print-policy]", stderr)
	flags := decider.BindFlags(fs)
	verbose := fs.Bool("v", false, "log every hold (debug level)")
	printPolicy := fs.Bool("print-policy", false, "print the policy every job starts from (defaults, then --policy, validated) as YAML and exit")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := flags.Load()
	if err != nil {
		return err
	}
	if *printPolicy {
		out, err := yaml.Marshal(cfg.Policy)
		if err != nil {
			return fmt.Errorf("print policy: %w", err)
		}
		_, err = stdout.Write(out)
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	return decider.Run(ctx, cfg, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})))
}
