package kubetest

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// RenderChart renders the Helm chart in dir (release "flinkscaler" in
// namespace "flinkscaler") with Helm's own engine, through the helper module
// deploy/helm/render (built once per machine, like the apiserver), as
// `helm template` would. Each value is a --set K=V, or --values FILE when
// it is "@FILE". It returns the objects, or Helm's error message.
func RenderChart(t testing.TB, dir string, values ...string) ([]*unstructured.Unstructured, error) {
	t.Helper()
	bin, err := buildBefore(t, errors.New("kubetest: build deploy/helm/render"), "the Helm renderer (Helm's SDK, minutes)",
		func() (string, error) { return Tool("deploy/helm/render", "helm-render") })
	require.NoError(t, err, "kubetest needs the Helm renderer")
	args := []string{"--chart", dir, "--release", "flinkscaler", "--namespace", "flinkscaler"}
	for _, v := range values {
		if file, ok := strings.CutPrefix(v, "@"); ok {
			args = append(args, "--values", file)
			continue
		}
		args = append(args, "--set", v)
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, errors.New(strings.TrimSpace(errOut.String()))
	}
	objs, err := DecodeYAML(out.Bytes())
	require.NoError(t, err, out.String())
	return objs, nil
}
