package events

import (
	"flag"
	"os"
	"strconv"
)

// BindConnFlags binds the NATS connection flags every connecting command
// takes to fs. Each flag defaults to an environment variable, so secrets
// need not appear on command lines; the password is read from
// FLINKSCALER_NATS_PASSWORD only.
func BindConnFlags(fs *flag.FlagSet, name string) *ConnOptions {
	o := &ConnOptions{}
	BindConnFlagsTo(fs, name, o)
	return o
}

// BindConnFlagsTo is BindConnFlags into an existing ConnOptions.
func BindConnFlagsTo(fs *flag.FlagSet, name string, o *ConnOptions) {
	o.Name, o.Password = "flinkscaler-"+name, os.Getenv("FLINKSCALER_NATS_PASSWORD")
	str := func(p *string, flagName, env, def, usage string) {
		if v := os.Getenv(env); v != "" {
			def = v
		}
		fs.StringVar(p, flagName, def, usage+" (env "+env+")")
	}
	str(&o.URL, "nats", "FLINKSCALER_NATS_URL", DefaultNATSURL, "NATS server URL")
	str(&o.CredsFile, "nats-creds", "FLINKSCALER_NATS_CREDS", "", "NATS credentials file (JWT + NKey seed)")
	str(&o.NKeyFile, "nats-nkey", "FLINKSCALER_NATS_NKEY", "", "file with an NKey seed")
	str(&o.User, "nats-user", "FLINKSCALER_NATS_USER", "", "NATS user; the password comes from FLINKSCALER_NATS_PASSWORD")
	str(&o.CAFile, "nats-ca", "FLINKSCALER_NATS_CA", "", "CA file to verify the NATS server's TLS certificate")
	str(&o.CertFile, "nats-cert", "FLINKSCALER_NATS_CERT", "", "client certificate for NATS mutual TLS")
	str(&o.KeyFile, "nats-key", "FLINKSCALER_NATS_KEY", "", "client key for NATS mutual TLS")
}

// BindProvisionFlags binds the stream and bucket settings functions apply
// at start-up to fs. Unset, they create with DefaultProvision's values and
// keep whatever an existing stream or bucket has.
func BindProvisionFlags(fs *flag.FlagSet, p *ProvisionConfig) {
	replicas := 0
	if v, err := strconv.Atoi(os.Getenv("FLINKSCALER_STREAM_REPLICAS")); err == nil {
		replicas = v
	}
	fs.IntVar(&p.Replicas, "stream-replicas", replicas,
		"JetStream replicas of the FLINKSCALER stream and KV buckets (3 on a 3-node cluster); 0 keeps the existing, 1 on create (env FLINKSCALER_STREAM_REPLICAS)")
	fs.DurationVar(&p.MaxAge, "stream-max-age", 0, "how long events are kept; 0 keeps the existing, 24h on create")
	fs.Int64Var(&p.MaxBytes, "stream-max-bytes", 0, "bytes of events kept; 0 keeps the existing, 1 GiB on create")
}
