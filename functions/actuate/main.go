// Command actuate runs the actuate function: it applies scaling decisions to
// Kubernetes and Flink and serves the KEDA external scaler. The flags are
// those of `flinkscaler actuate`; FLINKSCALER_NATS_URL sets the --nats default.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/flinkscaler/flinkscaler/functions/actuate/actuator"
)

func main() {
	cfg := actuator.DefaultConfig()
	cfg.RegisterFlags(flag.CommandLine)
	flag.Parse()
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(os.Stderr, "actuate: invalid configuration:\n%v\n", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", actuator.Function)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := actuator.Run(ctx, cfg, log)
	stop()
	if err != nil {
		log.Error("actuate stopped", "reason", err.Error())
		os.Exit(1)
	}
}
