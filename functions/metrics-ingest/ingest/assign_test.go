package ingest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOwnerIsStableBalancedAndMovesOnlyDepartedKeys(t *testing.T) {
	members := []string{"ingest-0", "ingest-1", "ingest-2", "ingest-3"}
	const jobs = 4000
	before := map[string]string{}
	load := map[string]int{}
	for i := range jobs {
		k := assignKey("prod", fmt.Sprintf("%032x", i))
		o := owner(members, k)
		before[k] = o
		load[o]++
		reversed := slices.Clone(members)
		slices.Reverse(reversed)
		require.Equal(t, o, owner(reversed, k), "order of members does not matter")
	}
	for _, m := range members {
		require.InDelta(t, jobs/len(members), load[m], jobs*0.05, "member %s", m)
	}
	survivors := []string{"ingest-0", "ingest-2", "ingest-3"}
	for k, was := range before {
		now := owner(survivors, k)
		if was != "ingest-1" {
			require.Equal(t, was, now, "a survivor's job stays put")
		} else {
			require.Contains(t, survivors, now)
		}
	}
	require.Empty(t, owner(nil, "k"))
}
