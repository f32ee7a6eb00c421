package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/stormguard/stormguard/internal/fleettest"
	"github.com/stormguard/stormguard/internal/guard"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/storm"
	"github.com/stormguard/stormguard/weather"
	"github.com/stormguard/stormguard/wire"
)

var sgSite = weather.Site{Lat: 40.0, Lon: -105.0}

// TestStormguardKilledMidCountdown kills stormguard with SIGKILL right after
// it published a SHUTDOWN and starts it again on the same state directory.
// The fleet sees one command id only (the outbox may send the same one
// again), the restarted daemon announces the same deadline, reaches the
// shutdown phase at that deadline and gives the all clear the configured
// time after the last strike, not after the restart. Two dry-run agents
// each carry the command out once.
func TestStormguardKilledMidCountdown(t *testing.T) {
	const grace, allClear = 3 * time.Second, 8 * time.Second
	b := mqtttest.Mosquitto(t, mqtttest.MosquittoOptions{})
	host, port, _ := strings.Cut(b.Addr, ":")
	tp := wire.Topics{}
	obs := newSGObserver(t, b.URL, tp.Command(wire.Shutdown), tp.State(guard.Name), tp.Event(guard.Name), tp.AckFilter())
	agents := []string{"nas", "pi"}
	for _, h := range agents {
		fleettest.DryRunAgent(t, b.URL, h)
	}
	cfg := writeSGConfig(t, fmt.Sprintf(`tick: 100ms
storm:
  grace: %v
  all-clear: %v
  hold-after-cancel: 1s
sources:
  - {type: blitzortung, broker: %q}
`, grace, allClear, b.URL))
	args := []string{"-config", cfg, "-host", host, "-port", port, "-state-dir", t.TempDir(), "-name", "sgfault"}
	first := startSG(t, "first", args...)
	feed := fleettest.Client(t, b.URL, nil)

	// The feed's subscription comes up with the daemon: a strike inside the
	// watch radius but outside the shutdown radius, repeated until the state
	// shows the watch, proves it is there without touching the all-clear timer.
	sgAwaitWatch(t, feed, obs, 30, 290)

	// The strike is two seconds old when it arrives, as relayed strikes are:
	// the all clear counts from it, so it is due well before an all clear
	// counted from the restart could be.
	lastStrike := time.Now().Add(-2 * time.Second)
	sgStrike(t, feed, 5, 200, lastStrike)
	m, _ := obs.wait(0, "SHUTDOWN", sgIsShutdown)
	cmd, err := wire.Decode(wire.Shutdown, m.topic, m.payload)
	if err != nil {
		t.Fatal(err)
	}
	deadline := cmd.Deadline
	first.kill(t)

	restarted := time.Now()
	startSG(t, "second", args...)
	m, _ = obs.wait(0, "the state published by the restarted stormguard", sgIsState(func(s guard.State) bool { return s.At.After(restarted) }))
	st, _ := sgDecodeState(m)
	wantClear := lastStrike.Add(allClear)
	if !st.Deadline.Equal(deadline) || st.CommandID != cmd.ID || !st.AllClearAt.Equal(wantClear) ||
		(st.At.Before(deadline) && st.Phase != storm.PhaseCountdown) {
		t.Errorf("after the restart: phase %s, deadline %v, command %s, all clear at %v; want the countdown to %v for %s, all clear at %v",
			st.Phase, st.Deadline, st.CommandID, st.AllClearAt, deadline, cmd.ID, wantClear)
	}

	m, _ = obs.wait(0, "phase shutdown", sgIsState(func(s guard.State) bool { return s.Phase == storm.PhaseShutdown }))
	st, _ = sgDecodeState(m)
	if late := st.Since.Sub(deadline); late < 0 || late > time.Second {
		t.Errorf("phase shutdown since %v, %v from the deadline %v", st.Since, late, deadline)
	}
	m, _ = obs.wait(0, "the all clear", sgIsState(func(s guard.State) bool { return s.Phase == storm.PhaseAllClear }))
	st, _ = sgDecodeState(m)
	if late := st.Since.Sub(wantClear); late < 0 || late > time.Second {
		t.Errorf("all clear at %v, %v from the last strike plus the all clear (%v); the restart was at %v",
			st.Since, late, wantClear, restarted)
	}

	for _, h := range agents {
		obs.wait(0, h+" done", sgIsAck(h, wire.Done, cmd.ID))
	}
	// A marker on SHUTDOWN: everything stormguard published before it has
	// arrived once it has. It expired long ago, so the agents do nothing.
	marker := wire.Command{V: 1, ID: fmt.Sprintf("marker-%d", time.Now().UnixNano()), Action: wire.Shutdown,
		Reason: "marker", IssuedAt: time.Now().Add(-time.Hour), Expires: time.Now().Add(-time.Minute)}
	mp, err := marker.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := feed.Publish(context.Background(), tp.Command(wire.Shutdown), 1, false, mp); err != nil {
		t.Fatal(err)
	}
	obs.wait(0, "the marker", func(m sgMsg) bool { return bytes.Equal(m.payload, mp) })
	ids := map[string]int{}
	for _, m := range obs.all(sgIsShutdown) {
		if c, err := wire.Decode(wire.Shutdown, m.topic, m.payload); err == nil && c.ID != marker.ID {
			ids[c.ID]++
		}
	}
	if len(ids) != 1 || ids[cmd.ID] == 0 {
		t.Errorf("SHUTDOWN ids published %v, want only %s (sent again with the same id at most)", ids, cmd.ID)
	}
	for _, h := range agents {
		if n := len(obs.all(sgIsAck(h, wire.Executing, cmd.ID))); n != 1 {
			t.Errorf("%s acked executing %s %d times, want once", h, cmd.ID, n)
		}
	}
}

