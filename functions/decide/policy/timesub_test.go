package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestTimeSubIsSub: timeSub returns t.Sub(u) for times with and without
// monotonic readings, in another location, far apart (Sub saturates), at
// the zero time and across a second's nanoseconds.
func TestTimeSubIsSub(t *testing.T) {
	base := time.Date(2026, 12, 5, 20, 30, 0, 999_999_999, time.UTC)
	now := time.Now()
	times := []time.Time{
		{}, base, base.Add(time.Nanosecond), base.Add(-time.Nanosecond), base.Add(10 * time.Second),
		base.Add(-10*time.Second + 1), base.In(time.FixedZone("x", 3600)), base.AddDate(299, 0, 0),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1678, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2262, 4, 11, 23, 47, 16, 854775807, time.UTC),
		time.Unix(1<<32, 5), time.Unix(-1<<32, 7), time.Unix(1<<32-1, 999_999_999), time.Unix(0, 0),
		now, now.Add(time.Second), now.Add(-time.Hour).Round(0), now.Round(0), now.AddDate(200, 0, 0),
	}
	for _, a := range times {
		for _, b := range times {
			if got, want := timeSub(a, b), a.Sub(b); got != want {
				t.Errorf("timeSub(%v, %v) = %v, Sub %v", a, b, got, want)
			}
		}
	}
}

// TestSameTimeIsEqual: sameTime is Equal for equal and unequal times, the
// same instant in two locations, with and without monotonic readings.
func TestSameTimeIsEqual(t *testing.T) {
	base := time.Date(2026, 12, 5, 23, 30, 0, 5, time.UTC)
	now := time.Now()
	times := []time.Time{
		{}, base, base.Add(time.Nanosecond), base.In(time.FixedZone("x", 3600)), base.Local(),
		now, now.Round(0), now.Add(time.Second), now.UTC(), time.Unix(0, 0), time.Unix(0, 0).UTC(),
	}
	for _, a := range times {
		for _, b := range times {
			require.Equal(t, a.Equal(b), sameTime(a, b), "%v, %v", a, b)
		}
	}
}
