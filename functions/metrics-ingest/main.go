// Command metrics-ingest polls Flink JobManagers and publishes job snapshot
// events to NATS JetStream; see package ingest. It is the same command as
// `flinkscaler ingest`.
package main

import (
	"github.com/flinkscaler/flinkscaler/functions/metrics-ingest/ingest"
	"github.com/flinkscaler/flinkscaler/internal/function"
)

func main() { function.Main("metrics-ingest", ingest.Command) }
