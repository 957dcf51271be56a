package policy

import (
	"math"
	"time"
)

// meterSpan is the span of Flink's rate meters (MeterView): a sample's
// records in per second are the records of the 60 s before it ÷ 60.
const meterSpan = time.Minute

// freshSpan is how far back freshOffered looks: two samples at the default
// 10 s interval, so that one sample's noise does not make a rise.
const freshSpan = 20 * time.Second

// freshRise is the least rise over the minute's average that freshOffered
// must show to be taken, in the offered rate and in the pending records'
// growth per second; on loads without a step the fresh reading's ratio to
// the minute's average stays within ±5 % in 95 % of samples
// (constant-noise, nexmark-q1).
const freshRise = 0.1

// freshOffered is source i's offered rate over the last freshSpan of w
// (records read + pending growth, ÷ the span), where its rate meter
// averages the last minute. The records read between an earlier sample k
// and the latest are 60 s × the meters' difference plus those read in the
// same span a minute earlier, taken at the rate of the meter whose minute
// is centred on that span (sample m). A load step shows in full at once,
// where the minute's average shows a part of it (wordcount: 35 k rec/s
// read 40 s after a step to 45 k). ok is false when the window lacks
// settled samples of the run that far back; growth is the pending
// records' growth per second over the span. A source that shows no
// pending records in the latest sample (a blind one) is read the same way
// from samples without them, with no growth.
func freshOffered(w []Sample, i int, settle time.Duration) (offered, growth float64, ok bool) {
	return freshOfferedRamp(w, nil, i, settle)
}

// freshOfferedRamp is freshOffered where, in a run too young for a
// settled sample a minute before the span (a step within ~1.5 min of a
// (re)start), the meter of the span a minute earlier may be read from
// young: w de-ramped (deramped; nil for none), its run's samples at least
// settle/2 old divided by their meters' ramp, so they read the rate since
// the start.
func freshOfferedRamp(w, young []Sample, i int, settle time.Duration) (offered, growth float64, ok bool) {
	n := len(w)
	if n < 3 {
		return 0, 0, false
	}
	last := w[n-1]
	shows := i < len(last.V) && last.V[i].Pending >= 0
	usable := func(s Sample) bool {
		return sameTime(s.Epoch, last.Epoch) && timeSub(s.At, s.Epoch) >= settle && i < len(s.V) && (s.V[i].Pending >= 0) == shows
	}
	lastAt := fetchedAt(w, n-1, i)
	k := n - 2
	for k >= 0 && timeSub(lastAt, fetchedAt(w, k, i)) < freshSpan {
		k--
	}
	if k < 0 || !usable(w[k]) || !usable(last) {
		return 0, 0, false
	}
	kAt := fetchedAt(w, k, i)
	span := lastAt.Sub(kAt)
	m := k
	for m >= 0 && timeSub(kAt, fetchedAt(w, m, i)) < (meterSpan-span)/2 {
		m--
	}
	if m < 0 {
		return 0, 0, false
	}
	before := w[m].V[i].In
	if !usable(w[m]) {
		y := young
		if len(y) != n || !sameTime(y[m].Epoch, last.Epoch) || timeSub(y[m].At, y[m].Epoch) < settle/2 || i >= len(y[m].V) || (y[m].V[i].Pending >= 0) != shows {
			return 0, 0, false
		}
		before = y[m].V[i].In
	}
	dt := span.Seconds()
	read := meterSpan.Seconds()*(last.V[i].In-w[k].V[i].In) + dt*before
	if shows {
		growth = (last.V[i].Pending - w[k].V[i].Pending) / dt
	}
	return math.Max(read/dt+growth, 0), growth, true
}

// fetchedAt is when sample j's reading of vertex i was fetched: the time
// of the sample before it, in the same run, when j's reading repeats that
// one's exactly (sameReading), else its own. The
// JobManager fetches the TaskManagers' metrics at most every 10 s and
// answers a poll from its previous fetch, so a poll under 10 s after the
// last fetch gets the same reading again, pending records included (real
// Flink, constant-noise on the sandbox, session 19: the source's rates
// and pending records identical at two pairs of polls 11 s apart in the
// first two minutes). Read at the poll's own time, a repeat at the start
// of freshSpan counts the span's growth over fewer seconds than it took,
// half as much again at 10-s polls, and reads a step up where the load is
// flat (ours' run of the same job: "a step up read over the last 20s" of
// 854 rec/s where 600 are offered, 1:12 into the run, and 9 slots where 6
// had been chosen 10 s before). One poll back at most: at 10-s polls and
// fetches a fetch is answered twice, not more.
func fetchedAt(w []Sample, j, i int) time.Time {
	if j > 0 && sameTime(w[j-1].Epoch, w[j].Epoch) && i < len(w[j-1].V) && i < len(w[j].V) && sameReading(w[j-1].V[i], w[j].V[i]) {
		return w[j-1].At
	}
	return w[j].At
}

// sameReading: a and b are the same fetch of a source's meters: records
// flowing and backing up, and every figure equal. Pending records that
// hold to the record while records flow are a repeated fetch; a steady
// source with none pending (or none shown) reads the same at every poll
// on a flat load (the emulator's constant rates: wordcount-flatmap's
// scale-down after its step down was read 3.5 minutes late when those
// were taken for repeats), and its growth is nil either way.
func sameReading(a, b VertexSample) bool {
	return a.In > 0 && a.Pending > 0 && a.In == b.In && a.Out == b.Out && a.Pending == b.Pending
}

// risenOffered is source i's offered rate: mean (records in + pending
// growth over the rate window), or freshOffered when that is at least
// freshRise above it while the source's pending records grew over the
// same span by at least freshRise × mean per second: a step up that the
// minute's meters show only in part. Sized on the part, a scale-up needs a
// second restart and its drain takes longer than priced. What it trades:
// the step is read at once at the price of a reading over two samples
// (noisier than the minute's), taken only on a rise that backs up records.
//
// In a run too young for a settled sample a minute before the span, the
// span a minute earlier is read from young (freshOfferedRamp): a step
// within ~1.5 min of a (re)start is read at once, not as the part the
// ramping minute shows (wordcount at fast timing, a step 2 s after the
// meters settle: 29 k of 44 k read 28 s after it).
func risenOffered(w, young []Sample, i int, settle time.Duration, mean float64) float64 {
	if mean <= 0 {
		return mean
	}
	f, growth, ok := freshOfferedRamp(w, young, i, settle)
	if !ok || f < mean*(1+freshRise) || growth < freshRise*mean {
		return mean
	}
	return f
}
