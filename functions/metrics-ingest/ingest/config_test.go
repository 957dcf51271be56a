package ingest

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

func loadFlags(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	return ParseArgs(args, func(k string) string { return env[k] }, io.Discard)
}

func TestConfigLayers(t *testing.T) {
	file := writeFile(t, "ingest.yaml", `
interval: 5s
targets:
  - cluster: prod-eu
    url: https://jm.eu:8081
    jobs: [orders]
    tls: {caFile: /etc/ca.pem}
    auth: {tokenFile: /var/run/token}
`)
	cfg, err := loadFlags(t, []string{"--config", file, "--flink", "demo=http://127.0.0.1:8081", "--interval", "2s"},
		map[string]string{"FLINKSCALER_NATS_URL": "nats://env:4222", "FLINKSCALER_INTERVAL": "7s"})
	require.NoError(t, err)
	require.Equal(t, 2*time.Second, cfg.Interval, "flag beats env and file")
	require.Equal(t, "nats://env:4222", cfg.NATS.URL, "env beats the default")
	require.Len(t, cfg.Targets, 2)
	require.Equal(t, Target{Cluster: "prod-eu", URL: "https://jm.eu:8081", Jobs: []string{"orders"},
		TLS: TLS{CAFile: "/etc/ca.pem"}, Auth: Auth{TokenFile: "/var/run/token"}}, cfg.Targets[0])
	require.Equal(t, "demo", cfg.Targets[1].Cluster)
}

func TestConfigReportsEveryProblemWithItsPath(t *testing.T) {
	file := writeFile(t, "bad.yaml", `
interval: 50ms
attempts: 0
requestTimeout: 1m
targets:
  - cluster: "a b"
    url: jm:8081
    jobs: [""]
    tls: {certFile: c.pem}
    auth: {username: u, token: t}
  - cluster: ok
    url: http://jm:8081
  - cluster: ok
    url: http://jm2:8081
`)
	_, err := loadFlags(t, []string{"--config", file}, nil)
	require.ErrorIs(t, err, ErrConfig)
	for _, want := range []string{
		"interval: 50ms is below 100ms", "attempts: 0: must be at least 1", "targets[0].cluster:",
		"targets[0].url:", "targets[0].jobs[0]:", "targets[0].tls:", "targets[0].auth:",
		"targets[2].cluster: \"ok\" repeats targets[1]", "requestTimeout:",
	} {
		require.Contains(t, err.Error(), want)
	}
}

func TestConfigFileRejectsUnknownFields(t *testing.T) {
	file := writeFile(t, "typo.yaml", "intervall: 5s\n")
	_, err := loadFlags(t, []string{"--config", file}, nil)
	require.ErrorIs(t, err, ErrConfig)
	require.Contains(t, err.Error(), "intervall")
}

// --http-listen "" turns the listener off, as for decide and actuate; the
// default is ingest's own loopback address.
func TestHTTPListenEmptyTurnsItOff(t *testing.T) {
	cfg, err := loadFlags(t, []string{"--flink", "demo=http://127.0.0.1:8081", "--http-listen", ""}, nil)
	require.NoError(t, err)
	require.Empty(t, cfg.HTTPListen)
	cfg, err = loadFlags(t, []string{"--flink", "demo=http://127.0.0.1:8081"}, nil)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:9102", cfg.HTTPListen)
}

// --flink takes CLUSTER=URL, as actuate's does; a bare URL gets a hint.
func TestFlinkFlagSyntax(t *testing.T) {
	cfg, err := loadFlags(t, []string{"--flink", "a=http://jm-a:8081", "--flink", "b=http://jm-b:8081", "--jobs", "wordcount"}, nil)
	require.NoError(t, err)
	require.Len(t, cfg.Targets, 2)
	require.Equal(t, Target{Cluster: "a", URL: "http://jm-a:8081", Jobs: []string{"wordcount"}}, cfg.Targets[0])
	_, err = loadFlags(t, []string{"--flink", "http://127.0.0.1:8081"}, nil)
	require.ErrorContains(t, err, `write CLUSTER=URL, e.g. demo=http://127.0.0.1:8081`)
	cfg, err = loadFlags(t, nil, map[string]string{"FLINKSCALER_FLINK": "a=http://jm-a:8081,b=http://jm-b:8081"})
	require.NoError(t, err)
	require.Len(t, cfg.Targets, 2)
}
