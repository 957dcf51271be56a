package function

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Clusters is the --flink flag of ingest and actuate: the JobManager REST
// URL of each named cluster, given as CLUSTER=URL, repeatable or
// comma-separated (the form its environment variable takes).
type Clusters map[string]string

// String lists the clusters as CLUSTER=URL,... in name order.
func (c Clusters) String() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(c)) {
		parts = append(parts, k+"="+c[k])
	}
	return strings.Join(parts, ",")
}

// Set adds one or more comma-separated CLUSTER=URL pairs. It checks the
// form only; the function's Validate checks names and URLs.
func (c Clusters) Set(v string) error {
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		name, u, ok := strings.Cut(item, "=")
		if !ok || name == "" || u == "" {
			if strings.Contains(item, "://") {
				return fmt.Errorf("%q has no cluster name: write CLUSTER=URL, e.g. demo=%s", item, item)
			}
			return fmt.Errorf("want CLUSTER=URL, e.g. demo=http://127.0.0.1:8081, got %q", item)
		}
		if _, dup := c[name]; dup {
			return fmt.Errorf("cluster %q given twice", name)
		}
		c[name] = u
	}
	return nil
}

// Get returns the map, for flag.Getter.
func (c Clusters) Get() any { return map[string]string(c) }
