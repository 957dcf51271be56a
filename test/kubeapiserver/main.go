// Command kubeapiserver is a real kube-apiserver for flinkscaler's tests: it
// starts an embedded single-member etcd on loopback ports in a temporary
// directory, waits until etcd serves clients, then runs the upstream
// kube-apiserver command with the given arguments plus --etcd-servers.
//
// It is built by internal/kubetest, which also chooses every other flag
// (ports, certificates, tokens, RBAC). The etcd directory is created under
// $TMPDIR and removed when the apiserver exits (SIGTERM or SIGINT).
package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"
	_ "time/tzdata" // CronJob time zones, as in the upstream main

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

// etcdReadyTimeout bounds the wait for embedded etcd to serve clients.
const etcdReadyTimeout = 30 * time.Second

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	dir, err := os.MkdirTemp("", "kubeapiserver-etcd-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcd data dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	etcd, err := startEtcd(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "embedded etcd:", err)
		return 1
	}
	defer etcd.Close()
	cmd := app.NewAPIServerCommand()
	cmd.SetArgs(append(args, "--etcd-servers=http://"+etcd.Clients[0].Addr().String()))
	return cli.Run(cmd)
}

// startEtcd starts a single-member etcd listening on 127.0.0.1 random ports
// and blocks until it is ready to serve clients or etcdReadyTimeout passes.
func startEtcd(dir string) (*embed.Etcd, error) {
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.LogLevel = "error"
	loopback := url.URL{Scheme: "http", Host: "127.0.0.1:0"}
	cfg.ListenClientUrls = []url.URL{loopback}
	cfg.AdvertiseClientUrls = []url.URL{loopback}
	cfg.ListenPeerUrls = []url.URL{loopback}
	cfg.AdvertisePeerUrls = []url.URL{loopback}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case err := <-e.Err():
		e.Close()
		return nil, err
	case <-time.After(etcdReadyTimeout):
		e.Close()
		return nil, errors.New("not ready after " + etcdReadyTimeout.String())
	}
}
