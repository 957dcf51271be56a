package kubetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
)

// crdTimeout bounds the wait for CRDs to become established and served.
const crdTimeout = 30 * time.Second

// DecodeYAML splits a multi-document YAML (or JSON) stream into objects.
// Empty documents are skipped; a document without apiVersion or kind is an
// error naming its position.
func DecodeYAML(data []byte) ([]*unstructured.Unstructured, error) {
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for i := 1; ; i++ {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetAPIVersion() == "" || u.GetKind() == "" {
			return nil, fmt.Errorf("document %d: apiVersion and kind are required", i)
		}
		objs = append(objs, u)
	}
}

// Applier creates objects of any kind, including custom resources, as the
// admin. Make a new one after installing CRDs: it caches API discovery.
type Applier struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

// Applier returns an Applier for this server.
func (s *Server) Applier(t testing.TB) *Applier {
	t.Helper()
	cfg := s.AdminConfig()
	cfg.WarningHandlerWithContext = warningCollector{}
	dyn, err := dynamic.NewForConfig(cfg)
	require.NoError(t, err)
	disc, err := discovery.NewDiscoveryClientForConfig(s.AdminConfig())
	require.NoError(t, err)
	return &Applier{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))}
}

// Create creates obj (in its own namespace, or "default" for a namespaced
// kind without one), with strict field validation: unknown or duplicate
// fields are errors. With dryRun the server runs admission, validation and
// defaulting (a server-side dry-run, like kubectl apply --dry-run=server)
// and persists nothing. It returns the warnings the server sent (for
// example PodSecurity's) and the API error unchanged. Safe for concurrent use.
func (a *Applier) Create(ctx context.Context, obj *unstructured.Unstructured, dryRun bool) ([]string, error) {
	gvk := obj.GroupVersionKind()
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", gvk, err)
	}
	var ri dynamic.ResourceInterface = a.dyn.Resource(m.Resource)
	if m.Scope.Name() == "namespace" {
		ns := obj.GetNamespace()
		if ns == "" {
			ns = metav1.NamespaceDefault
		}
		ri = a.dyn.Resource(m.Resource).Namespace(ns)
	}
	opts := metav1.CreateOptions{FieldValidation: metav1.FieldValidationStrict}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	w := &warnings{}
	_, err = ri.Create(context.WithValue(ctx, warningsKey{}, w), obj, opts)
	return w.list(), err
}

// warningsKey carries the *warnings of one Create call in its context.
type warningsKey struct{}

type warnings struct {
	mu   sync.Mutex
	text []string
}

func (w *warnings) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.text)
}

// warningCollector appends each warning header to the call's *warnings.
type warningCollector struct{}

func (warningCollector) HandleWarningHeaderWithContext(ctx context.Context, _ int, _ string, text string) {
	if w, ok := ctx.Value(warningsKey{}).(*warnings); ok {
		w.mu.Lock()
		w.text = append(w.text, text)
		w.mu.Unlock()
	}
}

// ApplyCRDs creates every CustomResourceDefinition in the *.yaml files of
// dir and blocks until each is established and its resource is served.
func (s *Server) ApplyCRDs(t testing.TB, dir string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no *.yaml CRDs in %s", dir)
	a := s.Applier(t)
	ctx := s.ctx(t)
	var served []schema.GroupVersionResource
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		objs, err := DecodeYAML(data)
		require.NoError(t, err, f)
		for _, o := range objs {
			require.Equal(t, "CustomResourceDefinition", o.GetKind(), "%s holds a %s", f, o.GetKind())
			_, err := a.Create(ctx, o, false)
			require.NoError(t, err, "create CRD %s from %s", o.GetName(), f)
			served = append(served, crdResources(o)...)
		}
	}
	s.waitServed(t, served)
}

// crdResources lists the group/version/resource triples a CRD serves.
func crdResources(crd *unstructured.Unstructured) []schema.GroupVersionResource {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	var out []schema.GroupVersionResource
	for _, v := range versions {
		vm, _ := v.(map[string]any)
		if served, _ := vm["served"].(bool); !served {
			continue
		}
		name, _ := vm["name"].(string)
		out = append(out, schema.GroupVersionResource{Group: group, Version: name, Resource: plural})
	}
	return out
}

// waitServed polls discovery until every resource is listed.
func (s *Server) waitServed(t testing.TB, want []schema.GroupVersionResource) {
	t.Helper()
	disc, err := discovery.NewDiscoveryClientForConfig(s.AdminConfig())
	require.NoError(t, err)
	missing := want
	require.Eventually(t, func() bool {
		missing = slices.DeleteFunc(missing, func(r schema.GroupVersionResource) bool {
			list, err := disc.ServerResourcesForGroupVersion(r.GroupVersion().String())
			return err == nil && slices.ContainsFunc(list.APIResources, func(a metav1.APIResource) bool {
				return a.Name == r.Resource
			})
		})
		return len(missing) == 0
	}, crdTimeout, 100*time.Millisecond, "CRD resources not served: %s", fmtGVRs(missing))
}

func fmtGVRs(rs []schema.GroupVersionResource) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(r.String() + " ")
	}
	return b.String()
}
