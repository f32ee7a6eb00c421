package weather

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// startTempest streams a Tempest bound to loopback and returns where to send
// datagrams, the collector and a stop func that waits for Stream to return.
func startTempest(t *testing.T, cfg TempestConfig) (net.Conn, *collector, func() error) {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	src, err := NewTempest(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := src.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	col := newCollector()
	done := make(chan error, 1)
	go func() { done <- src.Stream(ctx, col.emit) }()
	conn, err := net.Dial("udp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	var (
		once    sync.Once
		stopErr error
	)
	stop := func() error {
		once.Do(func() {
			cancel()
			conn.Close()
			select {
			case stopErr = <-done:
			case <-time.After(5 * time.Second):
				t.Error("Stream did not return after cancel")
			}
		})
		return stopErr
	}
	t.Cleanup(func() { stop() })
	return conn, col, stop
}

func send(t *testing.T, conn net.Conn, datagrams ...[]byte) {
	t.Helper()
	for _, d := range datagrams {
		if _, err := conn.Write(d); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTempestFixtureOverUDP(t *testing.T) {
	conn, col, stop := startTempest(t, TempestConfig{})
	lines := fixtureLines(t, "tempest-udp.jsonl")
	// Garbage between real datagrams must be skipped, not crash the reader.
	garbage := [][]byte{
		[]byte("not json"), {0x00, 0xff, 0x10}, []byte(`{"type":"evt_strike","evt":"near"}`),
		[]byte(`{"type":"evt_strike","evt":[null,null,null]}`), []byte(`{"type":"obs_st","obs":[[1,2,3]]}`),
		[]byte(`{"type":"evt_strike","evt":[1784145500,-3,1]}`), []byte(`{"type":"device_status","sensor_status":"ok"}`),
	}
	send(t, conn, garbage...)
	send(t, conn, lines...)
	// 5 evt_strike + 3 obs_st + 2 device_status.
	got := col.waitFor(t, "10 reports", func(r []Report) bool { return len(r) >= 10 })

	var evt, obs []Strike
	for _, r := range got {
		for _, s := range r.Strikes {
			if !s.Estimate || s.HasBearing || s.Source != "tempest" {
				t.Errorf("strike %+v: want an estimate without bearing", s)
			}
		}
		if r.Detail == "" || !strings.Contains(r.Detail, "interval") {
			evt = append(evt, r.Strikes...)
		} else {
			obs = append(obs, r.Strikes...)
		}
	}
	wantEvt := []struct {
		km float64
		at int64
	}{{27, 1784145500}, {17, 1784145529}, {12, 1784145556}, {8, 1784145581}, {5, 1784145594}}
	if len(evt) != len(wantEvt) {
		t.Fatalf("evt_strike strikes = %+v", evt)
	}
	for i, w := range wantEvt {
		if evt[i].DistanceKM != w.km || evt[i].Time.Unix() != w.at {
			t.Errorf("evt strike %d = %v km at %v, want %v km at %v", i, evt[i].DistanceKM, evt[i].Time.Unix(), w.km, w.at)
		}
	}
	// First inside 10 miles: 12 km at 19:59:16Z, as the README says.
	if evt[2].Time.Format("15:04:05") != "19:59:16" {
		t.Errorf("12 km strike at %v", evt[2].Time)
	}
	// obs_st: the first row has count 0 (no strike), then 22 km x2 and 8 km x3.
	if len(obs) != 2 || obs[0].DistanceKM != 22 || obs[1].DistanceKM != 8 || obs[1].Time != t0 {
		t.Errorf("obs_st strikes = %+v", obs)
	}
	last := got[len(got)-1]
	if last.Blind || !strings.Contains(last.Detail, "disturber") {
		t.Errorf("device_status sensor_status=4 gave %+v, want Detail about the disturber and not blind", last)
	}
	for _, r := range got {
		if r.Blind {
			t.Errorf("fixture report %+v is blind", r)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("Stream returned %v after cancel, want nil", err)
	}
}

func TestTempestBlind(t *testing.T) {
	for _, tc := range []struct {
		name, datagram, detail string
	}{
		{"lightning failed", `{"serial_number":"ST-1","type":"device_status","sensor_status":65537}`, "failed"},
		{"power save mode 3", `{"serial_number":"ST-1","type":"obs_st","obs":[[1784145600,0,0,0,0,300,830,20,50,0,0,0,0,0,null,null,2.3,1]]}`, "power-save"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, col, _ := startTempest(t, TempestConfig{})
			send(t, conn, []byte(tc.datagram))
			got := col.waitFor(t, "a report", func(r []Report) bool { return len(r) >= 1 })
			if !got[0].Blind || !strings.Contains(got[0].Detail, tc.detail) {
				t.Errorf("report = %+v, want Blind with %q", got[0], tc.detail)
			}
		})
	}
}

func TestTempestNullsAndSerialFilter(t *testing.T) {
	conn, col, _ := startTempest(t, TempestConfig{Serial: "ST-00123456"})
	send(t, conn,
		// Another station's strike is not ours.
		[]byte(`{"serial_number":"ST-99","type":"evt_strike","evt":[1784145500,3,100]}`),
		// All-null observation values: no strike, no crash.
		[]byte(`{"serial_number":"ST-00123456","type":"obs_st","obs":[[1784145600,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null]]}`),
		[]byte(`{"serial_number":"ST-00123456","type":"evt_strike","evt":[1784145594,5,1320544]}`),
	)
	got := col.waitFor(t, "2 reports", func(r []Report) bool { return len(r) >= 2 })
	if len(got[0].Strikes) != 0 || got[0].Blind {
		t.Errorf("null obs_st gave %+v", got[0])
	}
	if s := strikesOf(got); len(s) != 1 || s[0].DistanceKM != 5 {
		t.Errorf("strikes = %+v, want only our 5 km strike", s)
	}
}

func TestTempestConfig(t *testing.T) {
	if _, err := NewTempest(TempestConfig{Addr: "50222"}); err == nil || !strings.Contains(err.Error(), "Addr") {
		t.Errorf("bad Addr: err = %v", err)
	}
	src, err := NewTempest(TempestConfig{})
	if err != nil || src.cfg.Addr != ":50222" {
		t.Errorf("default Addr = %q, %v", src.cfg.Addr, err)
	}
}

func FuzzDecodeTempest(f *testing.F) {
	for _, l := range fixtureLines(f, "tempest-udp.jsonl") {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, ok, err := decodeTempest(b, "")
		if err != nil && ok {
			t.Fatal("ok with an error")
		}
		for _, s := range rep.Strikes {
			if s.DistanceKM < 0 || !finite(s.DistanceKM) {
				t.Fatalf("bad distance %v", s.DistanceKM)
			}
		}
	})
}
