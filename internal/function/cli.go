package function

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
)

// ErrUsage marks a command-line error: the message says what is wrong and
// how to fix it; the caller exits 2 without printing the usage.
var ErrUsage = errors.New("usage")

// EnvPrefix starts every function's environment variable.
const EnvPrefix = "FLINKSCALER_"

// envOverrides are the variables that do not follow EnvName's rule.
var envOverrides = map[string]string{"nats": "FLINKSCALER_NATS_URL"}

// EnvName is the environment variable that sets flag name: FLINKSCALER_
// and the name in upper case with '-' as '_'. One-letter flags have none.
func EnvName(name string) string {
	if v, ok := envOverrides[name]; ok {
		return v
	}
	if len(name) < 2 {
		return ""
	}
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// NewFlagSet returns the flag set of a function's command ("flinkscaler
// NAME"), whose --help prints synopsis, summary and every flag with its
// default and environment variable to w. Parse it with Parse and getenv.
func NewFlagSet(command, synopsis, summary string, w io.Writer) *flag.FlagSet {
	return newFlagSet(command, synopsis, summary, w, true)
}

// NewToolFlagSet is NewFlagSet for a command that reads no environment
// (Parse with a nil getenv): its help names no variables.
func NewToolFlagSet(command, synopsis string, w io.Writer) *flag.FlagSet {
	return newFlagSet(command, synopsis, "", w, false)
}

func newFlagSet(command, synopsis, summary string, w io.Writer, env bool) *flag.FlagSet {
	fs := flag.NewFlagSet(command, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // Parse reports errors itself, in one line
	fs.Usage = func() { PrintUsage(w, fs, synopsis, summary, env) }
	return fs
}

// PrintUsage writes the help of a command: its synopsis, a summary and the
// flags in order, each with its default and, with env, its environment
// variable.
func PrintUsage(w io.Writer, fs *flag.FlagSet, synopsis, summary string, env bool) {
	fmt.Fprintf(w, "Usage: %s\n", synopsis)
	if summary != "" {
		fmt.Fprintf(w, "\n%s\n", summary)
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		fmt.Fprintln(w, "\nFlags: none")
		return
	}
	fmt.Fprintln(w, "\nFlags:")
	fs.VisitAll(func(f *flag.Flag) {
		kind, usage := flag.UnquoteUsage(f)
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-"
		}
		fmt.Fprintf(w, "  %s\n", strings.TrimSpace(dash+f.Name+" "+kind))
		var notes []string
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
			notes = append(notes, "default "+f.DefValue)
		}
		if name := EnvName(f.Name); env && name != "" {
			notes = append(notes, "env "+name)
		}
		if len(notes) > 0 {
			usage += " (" + strings.Join(notes, "; ") + ")"
		}
		fmt.Fprintf(w, "        %s\n", usage)
	})
}

// Parse parses args into fs, then sets each flag not given on the command
// line from its environment variable (EnvName) when that is set, through
// getenv. Errors are one line with a hint, wrapping ErrUsage; --help prints
// the usage and returns flag.ErrHelp. Positional arguments are errors.
func Parse(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := ParseWithArgs(fs, args, getenv); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q; flags start with --, see '%s --help'", ErrUsage, fs.Arg(0), fs.Name())
	}
	return nil
}

// ParseWithArgs is Parse for a command that takes positional arguments
// after its flags (fs.Args).
func ParseWithArgs(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	usage := fs.Usage
	fs.Usage = func() {} // the flag package calls it on every error
	err := fs.Parse(args)
	fs.Usage = usage
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.Usage()
			return err
		}
		return fmt.Errorf("%w: %s", ErrUsage, hint(fs, err))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		env := EnvName(f.Name)
		if env == "" || given[f.Name] || getenv == nil {
			return
		}
		if v := getenv(env); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %s", env, v, valueHint(f, err)))
			}
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrUsage, errors.Join(errs...))
	}
	return nil
}

var (
	invalidRE   = regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for flag -(\S+): (.*)$`)
	undefinedRE = regexp.MustCompile(`^flag provided but not defined: -+(\S+)$`)
)

// hint rewrites an error of the flag package into one line that says what
// to write instead.
func hint(fs *flag.FlagSet, err error) string {
	help := fmt.Sprintf("see '%s --help'", fs.Name())
	msg := err.Error()
	if m := invalidRE.FindStringSubmatch(msg); m != nil {
		f := fs.Lookup(m[2])
		if f == nil {
			return msg + "; " + help
		}
		return fmt.Sprintf("--%s %q: %s", m[2], m[1], valueHint(f, errors.New(m[3])))
	}
	if m := undefinedRE.FindStringSubmatch(msg); m != nil {
		if near := nearest(fs, m[1]); near != "" {
			return fmt.Sprintf("unknown flag --%s; did you mean --%s? (%s)", m[1], near, help)
		}
		return fmt.Sprintf("unknown flag --%s; %s", m[1], help)
	}
	return msg + "; " + help
}

// valueHint explains a rejected flag value by the flag's type.
func valueHint(f *flag.Flag, err error) string {
	getter, ok := f.Value.(flag.Getter)
	if !ok {
		return err.Error()
	}
	switch getter.Get().(type) {
	case time.Duration:
		return "not a duration; write a number with a unit, e.g. 500ms, 10s, 2m, 1h"
	case bool:
		return "not a boolean; write true or false"
	case int, int64, uint, uint64:
		return "not a whole number"
	case float64:
		return "not a number"
	}
	return err.Error()
}

// nearest is the flag of fs whose name is closest to name, if close.
func nearest(fs *flag.FlagSet, name string) string {
	names := map[string]int{}
	fs.VisitAll(func(f *flag.Flag) {
		if d := distance(name, f.Name); d <= max(2, len(name)/4) {
			names[f.Name] = d
		}
	})
	best := ""
	for _, n := range slices.Sorted(maps.Keys(names)) {
		if best == "" || names[n] < names[best] {
			best = n
		}
	}
	return best
}

// distance is the Levenshtein distance of a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