// TestStormguardSourcesFailingEveryWay points every polled source at a
// server that answers each poll in another failing way (HTTP 500, 429 with
// Retry-After, no answer until the poll times out, truncated JSON, JSON with
// the wrong types, an empty 200) and adds a stream that never says a word.
// The truncated and mistyped bodies are a strike 1 km away or a
// thunderstorm warning, so a decoder that let them through would trigger.
// stormguard sends no SHUTDOWN, keeps running, honours the Retry-After,
// shows each source failing or silent and itself blind, never leaks the
// API secret the server echoes back, and stops cleanly.
func TestStormguardSourcesFailingEveryWay(t *testing.T) {
	b := mqtttest.Mosquitto(t, mqtttest.MosquittoOptions{})
	host, port, _ := strings.Cut(b.Addr, ":")
	tp := wire.Topics{}
	obs := newSGObserver(t, b.URL, tp.Command(wire.Shutdown), tp.State(guard.Name), tp.Event(guard.Name))

	api := newFailingAPI()
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	t.Cleanup(api.release) // runs first: lets a blocked handler go, so Close can return
	const secret = "s3cret-do-not-log"
	secretFile := filepath.Join(t.TempDir(), "xweather-secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	poll := "interval: 50ms, watch-interval: 50ms, timeout: 300ms"
	cfg := writeSGConfig(t, fmt.Sprintf(`tick: 100ms
storm:
  silent-after: 1m
  silent-after-by-source: {tempest: 2s}
  fail-after: 3
sources:
  - {type: xweather, base-url: %[1]q, client-id: abc, client-secret-file: %[2]q, %[3]s}
  - {type: ecowitt, url: %[1]q, %[3]s}
  - {type: openmeteo, base-url: %[1]q, %[3]s}
  - {type: nws, base-url: %[1]q, %[3]s}
  - {type: tempest, addr: "127.0.0.1:0"}
`, srv.URL, secretFile, poll))
	sg := startSG(t, "stormguard", "-config", cfg, "-host", host, "-port", port, "-state-dir", t.TempDir(), "-name", "sgfail")

	// Every source is served every failure once; its next request shows that
	// the last failure was reported to the loop.
	api.waitServed(t, len(failModes)+1, sg)
	for _, src := range polledSources {
		reqs := api.requests(src)
		if gap := reqs[2].at.Sub(reqs[1].at); gap < time.Second {
			t.Errorf("%s asked again %v after a 429 with Retry-After: 1", src, gap)
		}
		if !reqs[2].gaveUp {
			t.Errorf("%s: the request that got no answer was not given up by the client", src)
		}
	}

	unhealthy := func(s guard.State) bool { return sgUnhealthy(s) == "" }
	if _, _, ok := obs.within(0, 10*time.Second, sgIsState(unhealthy)); !ok {
		last, _ := obs.last(sgIsState(func(guard.State) bool { return true }))
		st, _ := sgDecodeState(last)
		t.Fatalf("the state never showed every source failing or silent: %s\nlast state: %s", sgUnhealthy(st), last.payload)
	}

	// A CANCEL goes through the same loop as the failures: its answer comes
	// after anything they made stormguard do.
	probe := fmt.Sprintf("probe-%d", time.Now().UnixNano())
	pub := fleettest.Client(t, b.URL, nil)
	if err := pub.Publish(context.Background(), tp.Command(wire.Cancel), 1, false, []byte(probe)); err != nil {
		t.Fatal(err)
	}
	obs.wait(0, "the answer to the probe CANCEL", func(m sgMsg) bool {
		var e guard.Event
		return m.topic == tp.Event(guard.Name) && json.Unmarshal(m.payload, &e) == nil && strings.Contains(e.Text, probe)
	})
	marker := []byte(fmt.Sprintf("marker-%d", time.Now().UnixNano()))
	if err := pub.Publish(context.Background(), tp.Command(wire.Shutdown), 1, false, marker); err != nil {
		t.Fatal(err)
	}
	obs.wait(0, "the marker", func(m sgMsg) bool { return bytes.Equal(m.payload, marker) })
	if got := obs.all(sgIsShutdown); len(got) != 1 || !bytes.Equal(got[0].payload, marker) {
		t.Errorf("SHUTDOWN carried %d messages, first %q; want only the marker: a failing source triggered", len(got), got[0].payload)
	}

	retained := newSGObserver(t, b.URL, tp.State(guard.Name))
	m, _ := retained.wait(0, "the retained state", func(sgMsg) bool { return true })
	st, err := sgDecodeState(m)
	if err != nil || !m.retained {
		t.Fatalf("retained state %s (retained %v): %v", m.payload, m.retained, err)
	}
	if why := sgUnhealthy(st); why != "" || st.Phase != storm.PhaseClear || st.Countdowns != 0 {
		t.Errorf("retained state: %s; phase %s, %d countdowns (want clear, none)\n%s", why, st.Phase, st.Countdowns, m.payload)
	}

	if !sg.running() {
		t.Fatalf("stormguard exited: %v", sg.err)
	}
	for _, m := range obs.all(func(sgMsg) bool { return true }) {
		if bytes.Contains(m.payload, []byte(secret)) {
			t.Errorf("the API secret went out on %s: %s", m.topic, m.payload)
		}
	}
	if err := sg.stop(); err != nil {
		t.Errorf("stormguard did not stop cleanly: %v", err)
	}
	log, _ := os.ReadFile(sg.logPath)
	for _, line := range bytes.Split(log, []byte("\n")) {
		if bytes.Contains(line, []byte(secret)) {
			t.Errorf("the log leaks the API secret: %s", line)
		}
	}
}

// sgUnhealthy says what in s falls short of every polled source failing,
// the stream silent and stormguard blind; "" when nothing does.
func sgUnhealthy(s guard.State) string {
	var why []string
	for _, src := range polledSources {
		h := s.Sources[src]
		if h.Status != storm.StatusFailing || h.LastError == "" || h.Failures < 3 {
			why = append(why, fmt.Sprintf("%s %s after %d errors (%q)", src, h.Status, h.Failures, h.LastError))
		}
	}
	if h := s.Sources["tempest"]; h.Status != storm.StatusSilent {
		why = append(why, "tempest "+string(h.Status))
	}
	if !s.Blind {
		why = append(why, "not blind")
	}
	for _, w := range []string{"BLIND: ", "xweather failing", "ecowitt failing", "tempest silent"} {
		if !strings.Contains(s.BlindText, w) {
			why = append(why, fmt.Sprintf("blind text %q lacks %q", s.BlindText, w))
		}
	}
	return strings.Join(why, "; ")
}

// The failing ways, in the order each source meets them.
var failModes = []string{"500", "429", "no answer", "truncated", "mistyped", "empty"}

var polledSources = []string{"xweather", "ecowitt", "openmeteo", "nws"}

// failingAPI stands in for every polled source's server, each answering
// its n-th request in failModes[n % len] fashion.
type failingAPI struct {
	mu      sync.Mutex
	served  map[string][]apiRequest
	notify  chan struct{}
	stop    chan struct{}
	stopped sync.Once
}

type apiRequest struct {
	mode string
	at   time.Time
	// gaveUp is set on an unanswered request the client abandoned.
	gaveUp bool
}

func newFailingAPI() *failingAPI {
	return &failingAPI{served: map[string][]apiRequest{}, notify: make(chan struct{}, 1), stop: make(chan struct{})}
}

func (a *failingAPI) release() { a.stopped.Do(func() { close(a.stop) }) }

var apiPaths = map[string]string{
	"/lightning/closest": "xweather", "/get_livedata_info": "ecowitt", "/v1/forecast": "openmeteo", "/alerts/active": "nws",
}

func (a *failingAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	src, ok := apiPaths[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	a.mu.Lock()
	n := len(a.served[src])
	mode := failModes[n%len(failModes)]
	a.served[src] = append(a.served[src], apiRequest{mode: mode, at: time.Now()})
	a.mu.Unlock()
	defer func() {
		select {
		case a.notify <- struct{}{}:
		default:
		}
	}()
	near := nearBodies(time.Now())
	w.Header().Set("Content-Type", "application/json")
	switch mode {
	case "500":
		// A server that echoes the request, API secret and all.
		http.Error(w, `{"success":false,"error":{"code":"internal","description":"failed: `+r.URL.RawQuery+`"}}`, http.StatusInternalServerError)
	case "429":
		w.Header().Set("Retry-After", "1")
		http.Error(w, `{"success":false,"error":{"code":"maxhits_min","description":"slow down"}}`, http.StatusTooManyRequests)
	case "no answer":
		select {
		case <-r.Context().Done():
			a.mu.Lock()
			a.served[src][n].gaveUp = true
			a.mu.Unlock()
		case <-a.stop:
		}
	case "truncated":
		body := near[src]
		w.Write(body[:len(body)/2])
	case "mistyped":
		w.Write(mistypedBodies[src])
	case "empty":
	}
}

// requests returns what src was asked so far.
func (a *failingAPI) requests(src string) []apiRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]apiRequest(nil), a.served[src]...)
}

