package main

import (
	"flag"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// natsFlags binds the NATS connection flags (events.BindConnFlags).
func natsFlags(fs *flag.FlagSet, name string) *events.ConnOptions {
	return events.BindConnFlags(fs, name)
}
