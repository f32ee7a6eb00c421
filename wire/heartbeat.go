package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Heartbeat is the topic on which resource res says it is still there:
// "stormguard/heartbeat/<res>". It sits beside, not inside, the Service
// Manager's resourceavailable/ tree, so a manager that knows only the
// original convention never mistakes a beat for a presence.
func (t Topics) Heartbeat(res string) string { return t.join("stormguard", "heartbeat", res) }

// HeartbeatFilter matches every resource's heartbeat topic.
func (t Topics) HeartbeatFilter() string { return t.Heartbeat("+") }

// ParseHeartbeat returns the resource of a heartbeat topic; it may be any
// non-empty topic level (see ValidLevel).
func (t Topics) ParseHeartbeat(topic string) (string, bool) {
	parts, ok := t.levels(topic)
	if !ok || len(parts) != 3 || parts[0] != "stormguard" || parts[1] != "heartbeat" || parts[2] == "" || ValidLevel(parts[2]) != nil {
		return "", false
	}
	return parts[2], true
}

// Beat is the payload of a heartbeat, published retained at QoS 0 every
// Interval:
//
//	{"v":1,"at":"2026-12-01T16:00:00Z","interval_ms":10000,"seq":42}
//
// A watcher that hears a resource beat once expects the next beat within
// Interval and judges it gone after a few missed (see Beat.Gone). The beat
// is retained so a watcher that starts later learns at once who beats; it
// then counts the misses from when it heard the beat, not from At, so a
// wrong clock on either side cannot make a resource look gone.
type Beat struct {
	V int
	// At is the sender's clock when it sent the beat.
	At time.Time
	// Interval is how often the sender beats.
	Interval time.Duration
	// Seq counts the beats since the sender started.
	Seq uint64
}

// MaxBeat bounds a heartbeat payload; a beat is about 80 bytes.
const MaxBeat = 1024

// Heartbeat limits: an interval under MinBeatInterval would flood a big
// fleet's broker; one over MaxBeatInterval makes the judgement useless.
const (
	MinBeatInterval = 100 * time.Millisecond
	MaxBeatInterval = 24 * time.Hour
)

// ErrBeat marks a heartbeat payload that is not one.
var ErrBeat = errors.New("not a heartbeat")

type beatJSON struct {
	V          int       `json:"v"`
	At         time.Time `json:"at"`
	IntervalMS int64     `json:"interval_ms"`
	Seq        uint64    `json:"seq"`
}

// Encode returns the JSON payload of b.
func (b Beat) Encode() ([]byte, error) {
	if b.Interval < MinBeatInterval || b.Interval > MaxBeatInterval {
		return nil, fmt.Errorf("encode heartbeat: interval %v outside %v to %v", b.Interval, MinBeatInterval, MaxBeatInterval)
	}
	return json.Marshal(beatJSON{V: Version, At: b.At.UTC(), IntervalMS: b.Interval.Milliseconds(), Seq: b.Seq})
}

// DecodeBeat parses a heartbeat payload. Unknown fields are allowed (a
// newer sender may add some); a wrong type, a missing or out-of-range
// interval, or trailing data is an error wrapping ErrBeat.
func DecodeBeat(payload []byte) (Beat, error) {
	if len(payload) > MaxBeat {
		return Beat{}, fmt.Errorf("%w: %d bytes", ErrBeat, len(payload))
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	var j beatJSON
	if err := dec.Decode(&j); err != nil {
		return Beat{}, fmt.Errorf("%w: %v", ErrBeat, err)
	}
	if dec.More() || strings.TrimSpace(string(payload[dec.InputOffset():])) != "" {
		return Beat{}, fmt.Errorf("%w: data after the JSON object", ErrBeat)
	}
	if j.V < 1 {
		return Beat{}, fmt.Errorf("%w: version %d", ErrBeat, j.V)
	}
	iv := time.Duration(j.IntervalMS) * time.Millisecond
	if j.IntervalMS <= 0 || iv < MinBeatInterval || iv > MaxBeatInterval {
		return Beat{}, fmt.Errorf("%w: interval_ms %d outside %d to %d", ErrBeat, j.IntervalMS, MinBeatInterval.Milliseconds(), MaxBeatInterval.Milliseconds())
	}
	return Beat{V: j.V, At: j.At, Interval: iv, Seq: j.Seq}, nil
}

// DefaultMisses is how many beats in a row a resource may miss before a
// watcher judges it gone.
const DefaultMisses = 3

// Gone reports whether a resource whose last beat b was heard at heard
// has missed more than misses beats by now. A little slack (a quarter of
// an interval) keeps a beat delayed by a busy broker from counting as
// missed.
func (b Beat) Gone(heard, now time.Time, misses int) bool {
	if misses < 1 {
		misses = DefaultMisses
	}
	return now.Sub(heard) > b.Expiry(misses)
}

// Expiry is how long after a beat is heard the resource is judged gone.
func (b Beat) Expiry(misses int) time.Duration {
	if misses < 1 {
		misses = DefaultMisses
	}
	return time.Duration(misses)*b.Interval + b.Interval/4
}
