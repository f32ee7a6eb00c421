package guard

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/storm"
	"github.com/stormguard/stormguard/weather"
	"github.com/stormguard/stormguard/wire"
)

var benchSite = weather.Site{Lat: 40.0, Lon: -105.0}

// strikeMessage is a Blitzortung-format strike dist km from the site.
func strikeMessage(dist, bearing float64, at time.Time) (string, []byte) {
	rad := bearing * math.Pi / 180
	lat := benchSite.Lat + dist*math.Cos(rad)/weather.EarthRadiusKM*180/math.Pi
	lon := benchSite.Lon + dist*math.Sin(rad)/weather.EarthRadiusKM*180/math.Pi/math.Cos(benchSite.Lat*math.Pi/180)
	topic := weather.BlitzortungTopicPrefix + "/" + strings.Join(strings.Split(weather.Geohash(lat, lon, 12), ""), "/")
	return topic, fmt.Appendf(nil, `{"lat":%.6f,"lon":%.6f,"status":0,"region":3,"time":%d}`, lat, lon, at.UnixNano())
}

func benchClient(tb testing.TB, url, id string) *mqtt.Client {
	tb.Helper()
	c, err := mqtt.New(mqtt.Config{Brokers: []string{url}, ClientID: id, CleanSession: true})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// BenchmarkStrikeToShutdown measures a strike inside the shutdown radius,
// published to the broker in Blitzortung format, to the SHUTDOWN arriving at
// a subscriber, while a feed pushes 1,000 strikes a second 50–90 km away
// through the same broker, source and engine. Each round is then cancelled
// (no hold) so the next strike starts a new countdown.
func BenchmarkStrikeToShutdown(b *testing.B) {
	br := mqtttest.NATS(b)
	feed := benchClient(b, br.URL, "bench-feed")
	src, err := weather.NewBlitzortung(weather.BlitzortungConfig{Subscriber: feed, Site: benchSite, RadiusKM: 100})
	if err != nil {
		b.Fatal(err)
	}
	feed.Start()
	defer feed.Close(0)
	sc := storm.DefaultConfig()
	sc.HoldAfterCancel = 0
	g, err := New(Config{Storm: sc, MQTT: mqtt.Config{Brokers: []string{br.URL}, ClientID: "bench-guard"}, QoS: 1,
		StateDir: b.TempDir(), Issuer: "stormguard@bench", Streamers: []weather.Streamer{src}})
	if err != nil {
		b.Fatal(err)
	}
	shutdowns, watching := make(chan time.Time, 16), make(chan struct{}, 16)
	obs := benchClient(b, br.URL, "bench-observer")
	obs.Handle(wire.Topics{}.Command(wire.Shutdown), 1, func(mqtt.Message) { shutdowns <- time.Now() })
	obs.Handle(wire.Topics{}.State(Name), 1, func(m mqtt.Message) {
		var s State
		if json.Unmarshal(m.Payload, &s) == nil && s.Phase == storm.PhaseWatch && !m.Retained {
			watching <- struct{}{}
		}
	})
	obs.Start()
	defer obs.Close(0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { g.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	pub := benchClient(b, br.URL, "bench-publisher")
	pub.Start()
	defer pub.Close(0)
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	for _, c := range []*mqtt.Client{feed, obs, pub} {
		if err := c.WaitReady(wctx); err != nil {
			b.Fatal(err)
		}
	}
	<-g.Ready()
	// A strike inside the watch radius, repeated until it shows, proves the
	// feed's subscriptions are in place.
	for ok := false; !ok; {
		topic, payload := strikeMessage(30, 290, time.Now())
		pub.Publish(ctx, topic, 0, false, payload)
		select {
		case <-watching:
			ok = true
		case <-time.After(500 * time.Millisecond):
		}
	}

	// The far feed: every 10 ms, as many strikes as keep it at 1,000 a second.
	far := make(chan struct{})
	sent := 0
	feedStart := time.Now()
	go func() {
		defer close(far)
		rng := rand.New(rand.NewPCG(1, 2))
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for range int(time.Since(feedStart).Milliseconds()) - sent {
				topic, payload := strikeMessage(50+40*rng.Float64(), 360*rng.Float64(), time.Now())
				if pub.Publish(ctx, topic, 0, false, payload) == nil {
					sent++
				}
			}
		}
	}()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		topic, payload := strikeMessage(8, float64(i%360), time.Now())
		t0 := time.Now()
		if err := pub.Publish(ctx, topic, 0, false, payload); err != nil {
			b.Fatal(err)
		}
		select {
		case t1 := <-shutdowns:
			lat = append(lat, t1.Sub(t0))
		case <-time.After(10 * time.Second):
			b.Fatalf("round %d: no SHUTDOWN within 10s", i)
		}
		pub.Publish(ctx, wire.Topics{}.Command(wire.Cancel), 1, false, []byte("bench"))
		select {
		case <-watching:
		case <-time.After(10 * time.Second):
			b.Fatalf("round %d: the cancel did not return stormguard to watch", i)
		}
	}
	b.StopTimer()
	cancel()
	<-far
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(q(1), "max-ms")
	b.ReportMetric(float64(sent)/time.Since(feedStart).Seconds(), "far-strikes/s")
}

// hourFeed emits an hour of a 1,000-a-second feed: 3.6 million far strikes,
// one in every 10,000 inside the watch radius, then one inside the shutdown
// radius to mark the end. heap gets the heap at each tenth.
type hourFeed struct {
	heap *[]uint64
}

func (hourFeed) Name() string       { return "feed" }
func (hourFeed) Kind() weather.Kind { return weather.Trigger }

func (h hourFeed) Stream(ctx context.Context, emit func(weather.Report)) error {
	const total = 3_600_000
	for i := range total {
		if ctx.Err() != nil {
			return nil
		}
		d := 50 + float64(i%40)
		if i%10_000 == 0 {
			d = 30
		}
		at := time.Now() // an hour of strikes, sent as fast as they come: each stamped when sent
		emit(weather.Report{Source: "feed", At: at, Strikes: []weather.Strike{{Time: at, Source: "feed", DistanceKM: d, BearingDeg: float64(i % 360), HasBearing: true}}})
		if i%(total/10) == 0 {
			*h.heap = append(*h.heap, heapNow())
		}
	}
	emit(weather.Report{Source: "feed", At: time.Now(), Strikes: []weather.Strike{{Time: time.Now(), Source: "feed", DistanceKM: 5}}})
	return nil
}

func heapNow() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkHourOfStrikesMemory replays an hour-equivalent of the far feed
// through the runner and engine and reports the heap before, halfway and
// after: it must stay flat.
func BenchmarkHourOfStrikesMemory(b *testing.B) {
	br := mqtttest.NATS(b)
	for range b.N {
		var heap []uint64
		g, err := New(Config{Storm: storm.DefaultConfig(), MQTT: mqtt.Config{Brokers: []string{br.URL}, ClientID: "bench-hour"},
			QoS: 1, StateDir: b.TempDir(), Streamers: []weather.Streamer{hourFeed{heap: &heap}}})
		if err != nil {
			b.Fatal(err)
		}
		shutdown := make(chan struct{}, 1)
		obs := benchClient(b, br.URL, "bench-hour-observer")
		obs.Handle(wire.Topics{}.Command(wire.Shutdown), 1, func(mqtt.Message) { shutdown <- struct{}{} })
		obs.Start()
		ctx, cancel := context.WithCancel(context.Background())
		obs.WaitReady(ctx)
		before := heapNow()
		start := time.Now()
		done := make(chan struct{})
		go func() { g.Run(ctx); close(done) }()
		select {
		case <-shutdown:
		case <-time.After(10 * time.Minute):
			b.Fatal("the hour's feed did not finish within 10 minutes")
		}
		elapsed := time.Since(start)
		after := heapNow()
		cancel()
		<-done
		obs.Close(0)
		mib := func(n uint64) float64 { return float64(n) / (1 << 20) }
		b.ReportMetric(mib(before), "heap-before-MiB")
		b.ReportMetric(mib(heap[1]), "heap-10%-MiB")
		b.ReportMetric(mib(heap[5]), "heap-50%-MiB")
		b.ReportMetric(mib(heap[9]), "heap-90%-MiB")
		b.ReportMetric(mib(after), "heap-after-MiB")
		b.Logf("heap at each tenth (MiB): %.2f", slices.Collect(func(yield func(float64) bool) {
			for _, h := range heap {
				if !yield(mib(h)) {
					return
				}
			}
		}))
		b.ReportMetric(3_600_000/elapsed.Seconds(), "strikes/s")
	}
}
