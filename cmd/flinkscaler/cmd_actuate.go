package main

import "github.com/flinkscaler/flinkscaler/functions/actuate/actuator"

// runActuate runs the actuate function (and the KEDA external scaler with
// --keda-listen) until ctx ends.
var runActuate = actuator.Command
