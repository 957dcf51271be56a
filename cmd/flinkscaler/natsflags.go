package main

import (
	"flag"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// natsFlags binds the NATS connection flags every connecting command takes.
// Each flag also reads an environment variable, so secrets need not appear
// on command lines.
func natsFlags(fs *flag.FlagSet, name string) *events.ConnOptions {
	o := &events.ConnOptions{Name: "flinkscaler-" + name}
	fs.StringVar(&o.URL, "nats", envOr("FLINKSCALER_NATS_URL", events.DefaultNATSURL), "NATS server URL (env FLINKSCALER_NATS_URL)")
	fs.StringVar(&o.CredsFile, "nats-creds", envOr("FLINKSCALER_NATS_CREDS", ""), "NATS credentials file (JWT + NKey) (env FLINKSCALER_NATS_CREDS)")
	fs.StringVar(&o.NKeyFile, "nats-nkey", envOr("FLINKSCALER_NATS_NKEY", ""), "file with an NKey seed (env FLINKSCALER_NATS_NKEY)")
	fs.StringVar(&o.User, "nats-user", envOr("FLINKSCALER_NATS_USER", ""), "NATS user (env FLINKSCALER_NATS_USER)")
	o.Password = envOr("FLINKSCALER_NATS_PASSWORD", "")
	fs.StringVar(&o.CAFile, "nats-ca", envOr("FLINKSCALER_NATS_CA", ""), "CA file to verify the NATS server's TLS certificate (env FLINKSCALER_NATS_CA)")
	fs.StringVar(&o.CertFile, "nats-cert", envOr("FLINKSCALER_NATS_CERT", ""), "client certificate for NATS TLS (env FLINKSCALER_NATS_CERT)")
	fs.StringVar(&o.KeyFile, "nats-key", envOr("FLINKSCALER_NATS_KEY", ""), "client key for NATS TLS (env FLINKSCALER_NATS_KEY)")
	return o
}
