package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestConfigLoadMergeValidate(t *testing.T) {
	cases := []struct {
		name, file, overrides string
		wantErr               []string
		check                 func(*testing.T, Config)
	}{
		{name: "defaults are valid", check: func(t *testing.T, c Config) { require.Equal(t, Defaults(), c) }},
		{name: "file and overrides", file: "mode: reactive\ncatchUp: 5m\nvertices:\n  counter: {max: 8}\n",
			overrides: `{"dryRun": true, "vertices": {"src": {"min": 2}}}`,
			check: func(t *testing.T, c Config) {
				require.Equal(t, "reactive", c.Mode)
				require.Equal(t, 5*time.Minute, c.CatchUp)
				require.True(t, c.DryRun)
				require.Equal(t, map[string]Bounds{"counter": {Max: 8}, "src": {Min: 2}}, c.Vertices)
			}},
		{name: "unknown field", file: "catchup: 5m\n", wantErr: []string{"catchup"}},
		{name: "every problem with its path",
			file:    "mode: fast\nslots: {perTaskManager: -1, sharing: x}\nutilization: {max: 1.5, min: 0.2, band: 1}\nvertices: {a: {min: 5, max: 2}}\n",
			wantErr: []string{"mode:", "slots.perTaskManager:", "slots.sharing:", "utilization.max:", "utilization.band:", "vertices[a].min:"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Load(strings.NewReader(c.file), Defaults())
			if err == nil {
				cfg, err = Merge(cfg, []byte(c.overrides))
			}
			if err == nil {
				err = cfg.Validate()
			}
			if len(c.wantErr) > 0 {
				require.ErrorIs(t, err, ErrConfig)
				for _, w := range c.wantErr {
					require.Contains(t, err.Error(), w)
				}
				return
			}
			require.NoError(t, err)
			c.check(t, cfg)
		})
	}
}

func TestMergeLeavesBaseUntouched(t *testing.T) {
	base := Defaults()
	base.Vertices = map[string]Bounds{"a": {Max: 4}}
	_, err := Merge(base, []byte("vertices: {b: {max: 2}}"))
	require.NoError(t, err)
	require.Equal(t, map[string]Bounds{"a": {Max: 4}}, base.Vertices)
}
