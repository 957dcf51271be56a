package flinksim

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The raw* types mirror the YAML file. Pointers tell an absent field from a
// zero one, so defaults apply only to what the file leaves out.

type rawScenario struct {
	Name     string        `yaml:"name"`
	Duration time.Duration `yaml:"duration"`
	Seed     int64         `yaml:"seed"`
	Cluster  *rawCluster   `yaml:"cluster"`
	Job      *rawJob       `yaml:"job"`
	Load     *rawLoad      `yaml:"load"`
	SLO      *rawSLO       `yaml:"slo"`
}

type rawCluster struct {
	Scaling             *string        `yaml:"scaling"`
	SlotsPerTaskManager *int           `yaml:"slotsPerTaskManager"`
	SlotSharing         *string        `yaml:"slotSharing"`
	InitialTaskManagers *int           `yaml:"initialTaskManagers"`
	StandbyTaskManagers *int           `yaml:"standbyTaskManagers"`
	MaxTaskManagers     *int           `yaml:"maxTaskManagers"`
	TaskManagerStartup  *time.Duration `yaml:"taskManagerStartup"`
	Restart             *time.Duration `yaml:"restart"`
	CheckpointInterval  *time.Duration `yaml:"checkpointInterval"`
	Stabilization       *time.Duration `yaml:"resourceStabilizationTimeout"`
	MinIncrease         *int           `yaml:"minParallelismIncrease"`
	rawRuntime          `yaml:",inline"`
	RealMetricTiming    *bool `yaml:"realMetricTiming"`
}

type rawJob struct {
	Name     string      `yaml:"name"`
	Vertices []rawVertex `yaml:"vertices"`
}

type rawVertex struct {
	Name             string   `yaml:"name"`
	Inputs           []string `yaml:"inputs"`
	Keyed            bool     `yaml:"keyed"`
	Parallelism      *int     `yaml:"parallelism"`
	MaxParallelism   *int     `yaml:"maxParallelism"`
	Capacity         *float64 `yaml:"capacity"`
	ScalingExponent  *float64 `yaml:"scalingExponent"`
	SerialFraction   *float64 `yaml:"serialFraction"`
	Selectivity      *float64 `yaml:"selectivity"`
	Partitions       *int     `yaml:"partitions"`
	SlotSharingGroup string   `yaml:"slotSharingGroup"`
	rawVertexRuntime `yaml:",inline"`
}

type rawStep struct {
	At   *time.Duration `yaml:"at"`
	Rate *float64       `yaml:"rate"`
}

type rawLoad struct {
	Pattern              string         `yaml:"pattern"`
	Rate                 *float64       `yaml:"rate"`
	Steps                []rawStep      `yaml:"steps"`
	Mean                 *float64       `yaml:"mean"`
	Amplitude            *float64       `yaml:"amplitude"`
	Period               *time.Duration `yaml:"period"`
	Phase                *float64       `yaml:"phase"`
	Start                *float64       `yaml:"start"`
	MaxStep              *float64       `yaml:"maxStep"`
	Min                  *float64       `yaml:"min"`
	Max                  *float64       `yaml:"max"`
	Base                 *rawLoad       `yaml:"base"`
	ProbabilityPerMinute *float64       `yaml:"probabilityPerMinute"`
	Magnitude            *float64       `yaml:"magnitude"`
	SpikeDuration        *time.Duration `yaml:"spikeDuration"`
	File                 *string        `yaml:"file"`
	Noise                *float64       `yaml:"noise"`
	CorrelatedNoise      *float64       `yaml:"correlatedNoise"`
	NoiseCorrelation     *time.Duration `yaml:"noiseCorrelation"`
	Bursts               *rawBursts     `yaml:"bursts"`
}

type rawBursts struct {
	PerHour   *float64       `yaml:"perHour"`
	Magnitude *float64       `yaml:"magnitude"`
	Duration  *time.Duration `yaml:"duration"`
}

type rawSLO struct {
	MaxLagSeconds *float64 `yaml:"maxLagSeconds"`
}

// decodeRaw decodes data strictly (unknown fields are errors) and reports
// decode problems at field paths. It returns nil when the document could not
// be read at all.
func decodeRaw(data []byte, ps *problems) *rawScenario {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		ps.add("", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		return nil
	}
	if len(root.Content) == 0 {
		ps.add("", "empty scenario")
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var raw rawScenario
	err := dec.Decode(&raw)
	var te *yaml.TypeError
	switch {
	case err == nil:
	case errors.As(err, &te):
		idx := indexPaths(root.Content[0])
		for _, msg := range te.Errors {
			path, text := idx.locate(msg)
			ps.add(path, "%s", text)
		}
	default:
		ps.add("", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		return nil
	}
	return &raw
}

// pathIndex maps source lines to the field paths of the keys and values on
// them, to turn yaml.v3's "line N: …" messages into field paths.
type pathIndex struct {
	keys   map[int][]keyAt // line → keys on it
	values map[int]string  // line → path of the value starting on it
}

type keyAt struct {
	key, path string
}

func indexPaths(n *yaml.Node) pathIndex {
	idx := pathIndex{keys: map[int][]keyAt{}, values: map[int]string{}}
	idx.walk(n, "")
	return idx
}

func (idx pathIndex) walk(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := joinPath(path, k.Value)
			idx.keys[k.Line] = append(idx.keys[k.Line], keyAt{key: k.Value, path: p})
			if _, ok := idx.values[v.Line]; !ok || v.Kind == yaml.ScalarNode {
				idx.values[v.Line] = p
			}
			idx.walk(v, p)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			if _, ok := idx.values[c.Line]; !ok || c.Kind == yaml.ScalarNode {
				idx.values[c.Line] = p
			}
			idx.walk(c, p)
		}
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var (
	reUnknownField = regexp.MustCompile(`^line (\d+): field (\S+) not found in type \S+$`)
	reLine         = regexp.MustCompile(`^line (\d+): (.*)$`)
	reGoType       = regexp.MustCompile(`into (\*?)(time\.Duration|float64|int64|int|bool|string|\[\][\w.]+|flinksim\.\w+)`)
)

// locate turns one yaml.v3 type error into a field path and a message.
func (idx pathIndex) locate(msg string) (string, string) {
	if m := reUnknownField.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		for _, k := range idx.keys[line] {
			if k.key == m[2] {
				return k.path, "unknown field"
			}
		}
		return "line " + m[1] + "." + m[2], "unknown field"
	}
	m := reLine.FindStringSubmatch(msg)
	if m == nil {
		return "", msg
	}
	line, _ := strconv.Atoi(m[1])
	text := reGoType.ReplaceAllStringFunc(m[2], func(s string) string {
		return "into " + friendlyType(reGoType.FindStringSubmatch(s)[2])
	})
	if p, ok := idx.values[line]; ok {
		return p, text
	}
	return "line " + m[1], text
}

func friendlyType(goType string) string {
	switch goType {
	case "time.Duration":
		return "a duration (e.g. 30s, 2h)"
	case "float64":
		return "a number"
	case "int", "int64":
		return "an integer"
	case "bool":
		return "true or false"
	case "string":
		return "a string"
	}
	if strings.HasPrefix(goType, "[]") {
		return "a list"
	}
	return "a mapping"
}
