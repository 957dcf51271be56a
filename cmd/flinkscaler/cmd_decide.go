package main

import "github.com/flinkscaler/flinkscaler/functions/decide/decider"

// runDecide runs decide: turn snapshots into scaling decisions.
var runDecide = decider.Command
