package function

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Command is a function as a command: it parses args (and the
// environment), then runs until ctx ends. `flinkscaler <function>` and the
// function's own main run the same Command.
type Command func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// ExitCode prints err as "name: err" to stderr and returns the exit code:
// 0 for nil or --help, 2 for a command-line error (ErrUsage), 1 otherwise.
func ExitCode(stderr io.Writer, name string, err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, ErrUsage):
		fmt.Fprintf(stderr, "%s: %s\n", name, usageText(err))
		return 2
	default:
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
}

// usageText is err's message without the "usage: " of ErrUsage.
func usageText(err error) string {
	msg := err.Error()
	prefix := ErrUsage.Error() + ": "
	if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		return msg[len(prefix):]
	}
	return msg
}

// Main runs cmd with the process's arguments until SIGINT or SIGTERM and
// exits with ExitCode. Only a main package calls it.
func Main(name string, cmd Command) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cmd(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(ExitCode(os.Stderr, name, err))
}
