package testport

import (
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPortIsOutsideTheEphemeralRangeAndBindable: a port the kernel could
// hand to any :0 listen or outgoing connection is what made the old
// listen-close-rebind helpers race.
func TestPortIsOutsideTheEphemeralRangeAndBindable(t *testing.T) {
	lo, hi := ephemeralRange()
	for range 20 {
		p := Port(t)
		require.True(t, p < lo || p > hi, "port %d is in the ephemeral range %d–%d", p, lo, hi)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		require.NoError(t, err)
		require.NoError(t, l.Close())
	}
}

// TestPortIsNotHandedOutTwiceWhileHeld: ports held by this test (or by
// another test process) are skipped until the holder's cleanup.
func TestPortIsNotHandedOutTwiceWhileHeld(t *testing.T) {
	seen := map[int]bool{}
	for range 200 {
		p := Port(t)
		require.False(t, seen[p], "port %d handed out twice", p)
		seen[p] = true
	}
}

// TestAddrIsLoopback: Addr names 127.0.0.1 and a port from Port.
func TestAddrIsLoopback(t *testing.T) {
	host, port, err := net.SplitHostPort(Addr(t))
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1", host)
	p, err := strconv.Atoi(port)
	require.NoError(t, err)
	lo, hi := ephemeralRange()
	require.True(t, p < lo || p > hi)
}
