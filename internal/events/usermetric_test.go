package events

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A user metric's vertex names one of the job's sources, by id or name;
// without one, the job has a single source.
func TestCheckMetricVertex(t *testing.T) {
	one := []SourceVertex{{ID: "a1", Name: "Source: orders"}}
	two := append([]SourceVertex{{ID: "b2", Name: "Source: clicks"}}, one...)
	for _, tt := range []struct {
		name    string
		vertex  string
		sources []SourceVertex
		says    string // "" when used
	}{
		{name: "single source, no vertex", sources: one},
		{name: "by id", vertex: "a1", sources: two},
		{name: "by name", vertex: "Source: orders", sources: two},
		{name: "no snapshot yet", vertex: "anything"},
		{name: "unknown", vertex: "Source: order", sources: two,
			says: `vertex "Source: order" of lag is not a source of job wc: its sources are "Source: clicks" (b2), "Source: orders" (a1)`},
		{name: "several sources, no vertex", sources: two,
			says: `lag names no vertex, and job wc has 2 sources: name one with its id or name ("Source: clicks" (b2), "Source: orders" (a1))`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckMetricVertex(Metric{Job: "wc", Name: "lag", Vertex: tt.vertex}, tt.sources)
			if tt.says == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalid)
			require.Equal(t, DropUnknownVertex, DropReason(err))
			require.Contains(t, err.Error(), tt.says)
		})
	}
}
