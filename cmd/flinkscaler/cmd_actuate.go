package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/flinkscaler/flinkscaler/functions/actuate/actuator"
)

// runActuate runs the actuate function (and the KEDA external scaler with
// --keda-listen) until ctx ends.
func runActuate(ctx context.Context, args []string, _, stderr io.Writer) error {
	cfg := actuator.DefaultConfig()
	fs := newFlagSet("actuate", "actuate --flink CLUSTER=URL [--taskmanagers kubernetes|emulator|none] [flags]", stderr)
	cfg.RegisterFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil)).With("function", actuator.Function)
	return actuator.Run(ctx, cfg, log)
}
