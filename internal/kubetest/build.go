package kubetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// sourceDir is the apiserver module, relative to the main module's root.
const sourceDir = "test/kubeapiserver"

// ErrBuild is wrapped by every failure to locate, build or cache the
// apiserver binary.
var ErrBuild = errors.New("kubetest: build kube-apiserver")

var (
	binaryMu   sync.Mutex
	binaryPath string
	tools      = map[string]string{} // module dir → built binary
)

// Binary returns the path of the test kube-apiserver binary, building it on
// first use. The binary is cached under os.UserCacheDir()/flinkscaler, keyed by
// a hash of the module's sources and the Go toolchain, so it is built once per
// machine; a file lock keeps parallel test binaries from building it twice.
// The first build downloads modules from GOPROXY and takes minutes.
func Binary() (string, error) {
	binaryMu.Lock()
	defer binaryMu.Unlock()
	if binaryPath != "" {
		return binaryPath, nil
	}
	p, err := buildCached(sourceDir, "kubeapiserver")
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBuild, err)
	}
	binaryPath = p
	return p, nil
}

// Tool returns the binary of another helper module of the repository (dir
// relative to the main module's root, with its own go.mod), built and
// cached exactly as Binary builds the apiserver.
func Tool(dir, name string) (string, error) {
	binaryMu.Lock()
	defer binaryMu.Unlock()
	if p, ok := tools[dir]; ok {
		return p, nil
	}
	p, err := buildCached(dir, name)
	if err != nil {
		return "", fmt.Errorf("kubetest: build %s: %w", dir, err)
	}
	tools[dir] = p
	return p, nil
}

func buildCached(rel, name string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command is needed to build %s: %w", rel, err)
	}
	src, err := moduleSource(goTool, rel)
	if err != nil {
		return "", err
	}
	key, err := sourceKey(goTool, src)
	if err != nil {
		return "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("cache dir: %w", err)
	}
	dir := filepath.Join(cache, "flinkscaler")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cache dir: %w", err)
	}
	bin := filepath.Join(dir, name+"-"+key+exeSuffix())
	lock, unlock, err := lockFile(bin + ".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	return bin, goBuild(goTool, src, bin, lock)
}

// moduleSource finds the module rel beside the main module's go.mod.
func moduleSource(goTool, rel string) (string, error) {
	out, err := exec.Command(goTool, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the flinkscaler module (go env GOMOD is empty)")
	}
	src := filepath.Join(filepath.Dir(gomod), filepath.FromSlash(rel))
	if _, err := os.Stat(filepath.Join(src, "go.mod")); err != nil {
		return "", fmt.Errorf("module %s: %w", rel, err)
	}
	return src, nil
}

// sourceKey hashes go.mod, go.sum and the .go files of src, the Go version
// and the target platform.
func sourceKey(goTool, src string) (string, error) {
	names, err := filepath.Glob(filepath.Join(src, "*.go"))
	if err != nil {
		return "", err
	}
	names = append(names, filepath.Join(src, "go.mod"), filepath.Join(src, "go.sum"))
	sort.Strings(names)
	version, err := exec.Command(goTool, "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION: %w", err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s %s/%s\n", bytes.TrimSpace(version), runtime.GOOS, runtime.GOARCH)
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", filepath.Base(n), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// goBuild builds src into a temporary file beside bin and renames it into
// place, so a reader never sees a partial binary. Where there is a POSIX
// shell the shell builds and renames, its output goes to a file and it
// holds lock (the build lock, when there is one): a first build that
// outlives its test binary (go test's timeout cut it) still installs bin,
// and the next run waits for it on the lock instead of building beside it.
func goBuild(goTool, src, bin string, lock *os.File) error {
	tmp := fmt.Sprintf("%s.%d.tmp", bin, os.Getpid())
	logFile := tmp + ".log"
	var cmd *exec.Cmd
	if sh, err := exec.LookPath("sh"); err == nil {
		cmd = exec.Command(sh, "-c", `if "$0" build -o "$1" . >"$3" 2>&1; then mv -f "$1" "$2" && rm -f "$3"; else rm -f "$1"; exit 1; fi`,
			goTool, tmp, bin, logFile)
		if lock != nil {
			cmd.ExtraFiles = []*os.File{lock}
		}
	} else {
		cmd = exec.Command(goTool, "build", "-o", tmp, ".")
	}
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if log, readErr := os.ReadFile(logFile); readErr == nil {
		out = append(out, log...)
		os.Remove(logFile)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("go build in %s (the first build needs the Go module proxy and may take minutes): %w\n%s",
			src, err, tail(out, 4000))
	}
	if _, err := os.Stat(bin); err == nil {
		return nil // the shell renamed it
	}
	return os.Rename(tmp, bin)
}

func exeSuffix() string {
	if runtime.GOOS == "windows" {
		return ".exe"
	}
	return ""
}

// tail returns the last n bytes of b.
func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
