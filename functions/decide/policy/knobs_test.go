package policy

import (
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// knobs returns every field of a policy file, by its dotted YAML path
// (a map's key as *), with its default.
func knobs(v reflect.Value, prefix string, out map[string]reflect.Value) {
	t := v.Type()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		path := prefix + name
		fv := v.Field(i)
		switch {
		case fv.Kind() == reflect.Struct:
			knobs(fv, path+".", out)
		case fv.Kind() == reflect.Map && fv.Type().Elem().Kind() == reflect.Struct:
			knobs(reflect.New(fv.Type().Elem()).Elem(), path+".*.", out)
		default:
			out[path] = fv
		}
	}
}

// docRow is one row of docs/policy.md's "Fields" table: the fields it
// names and the defaults it states, in order.
type docRow struct {
	fields, defaults []string
	why              string
}

var backticked = regexp.MustCompile("`([^`]*)`")

// docFields reads the "Fields" table of docs/policy.md. A field written
// `.max` after `parallelism.min` is parallelism.max; <name or id> is *.
func docFields(t *testing.T) []docRow {
	t.Helper()
	raw, err := os.ReadFile("../../../docs/policy.md")
	require.NoError(t, err)
	_, table, ok := strings.Cut(string(raw), "\n## Fields\n")
	require.True(t, ok, "docs/policy.md has a Fields section")
	table, _, _ = strings.Cut(table, "\n## ")
	var rows []docRow
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, " | ")
		if !strings.HasPrefix(line, "| `") || len(cells) < 4 {
			continue
		}
		var r docRow
		parent := ""
		for _, m := range backticked.FindAllStringSubmatch(cells[0], -1) {
			f := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(m[1], "*")
			if strings.HasPrefix(f, ".") {
				f = parent + f
			} else if i := strings.LastIndex(f, "."); i >= 0 {
				parent = f[:i]
			}
			r.fields = append(r.fields, f)
		}
		for _, m := range backticked.FindAllStringSubmatch(cells[1], -1) {
			r.defaults = append(r.defaults, m[1])
		}
		r.why = strings.TrimSuffix(strings.TrimSpace(strings.Join(cells[3:], " | ")), "|")
		rows = append(rows, r)
	}
	return rows
}

// TestEveryKnobDocumented: every field of a policy file has a row in
// docs/policy.md's "Fields" table with the reason it exists and its
// default as Defaults() sets it, and every row names a field that exists:
// a knob added, removed or changed without its entry fails here.
func TestEveryKnobDocumented(t *testing.T) {
	all := map[string]reflect.Value{}
	knobs(reflect.ValueOf(Defaults()), "", all)
	documented := map[string]bool{}
	for _, r := range docFields(t) {
		assert.NotEmpty(t, strings.TrimSpace(r.why), "%v: why it exists and what moving it trades", r.fields)
		for i, f := range r.fields {
			documented[f] = true
			def, ok := all[f]
			if !assert.True(t, ok, "docs/policy.md documents %q, which is no field of the policy", f) {
				continue
			}
			want := ""
			switch {
			case len(r.defaults) > i:
				want = r.defaults[i]
			case len(r.defaults) > 0:
				want = r.defaults[len(r.defaults)-1]
			}
			assert.True(t, sameDefault(def, want), "%s: docs/policy.md says the default is %q, Defaults() sets %v", f, want, def)
		}
	}
	for f := range all {
		assert.True(t, documented[f], "policy field %q has no row in docs/policy.md's Fields table (why it exists, what moving it trades)", f)
	}
}

// sameDefault reports whether doc (a default as docs/policy.md writes
// it; "" for none) is v.
func sameDefault(v reflect.Value, doc string) bool {
	if doc == "" {
		return v.IsZero()
	}
	switch x := v.Interface().(type) {
	case time.Duration:
		d, err := time.ParseDuration(doc)
		return err == nil && d == x
	case float64:
		f, err := strconv.ParseFloat(doc, 64)
		return err == nil && f == x
	case int:
		n, err := strconv.Atoi(doc)
		return err == nil && n == x
	case bool:
		b, err := strconv.ParseBool(doc)
		return err == nil && b == x
	case string:
		return doc == x
	}
	return false
}