// waitServed waits until every polled source has made n requests, failing
// at once if stormguard exits.
func (a *failingAPI) waitServed(t *testing.T, n int, sg *sgProcess) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		short := ""
		for _, src := range polledSources {
			if got := len(a.requests(src)); got < n {
				short += fmt.Sprintf(" %s:%d", src, got)
			}
		}
		if short == "" {
			return
		}
		select {
		case <-a.notify:
		case <-sg.done:
			t.Fatalf("stormguard exited while its sources failed: %v", sg.err)
		case <-timeout:
			t.Fatalf("sources did not make %d requests each within 20s:%s", n, short)
		}
	}
}

// nearBodies are well-formed answers that mean lightning 1 km away or a
// thunderstorm at the site now: what a truncated body was on its way to say.
func nearBodies(now time.Time) map[string][]byte {
	now = now.UTC()
	slot := now.Truncate(15 * time.Minute).Format("2006-01-02T15:04")
	return map[string][]byte{
		"xweather": fmt.Appendf(nil, `{"success":true,"error":null,"response":[{"loc":{"lat":40.009,"long":-105.0},"ob":{"timestamp":%d},"relativeTo":{"bearing":0,"distanceKM":1.0}}]}`, now.Unix()),
		"ecowitt":  fmt.Appendf(nil, `{"lightning":[{"distance":"1 km","timestamp":%q,"count":"5"}]}`, now.Format("01/02/2006 15:04:05")),
		"openmeteo": fmt.Appendf(nil, `{"utc_offset_seconds":0,"current":{"time":%q,"interval":900,"weather_code":95},"minutely_15":{"time":[%q],"weather_code":[95]}}`,
			slot, slot),
		"nws": fmt.Appendf(nil, `{"features":[{"properties":{"id":"a1","event":"Severe Thunderstorm Warning","status":"Actual","messageType":"Alert","onset":%q,"ends":%q,"description":"frequent lightning"}}]}`,
			now.Format(time.RFC3339), now.Add(time.Hour).Format(time.RFC3339)),
	}
}

