package actuator

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/flinkscaler/flinkscaler/internal/function"
)

const (
	synopsis = "flinkscaler actuate --flink CLUSTER=URL [--taskmanagers kubernetes|keda|flink|emulator|none] [--dry-run] [--nats URL] [--http-listen ADDR] [flags]"
	summary  = "actuate applies scaling decisions to Flink (per-vertex requirements) and to the TaskManagers, and serves KEDA's external scaler."
)

// ParseArgs parses actuate's command line and environment (getenv) into a
// validated Config; --help goes to help. --kubeconfig defaults to the first
// file of $KUBECONFIG.
func ParseArgs(args []string, getenv func(string) string, help io.Writer) (Config, error) {
	cfg := DefaultConfig()
	if list := filepath.SplitList(getenv("KUBECONFIG")); len(list) > 0 {
		cfg.Kubeconfig = list[0]
	}
	fs := function.NewFlagSet("flinkscaler actuate", synopsis, summary, help)
	cfg.RegisterFlags(fs)
	if err := function.Parse(fs, args, getenv); err != nil {
		return Config{}, err
	}
	cfg.NATS.Password = getenv("FLINKSCALER_NATS_PASSWORD")
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("%w: invalid configuration:\n%w", function.ErrUsage, err)
	}
	return cfg, nil
}

// Command is actuate as a command (flinkscaler actuate, functions/actuate):
// it parses args and the environment, then runs until ctx ends.
func Command(ctx context.Context, args []string, _, stderr io.Writer) error {
	cfg, err := ParseArgs(args, os.Getenv, stderr)
	if err != nil {
		return err
	}
	return Run(ctx, cfg, cfg.Logger(stderr, Function))
}
