package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/wire"
)

// BenchmarkDrainJunk measures how fast one agent drains junk: a burst of
// malformed commands on SHUTDOWN, then a CANCEL whose ack marks the end
// (the agent handles messages in order). Each junk message is journaled
// and rejected without an fsync; msgs/s is what the broker sees drained.
// BENCH_JUNK (default 5000) sets the burst.
func BenchmarkDrainJunk(b *testing.B) {
	bin := buildAgent(b)
	burst := 5000
	if s := os.Getenv("BENCH_JUNK"); s != "" {
		burst, _ = strconv.Atoi(s)
	}
	broker := mqtttest.Mosquitto(b, mqtttest.MosquittoOptions{Extra: brokerTuning + "max_queued_messages 0\n"})
	procs := startAgentsWith(b, bin, broker.Addr, 1, func(string) []string { return nil })
	acks := make(chan wire.Ack, 16)
	c := benchClient(b, broker.URL, "bench-drain", func(c *mqtt.Client) {
		c.Handle(wire.Topics{}.Ack("h000"), 1, func(m mqtt.Message) {
			if a, err := wire.DecodeAck(m.Payload); err == nil && a.Action == wire.Cancel {
				acks <- a
			}
		})
	})
	junk := []byte(`{"v":1,"id":"junk","issued_at":` + strings.Repeat(" ", 100) + `"x"}`)
	var rates []float64
	cpu0 := fleetCPU(b, procs)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		var last <-chan struct{}
		for range burst {
			last = c.Send("SHUTDOWN", 1, false, junk)
		}
		<-last
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := c.Publish(ctx, "CANCEL", 1, false, []byte(fmt.Sprintf("end %d", i))); err != nil {
			b.Fatal(err)
		}
		cancel()
		select {
		case <-acks:
		case <-time.After(time.Minute):
			b.Fatal("no ack for the end marker within a minute")
		}
		rates = append(rates, float64(burst)/time.Since(start).Seconds())
	}
	b.StopTimer()
	med := median(rates)
	b.ReportMetric(med, "msgs/s")
	b.ReportMetric(float64((fleetCPU(b, procs)-cpu0).Microseconds())/float64(b.N*burst), "cpu-us/msg")
}
