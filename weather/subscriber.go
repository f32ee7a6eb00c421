package weather

import (
	"context"
	"sync"
	"time"
)

// Subscriber is the one MQTT operation the streaming sources need, so this
// package does not depend on an MQTT client library; the cmd layer adapts
// its client to it.
type Subscriber interface {
	// Subscribe asks the broker for messages matching filter and calls
	// handle for each until ctx is done, then unsubscribes. It returns once
	// the broker has granted the subscription, or with the reason it did
	// not. handle may be called from several goroutines at once; retained is
	// true for a retained message replayed on subscribe.
	Subscribe(ctx context.Context, filter string, qos byte, handle func(topic string, payload []byte, retained bool)) error
}

// serialEmit wraps emit so that concurrent MQTT handlers call it one at a
// time, as the Streamer contract's single emit callback expects.
func serialEmit(emit func(Report)) func(Report) {
	var mu sync.Mutex
	return func(r Report) {
		mu.Lock()
		defer mu.Unlock()
		emit(r)
	}
}

// MaxFeedPayload is the largest MQTT message a feed decodes. A strike is
// about 100 bytes (300 in the relay's older format), a sensor state a few;
// anything near this size is not one, and decoding it would only cost
// memory and time.
const MaxFeedPayload = 4 << 10

// Linked is a Subscriber that tells when its connection comes and goes;
// mqtt.Client is one. An event feed on such a subscriber reports its
// connection as its health.
type Linked interface {
	Subscriber
	// Connected reports whether the connection is up now.
	Connected() bool
	// OnConnect runs f after every connect, once subscriptions are in place.
	OnConnect(f func())
	// OnLost runs f whenever an established connection is lost.
	OnLost(f func(error))
}

// linkNews turns a Linked subscriber's connection changes into Link
// reports for whichever Stream is running. The hooks are registered once
// per source, as a client keeps them for its life.
type linkNews struct {
	source string
	once   sync.Once
	mu     sync.Mutex
	emit   func(Report) // nil while no Stream runs
	last   Link
}

// start reports the link to emit from now on and says at once where it
// stands: a Stream that starts (or starts again after a failure) on a live
// connection is up. The returned func stops the reports.
func (l *linkNews) start(sub Subscriber, emit func(Report)) (stop func()) {
	ls, ok := sub.(Linked)
	if !ok {
		return func() {}
	}
	l.once.Do(func() {
		ls.OnConnect(func() { l.check(ls, "") })
		ls.OnLost(func(err error) {
			l.set(LinkDown, "connection lost: "+err.Error())
			l.check(ls, "") // it may have come back already
		})
	})
	l.mu.Lock()
	l.emit = emit
	switch {
	case ls.Connected():
		l.last = LinkUp
		emit(Report{Source: l.source, At: time.Now(), Link: LinkUp, Detail: "connected"})
	case l.last != LinkNone:
		l.last = LinkDown
		emit(Report{Source: l.source, At: time.Now(), Link: LinkDown, Detail: "not connected"})
	}
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		l.emit = nil
		l.mu.Unlock()
	}
}

// check reports the connection as it is now, if that is news.
func (l *linkNews) check(ls Linked, detail string) {
	st := LinkDown
	if ls.Connected() {
		st = LinkUp
	}
	if st == LinkDown {
		detail = "not connected"
	}
	l.set(st, detail)
}

// set reports st if it differs from the last report. A down before the
// first up is not news: the engine counts a feed that never connected as
// silent on its own.
func (l *linkNews) set(st Link, detail string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if st == l.last || (st == LinkDown && l.last == LinkNone) {
		return
	}
	l.last = st
	if st == LinkUp && detail == "" {
		detail = "connected"
	}
	if l.emit != nil {
		l.emit(Report{Source: l.source, At: time.Now(), Link: st, Detail: detail})
	}
}
