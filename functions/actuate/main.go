// Command actuate runs the actuate function: it applies scaling decisions to
// Kubernetes and Flink and serves the KEDA external scaler; see package
// actuator. It is the same command as `flinkscaler actuate`.
package main

import (
	"github.com/flinkscaler/flinkscaler/functions/actuate/actuator"
	"github.com/flinkscaler/flinkscaler/internal/function"
)

func main() { function.Main("actuate", actuator.Command) }
