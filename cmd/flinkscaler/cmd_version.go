package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set at release builds: -ldflags "-X main.version=v0.2.0".
// Otherwise the module version and the VCS revision of the build are shown.
var version = ""

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "version", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, versionLine(debug.ReadBuildInfo()))
	return nil
}

// versionLine is "flinkscaler VERSION (revision REV[, modified], built TIME) GOVERSION OS/ARCH".
func versionLine(info *debug.BuildInfo, ok bool) string {
	v, rev, at, dirty := version, "unknown", "", false
	if ok {
		if v == "" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	detail := "revision " + rev
	if dirty {
		detail += ", modified"
	}
	if at != "" {
		detail += ", committed " + at
	}
	return fmt.Sprintf("flinkscaler %s (%s) %s %s/%s", v, detail, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
