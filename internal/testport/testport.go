// Package testport hands tests loopback TCP ports to give a server that is
// started later (a nats-server process, a NATS cluster's routes, a
// function's listen address).
//
// Picking a port by listening on 127.0.0.1:0 and closing it races: the
// kernel hands out the same range for every other :0 listen and every
// outgoing connection on the machine, so another process can take the port
// before the server binds it. A port from Port is instead:
//   - outside the kernel's ephemeral range (net.ipv4.ip_local_port_range on
//     Linux, 49152–65535 elsewhere), which the kernel never assigns on its
//     own, so only an explicit bind can take it;
//   - held, until the test ends, under an exclusive flock of a file named
//     after it in a shared temporary directory, so no other test process of
//     this repository (go test runs packages in parallel) is handed it;
//   - free when handed out (a listen on it succeeded).
package testport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// lowest and highest bound the ports Port picks from, before the
// ephemeral range is cut out of them.
const (
	lowest  = 15000
	highest = 65000
)

// tries is how many ports Port tries before it fails the test.
const tries = 500

// Port returns a loopback TCP port that was free when returned, lies outside
// the kernel's ephemeral range and is held for this test (see the package
// comment) until t's cleanup. It fails the test when it finds none.
func Port(t testing.TB) int {
	t.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("flinkscaler-testport-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("testport: %v", err)
	}
	lo, hi := ephemeralRange()
	for range tries {
		p := lowest + rand.IntN(highest-lowest+1)
		if p >= lo && p <= hi {
			continue
		}
		release, ok := hold(filepath.Join(dir, strconv.Itoa(p)))
		if !ok {
			continue
		}
		if !free(p) {
			release()
			continue
		}
		t.Cleanup(release)
		return p
	}
	t.Fatalf("testport: no free port in %d tries", tries)
	return 0
}

// Addr is Port as "127.0.0.1:<port>".
func Addr(t testing.TB) string {
	t.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(Port(t)))
}

// free reports whether a listen on 127.0.0.1:p succeeds now.
func free(p int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		return false
	}
	return l.Close() == nil
}

// ephemeralRange is the kernel's range for ports it assigns itself: Linux's
// net.ipv4.ip_local_port_range, or IANA's 49152–65535 where that file is
// not there (macOS and the BSDs use it by default).
func ephemeralRange() (lo, hi int) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 49152, 65535
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 49152, 65535
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || lo > hi {
		return 49152, 65535
	}
	return lo, hi
}
