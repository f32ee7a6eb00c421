// Package weather reads lightning and storm data from outside sources and
// turns each source's format into the same few values: strikes with a
// distance from the site, thunderstorm context, and the source's health.
//
// A Poller is asked on a schedule (HTTP APIs); a Streamer pushes as data
// arrives (MQTT feeds, UDP broadcasts, replays). Sources that locate or
// estimate strikes have Kind Trigger; forecast and alert sources have Kind
// Context and only arm a watch unless the user says otherwise.
package weather

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Kind says what a source's data may be used for.
type Kind int

const (
	// Trigger sources report strikes with a distance; they may start a countdown.
	Trigger Kind = iota
	// Context sources report forecasts and warnings; they arm the watch.
	Context
)

func (k Kind) String() string {
	if k == Context {
		return "context"
	}
	return "trigger"
}

// Site is the place being protected.
type Site struct {
	Lat float64
	Lon float64
}

// Strike is one lightning observation, located or estimated, relative to the site.
type Strike struct {
	Time       time.Time
	Source     string
	DistanceKM float64
	// BearingDeg is the direction from the site to the strike, clockwise from
	// north; valid only when HasBearing is true (single-sensor sources have none).
	BearingDeg float64
	HasBearing bool
	// Estimate marks a sensor's estimate of the distance to the storm front
	// (Tempest, Ecowitt WH57, AS3935) rather than a located strike.
	Estimate bool
}

// Signal is a context observation: a thunderstorm forecast code or an
// official warning that covers the site.
type Signal struct {
	Time   time.Time
	Source string
	// Thunderstorm is true when the signal says a thunderstorm is present or expected.
	Thunderstorm bool
	// Detail is a short human text, e.g. "weather code 95" or "Severe Thunderstorm Warning".
	Detail string
	// Until is when the signal stops applying; zero when unknown.
	Until time.Time
}

// Report is what one poll or one streamed message yields.
type Report struct {
	Source  string
	At      time.Time
	Strikes []Strike
	Signals []Signal
	// Blind is true when the source says it cannot currently detect lightning
	// (sensor failed, power-save mode, offline availability topic).
	Blind  bool
	Detail string
	// Link, when set, is news about an event feed's connection and nothing
	// else: the report carries no strikes and leaves the rest of the
	// source's health as it was. Detail says why a link went down.
	Link Link
	// Rejected counts messages the source received but would not decode
	// (too big, malformed); RejectedWhy says why, for the source's health.
	// A report with only Rejected set says nothing else about the source.
	Rejected    int
	RejectedWhy string
}

// Aside reports whether r is only news about the link or about rejected
// messages, not the source's own report of what it sees.
func (r Report) Aside() bool {
	return r.Link != LinkNone || (r.Rejected > 0 && len(r.Strikes) == 0 && len(r.Signals) == 0 && !r.Blind)
}

// Link is the state of an event feed's connection.
type Link int

const (
	// LinkNone means the report says nothing about the connection.
	LinkNone Link = iota
	// LinkUp means the feed is connected and subscribed.
	LinkUp
	// LinkDown means the feed lost its connection; it is reconnecting.
	LinkDown
)

func (l Link) String() string {
	switch l {
	case LinkUp:
		return "up"
	case LinkDown:
		return "down"
	}
	return ""
}

// Liveness says how a source shows that it is working, which decides what
// its silence means.
type Liveness int

const (
	// Answers is a source that answers on a schedule: every poll, or a
	// periodic message such as the Tempest's obs_st each minute. Going
	// without an answer or an error for a while means it cannot be seen
	// through.
	Answers Liveness = iota
	// Connection is an event feed that sends only when there is lightning
	// near (a strike feed filtered to the site's tiles, a lightning sensor):
	// silence is fair weather, and its connection, reported in Link
	// reports, is its health. The MQTT feeds report it when their
	// Subscriber is Linked (mqtt.Client is); on any other, such a feed says
	// nothing until its first strike and counts as silent until then.
	Connection
)

func (l Liveness) String() string {
	if l == Connection {
		return "connection"
	}
	return "answers"
}

// LivenessOf returns how s shows it is working: what its Liveness method
// says, or Answers for a source without one.
func LivenessOf(s Source) Liveness {
	if l, ok := s.(interface{ Liveness() Liveness }); ok {
		return l.Liveness()
	}
	return Answers
}

// Source is the part every source shares.
type Source interface {
	Name() string
	Kind() Kind
}

// Poller is a source asked on a schedule.
type Poller interface {
	Source
	Poll(ctx context.Context) (Report, error)
}

// Streamer is a source that pushes reports until ctx ends. Stream returns
// when ctx is done or the stream fails for good; emit must not block long.
type Streamer interface {
	Source
	Stream(ctx context.Context, emit func(Report)) error
}

// ErrMalformed marks a response that could not be decoded.
var ErrMalformed = errors.New("malformed response")

// HTTPError is a non-success HTTP answer from a source.
type HTTPError struct {
	Status int
	// RetryAfter is the server's Retry-After, zero when absent.
	RetryAfter time.Duration
	Detail     string
}

func (e *HTTPError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("http %d: %s", e.Status, e.Detail)
	}
	return fmt.Sprintf("http %d", e.Status)
}

// RateLimited reports whether the error is a 429 (or a source-specific rate
// limit) and how long the server asked to wait.
func RateLimited(err error) (time.Duration, bool) {
	var he *HTTPError
	if errors.As(err, &he) && he.Status == 429 {
		return he.RetryAfter, true
	}
	return 0, false
}
