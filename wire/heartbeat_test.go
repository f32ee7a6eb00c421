package wire

import (
	"errors"
	"testing"
	"time"
)

func TestHeartbeatTopic(t *testing.T) {
	for _, tc := range []struct {
		prefix, topic, res string
	}{
		{topic: "stormguard/heartbeat/nas", res: "nas"},
		{prefix: "site1", topic: "site1/stormguard/heartbeat/pi 3", res: "pi 3"},
		{topic: "stormguard/heartbeat/group", res: "group"},
		{topic: "stormguard/heartbeat/"},
		{topic: "stormguard/heartbeat/a/b"},
		{topic: "stormguard/heartbeats/nas"},
		{topic: "stormguard/heartbeat/+"},
		{prefix: "site1", topic: "stormguard/heartbeat/nas"},
	} {
		tp := Topics{Prefix: tc.prefix}
		res, ok := tp.ParseHeartbeat(tc.topic)
		if ok != (tc.res != "") || res != tc.res {
			t.Errorf("ParseHeartbeat(%q) = %q, %v; want %q", tc.topic, res, ok, tc.res)
		}
		if ok && tp.Heartbeat(res) != tc.topic {
			t.Errorf("Heartbeat(%q) = %q, want %q back", res, tp.Heartbeat(res), tc.topic)
		}
	}
	if got := (Topics{Prefix: "x"}).HeartbeatFilter(); got != "x/stormguard/heartbeat/+" {
		t.Errorf("HeartbeatFilter = %q", got)
	}
}

// TestBeatBytes drives both directions from the raw bytes.
func TestBeatBytes(t *testing.T) {
	at := time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		raw  string
		beat Beat
		bad  bool
		// decodeOnly: not what Encode writes.
		decodeOnly bool
	}{
		{name: "plain", raw: `{"v":1,"at":"2026-12-01T16:00:00Z","interval_ms":10000,"seq":42}`, beat: Beat{V: 1, At: at, Interval: 10 * time.Second, Seq: 42}},
		{name: "unknown field", raw: `{"v":1,"at":"2026-12-01T16:00:00Z","interval_ms":500,"seq":1,"extra":true}`, beat: Beat{V: 1, At: at, Interval: 500 * time.Millisecond, Seq: 1}, decodeOnly: true},
		{name: "trailing newline", raw: "{\"v\":1,\"at\":\"2026-12-01T16:00:00Z\",\"interval_ms\":500,\"seq\":1}\n", beat: Beat{V: 1, At: at, Interval: 500 * time.Millisecond, Seq: 1}, decodeOnly: true},
		{name: "no interval", raw: `{"v":1,"at":"2026-12-01T16:00:00Z","seq":1}`, bad: true},
		{name: "interval too short", raw: `{"v":1,"interval_ms":10}`, bad: true},
		{name: "interval too long", raw: `{"v":1,"interval_ms":86400001}`, bad: true},
		{name: "negative", raw: `{"v":1,"interval_ms":-5}`, bad: true},
		{name: "no version", raw: `{"interval_ms":1000}`, bad: true},
		{name: "wrong type", raw: `{"v":1,"interval_ms":"1000"}`, bad: true},
		{name: "two objects", raw: `{"v":1,"interval_ms":1000}{}`, bad: true},
		{name: "plain text", raw: `True`, bad: true},
		{name: "empty", raw: ``, bad: true},
		{name: "huge", raw: `{"v":1,"interval_ms":1000,"x":"` + string(make([]byte, MaxBeat)) + `"}`, bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeBeat([]byte(tc.raw))
			if tc.bad {
				if !errors.Is(err, ErrBeat) {
					t.Fatalf("DecodeBeat(%q) = %+v, %v; want ErrBeat", tc.raw, got, err)
				}
				return
			}
			if err != nil || !got.At.Equal(tc.beat.At) || got.Interval != tc.beat.Interval || got.Seq != tc.beat.Seq || got.V != tc.beat.V {
				t.Fatalf("DecodeBeat(%q) = %+v, %v; want %+v", tc.raw, got, err, tc.beat)
			}
			if tc.decodeOnly {
				return
			}
			b, err := tc.beat.Encode()
			if err != nil || string(b) != tc.raw {
				t.Errorf("Encode(%+v) = %s, %v; want %s", tc.beat, b, err, tc.raw)
			}
		})
	}
	if _, err := (Beat{Interval: time.Millisecond}).Encode(); err == nil {
		t.Error("Encode accepted a 1 ms interval")
	}
}

func TestBeatGone(t *testing.T) {
	b := Beat{Interval: 10 * time.Second}
	heard := time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		after  time.Duration
		misses int
		gone   bool
	}{
		{after: 10 * time.Second, misses: 3},
		{after: 30 * time.Second, misses: 3},
		{after: 32 * time.Second, misses: 3},
		{after: 33 * time.Second, misses: 3, gone: true},
		{after: 13 * time.Second, misses: 1, gone: true},
		{after: 33 * time.Second, misses: 0, gone: true}, // the default, 3
	} {
		if got := b.Gone(heard, heard.Add(tc.after), tc.misses); got != tc.gone {
			t.Errorf("Gone after %v with %d misses = %v, want %v", tc.after, tc.misses, got, tc.gone)
		}
	}
}

func FuzzDecodeBeat(f *testing.F) {
	f.Add([]byte(`{"v":1,"at":"2026-12-01T16:00:00Z","interval_ms":10000,"seq":42}`))
	f.Add([]byte(`{"v":1,"interval_ms":1e3}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := DecodeBeat(raw)
		if err != nil {
			return
		}
		out, err := b.Encode()
		if err != nil {
			t.Fatalf("decoded %q to %+v, which does not encode: %v", raw, b, err)
		}
		back, err := DecodeBeat(out)
		if err != nil || back.Interval != b.Interval || back.Seq != b.Seq || !back.At.Equal(b.At.UTC()) {
			t.Fatalf("round trip %q: %+v then %+v, %v", raw, b, back, err)
		}
	})
}