// mistypedBodies say the same with values of the wrong JSON type.
var mistypedBodies = map[string][]byte{
	"xweather":  []byte(`{"success":"true","response":[{"ob":{"timestamp":"now"},"relativeTo":{"bearing":"N","distanceKM":"1.0"}}]}`),
	"ecowitt":   []byte(`{"lightning":[{"distance":1,"timestamp":1784145600,"count":5}]}`),
	"openmeteo": []byte(`{"utc_offset_seconds":"0","current":{"time":20260715,"interval":"900","weather_code":"95"}}`),
	"nws":       []byte(`{"features":{"properties":{"event":["Severe Thunderstorm Warning"],"status":true}}}`),
}

// writeSGConfig writes a config for the site at 40.0,-105.0 with rest after it.
func writeSGConfig(t *testing.T, rest string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stormguard.yaml")
	if err := os.WriteFile(path, []byte("site: {lat: 40.0, lon: -105.0}\n"+rest), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// sgProcess is one run of the stormguard binary; its output goes to logPath
// and is shown when the test fails.
type sgProcess struct {
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error // of Wait, once done is closed
	// ended is set when the test itself killed or stopped the process.
	ended bool
}

func startSG(t *testing.T, label string, args ...string) *sgProcess {
	t.Helper()
	logf, err := os.Create(filepath.Join(t.TempDir(), label+".log"))
	if err != nil {
		t.Fatal(err)
	}
	p := &sgProcess{cmd: exec.Command(binary(t, "stormguard"), append([]string{"run"}, args...)...), logPath: logf.Name(), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		if !p.running() && !p.ended {
			t.Errorf("%s exited on its own: %v", label, p.err)
		}
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			b, _ := os.ReadFile(p.logPath)
			t.Logf("%s output:\n%s", label, b)
		}
	})
	return p
}

