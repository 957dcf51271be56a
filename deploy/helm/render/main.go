// Command render renders a Helm chart exactly as `helm template` does, with
// Helm's own Go SDK, for flinkscaler's chart tests: its output is applied
// with a server-side dry-run against the test kube-apiserver. It lives in
// its own module so Helm's dependencies stay out of flinkscaler's.
//
//	render --chart DIR --release NAME --namespace NS [--values FILE]... [--set K=V]...
//
// It prints the rendered manifests (sorted by template name, NOTES.txt
// left out) on stdout; a chart or value error goes to stderr with exit 1.
package main

import (
	"flag"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/cli/values"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/getter"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

func run() error {
	var files, sets list
	dir := flag.String("chart", "", "chart directory")
	release := flag.String("release", "flinkscaler", "release name")
	namespace := flag.String("namespace", "flinkscaler", "release namespace")
	flag.Var(&files, "values", "values file (repeatable)")
	flag.Var(&sets, "set", "K=V (repeatable)")
	flag.Parse()
	chart, err := loader.Load(*dir)
	if err != nil {
		return err
	}
	opts := values.Options{ValueFiles: files, Values: sets}
	vals, err := opts.MergeValues(getter.Providers{})
	if err != nil {
		return err
	}
	if err := chartutil.ProcessDependenciesWithMerge(chart, vals); err != nil {
		return err
	}
	top, err := chartutil.ToRenderValues(chart, vals, chartutil.ReleaseOptions{
		Name: *release, Namespace: *namespace, Revision: 1, IsInstall: true,
	}, chartutil.DefaultCapabilities)
	if err != nil {
		return err
	}
	out, err := engine.Render(chart, top)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(out))
	for n := range out {
		if path.Base(n) != "NOTES.txt" && strings.TrimSpace(out[n]) != "" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Printf("---\n# Source: %s\n%s\n", n, out[n])
	}
	return nil
}
