package weather

import (
	"context"
	"sync"
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
