package presence

import (
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/stormguard/stormguard/wire"
)

const (
	benchResources = 10_000
	benchTopics    = 10 // 5 data and 5 command topics each
)

type benchMsg struct {
	topic   string
	payload []byte
}

// registration is what resource i publishes when it starts.
func registration(tp wire.Topics, i int) []benchMsg {
	res := fmt.Sprintf("host%05d", i)
	msgs := []benchMsg{{tp.Presence(res), []byte("True")}}
	for j := range benchTopics / 2 {
		msgs = append(msgs,
			benchMsg{tp.DataAvailable(res, fmt.Sprintf("sensor%d", j)), []byte("True")},
			benchMsg{tp.CommandAvailable(res, fmt.Sprintf("cmd%d", j)), []byte("True")})
	}
	return msgs
}

func register(b *testing.B, r *Registry, msgs []benchMsg) {
	for _, m := range msgs {
		if _, err := r.Observe(m.topic, m.payload, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeparture measures, in a registry holding 10,000 resources of
// 10 topics each, one presence False to the 10 Falses it returns, and the
// heap the registry holds at that size.
func BenchmarkDeparture(b *testing.B) {
	tp := wire.Topics{}
	regs := make([][]benchMsg, benchResources)
	for i := range regs {
		regs[i] = registration(tp, i)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r, _ := New(Config{})
	for _, msgs := range regs {
		register(b, r, msgs)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := float64(after.HeapInuse-before.HeapInuse) / (1 << 20)

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		msgs := regs[i%benchResources]
		start := time.Now()
		pubs, err := r.Observe(msgs[0].topic, []byte("False"), false)
		lat = append(lat, time.Since(start))
		if err != nil || len(pubs) != benchTopics {
			b.Fatalf("departure gave %d publishes, %v; want %d", len(pubs), err, benchTopics)
		}
		b.StopTimer()
		register(b, r, msgs) // back again for the next round
		b.StartTimer()
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
	b.ReportMetric(heap, "heap-MiB")
	b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/(benchResources*benchTopics), "heap-B/topic")
}

// BenchmarkBeats measures, with 10,000 resources of 10 topics each that
// all beat, one heartbeat through Observe and one Expire scan that finds
// nobody gone (the manager runs it every 250 ms, holding the registry).
func BenchmarkBeats(b *testing.B) {
	tp := wire.Topics{}
	r, _ := New(Config{})
	for i := range benchResources {
		register(b, r, registration(tp, i))
	}
	beat, err := wire.Beat{At: time.Now(), Interval: 10 * time.Second, Seq: 1}.Encode()
	if err != nil {
		b.Fatal(err)
	}
	topics := make([]string, benchResources)
	for i := range topics {
		topics[i] = tp.Heartbeat(fmt.Sprintf("host%05d", i))
		if _, err := r.Observe(topics[i], beat, false); err != nil {
			b.Fatal(err)
		}
	}
	var scan time.Duration
	scans := 0
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := r.Observe(topics[i%benchResources], beat, false); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 0 {
			start := time.Now()
			if pubs := r.Expire(); pubs != nil {
				b.Fatalf("Expire found %d to publish", len(pubs))
			}
			scan += time.Since(start)
			scans++
		}
	}
	b.ReportMetric(float64(scan.Microseconds())/float64(scans), "expire-scan-µs")
}
