// Command decide consumes job snapshots, user metrics and actuate's results
// from NATS JetStream and publishes scaling decisions; see package decider.
// It is the same command as `flinkscaler decide`.
package main

import (
	"github.com/flinkscaler/flinkscaler/functions/decide/decider"
	"github.com/flinkscaler/flinkscaler/internal/function"
)

func main() { function.Main("decide", decider.Command) }
