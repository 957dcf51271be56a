// Package function is the shape the three functions (metrics-ingest,
// decide, actuate) share as processes: one command line (flags with the
// same names and meaning, each also settable by environment variable), one
// logger set-up, one start-up connection to NATS with a bounded retry, and
// one server for /metrics and the health checks (/healthz, /readyz,
// /livez). The functions' own settings stay in their packages; this package
// holds only what every function takes.
//
// The command line, for every function:
//
//	--nats URL, --nats-creds, --nats-nkey, --nats-user, --nats-ca, --nats-cert, --nats-key
//	--nats-wait D          retry the first connection to NATS, and the start-up
//	                       JetStream calls it does not answer in time, this long
//	--stream-replicas N, --stream-max-age D, --stream-max-bytes N
//	--http-listen ADDR     /metrics, /healthz, /readyz, /livez; empty: off
//	-v                     debug logs
//	--log-format text|json
//
// Every flag FLAG may also be set by the environment variable
// FLINKSCALER_FLAG (upper case, '-' as '_'); --nats is FLINKSCALER_NATS_URL
// and the NATS password is read from FLINKSCALER_NATS_PASSWORD only. A flag
// on the command line beats the environment.
package function
