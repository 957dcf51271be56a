package main

import "github.com/flinkscaler/flinkscaler/functions/metrics-ingest/ingest"

// runIngest runs metrics-ingest: poll Flink JobManagers, publish snapshots.
var runIngest = ingest.Command