// kill ends the process with SIGKILL, as a crash or power cut would.
func (p *sgProcess) kill(t *testing.T) {
	t.Helper()
	p.ended = true
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

func (p *sgProcess) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stop asks for a clean stop (SIGTERM) and returns how the process ended.
func (p *sgProcess) stop() error {
	p.ended = true
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-p.done:
		return p.err
	case <-time.After(10 * time.Second):
		return fmt.Errorf("still running 10s after SIGTERM")
	}
}

// sgAwaitWatch publishes a strike at dist km, bearing deg, once a second
// until the state shows the watch: the proof that stormguard's strike feed
// subscription, which comes up with the daemon, is there.
func sgAwaitWatch(t *testing.T, feed *mqtt.Client, obs *sgObserver, dist, bearing float64) {
	t.Helper()
	for i := 0; ; i++ {
		if i == 15 {
			t.Fatalf("a strike %.0f km away never put stormguard on watch", dist)
		}
		sgStrike(t, feed, dist, bearing, time.Now())
		if _, _, ok := obs.within(0, time.Second, sgIsState(func(s guard.State) bool { return s.Phase == storm.PhaseWatch })); ok {
			return
		}
	}
}

// sgStrike publishes a Blitzortung-format strike dist km from the site at
// bearing deg, that happened at when.
func sgStrike(t *testing.T, c *mqtt.Client, dist, bearing float64, when time.Time) {
	t.Helper()
	rad := bearing * math.Pi / 180
	lat := sgSite.Lat + dist*math.Cos(rad)/weather.EarthRadiusKM*180/math.Pi
	lon := sgSite.Lon + dist*math.Sin(rad)/weather.EarthRadiusKM*180/math.Pi/math.Cos(sgSite.Lat*math.Pi/180)
	topic := weather.BlitzortungTopicPrefix + "/" + strings.Join(strings.Split(weather.Geohash(lat, lon, 12), ""), "/")
	payload := fmt.Sprintf(`{"lat":%.6f,"lon":%.6f,"time":%d,"status":0,"region":1}`, lat, lon, when.UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Publish(ctx, topic, 1, false, []byte(payload)); err != nil {
		t.Fatal(err)
	}
}

// sgObserver records what a dashboard subscribed to some filters sees, in
// the order it arrives. It is a bare paho client with ordered delivery: the
// marker checks rely on that order, which the mqtt package (a goroutine per
// message) does not keep.
type sgObserver struct {
	t      *testing.T
	mu     sync.Mutex
	msgs   []sgMsg
	notify chan struct{}
}

type sgMsg struct {
	topic    string
	payload  []byte
	retained bool
}

func newSGObserver(t *testing.T, url string, filters ...string) *sgObserver {
	t.Helper()
	o := &sgObserver{t: t, notify: make(chan struct{}, 1)}
	opts := paho.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("sgobs-%d", time.Now().UnixNano())).
		SetCleanSession(true).SetOrderMatters(true)
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("observer connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	subs := map[string]byte{}
	for _, f := range filters {
		subs[f] = 1
	}
	tok := c.SubscribeMultiple(subs, func(_ paho.Client, m paho.Message) {
		o.mu.Lock()
		o.msgs = append(o.msgs, sgMsg{topic: m.Topic(), payload: m.Payload(), retained: m.Retained()})
		o.mu.Unlock()
		select {
		case o.notify <- struct{}{}:
		default:
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("observer subscribe: %v", tok.Error())
	}
	return o
}

// within returns the first message from index from on that ok accepts, and
// its index, waiting up to d for it.
func (o *sgObserver) within(from int, d time.Duration, ok func(sgMsg) bool) (sgMsg, int, bool) {
	timeout := time.After(d)
	for {
		o.mu.Lock()
		for i := from; i < len(o.msgs); i++ {
			if ok(o.msgs[i]) {
				m := o.msgs[i]
				o.mu.Unlock()
				return m, i, true
			}
		}
		o.mu.Unlock()
		select {
		case <-o.notify:
		case <-timeout:
			return sgMsg{}, 0, false
		}
	}
}

// wait is within with 15 s, failing the test when nothing comes.
func (o *sgObserver) wait(from int, what string, ok func(sgMsg) bool) (sgMsg, int) {
	o.t.Helper()
	m, i, found := o.within(from, 15*time.Second, ok)
	if !found {
		o.t.Fatalf("no %s within 15s", what)
	}
	return m, i
}

// all returns every message so far that ok accepts.
func (o *sgObserver) all(ok func(sgMsg) bool) []sgMsg {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []sgMsg
	for _, m := range o.msgs {
		if ok(m) {
			out = append(out, m)
		}
	}
	return out
}

// last returns the latest message ok accepts.
func (o *sgObserver) last(ok func(sgMsg) bool) (sgMsg, bool) {
	all := o.all(ok)
	if len(all) == 0 {
		return sgMsg{}, false
	}
	return all[len(all)-1], true
}

func sgIsShutdown(m sgMsg) bool { return m.topic == wire.Topics{}.Command(wire.Shutdown) }

func sgDecodeState(m sgMsg) (guard.State, error) {
	var s guard.State
	err := json.Unmarshal(m.payload, &s)
	return s, err
}

func sgIsState(ok func(guard.State) bool) func(sgMsg) bool {
	return func(m sgMsg) bool {
		s, err := sgDecodeState(m)
		return m.topic == wire.Topics{}.State(guard.Name) && err == nil && ok(s)
	}
}

func sgIsAck(host string, state wire.AckState, id string) func(sgMsg) bool {
	return func(m sgMsg) bool {
		a, err := wire.DecodeAck(m.payload)
		return m.topic == wire.Topics{}.Ack(host) && err == nil && a.Host == host && a.State == state && a.ID == id
	}
}
