package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/guard"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/storm"
)

// hook records the JSON bodies posted to it.
func hook(t *testing.T) (*httptest.Server, chan map[string]any) {
	t.Helper()
	ch := make(chan map[string]any, 32)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		m["_auth"] = r.Header.Get("Authorization")
		ch <- m
	}))
	t.Cleanup(s.Close)
	return s, ch
}

func posted(t *testing.T, ch chan map[string]any, key, want string) map[string]any {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case m := <-ch:
			if m[key] == want {
				return m
			}
		case <-deadline:
			t.Fatalf("nothing posted with %s=%q within 15s", key, want)
		}
	}
}

// TestReachThroughTheDaemon runs "stormguard run" with the status page,
// discovery and two notifiers: a strike sends the countdown to both, the
// phone's cancel button (the ntfy action, as the phone would send it)
// calls it off through the page's endpoint, and the metrics count it.
func TestReachThroughTheDaemon(t *testing.T) {
	b := mqtttest.NATS(t)
	host, port, _ := net.SplitHostPort(b.Addr)
	w := newWatcher(t, b.URL, "homeassistant/device/+/config")
	web, webCh := hook(t)
	ntfy, ntfyCh := hook(t)
	// A notifier that never answers holds up nothing.
	// (It reads the body first: only then does the server notice the
	// client going away.)
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	t.Cleanup(stuck.Close)
	dir := t.TempDir()
	tok := filepath.Join(dir, "cancel-token")
	os.WriteFile(tok, []byte("0123456789abcdef-token\n"), 0o600)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", mqtttest.FreePort(t))
	cfg := writeConfig(t, "  - {type: blitzortung, broker: \""+b.URL+"\"}\n"+`
status:
  public-url: http://`+httpAddr+`/
  cancel-token-file: `+tok+`
homeassistant:
  power-buttons: true
notify:
  timeout: 1h
  webhook:
    - url: `+stuck.URL+`/stuck
    - url: `+web.URL+`/hook
  ntfy:
    - server: `+ntfy.URL+`
      topic: storm-home
      cancel: status
      events: [countdown]
`)
	startDaemon(t, "-config", cfg, "-host", host, "-port", port, "-state-dir", t.TempDir(), "-name", "sgreach", "-http", httpAddr)

	disc, _ := w.wait(0, "stormguard's discovery", func(m mqtt.Message) bool { return m.Topic == "homeassistant/device/stormguard_guard/config" })
	if !strings.Contains(string(disc.Payload), `"command_topic":"SHUTDOWN"`) {
		t.Errorf("discovery lacks the power-down button that power-buttons enables: %s", disc.Payload)
	}

	watching := isState(func(s guard.State) bool { return s.Phase == storm.PhaseWatch })
	for i := 0; !w.seen(0, time.Second, watching); i++ {
		if i == 15 {
			t.Fatal("a strike 30 km away never put stormguard on watch")
		}
		w.strike(30, 290)
	}
	w.strike(9.2, 292.5)
	sd, _ := w.wait(0, "SHUTDOWN", isShutdown(""))
	id := decodeCommand(t, sd).ID

	got := posted(t, webCh, "kind", "countdown")
	if got["command_id"] != id || !strings.HasPrefix(got["message"].(string), "lightning 9.2 km WNW") {
		t.Errorf("webhook got %v", got)
	}
	n := posted(t, ntfyCh, "topic", "storm-home")
	acts, _ := n["actions"].([]any)
	if len(acts) != 1 || n["priority"] != 5.0 || n["click"] != "http://"+httpAddr+"/" {
		t.Fatalf("ntfy got %v", n)
	}
	act := acts[0].(map[string]any)
	headers := act["headers"].(map[string]any)

	// The phone presses the button: ntfy's http action is this request.
	req, _ := http.NewRequest(act["method"].(string), act["url"].(string), strings.NewReader(fmt.Sprint(act["body"])))
	req.Header.Set("Authorization", headers["Authorization"].(string))
	req.Header.Set("User-Agent", "ntfy/1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("cancel endpoint answered %d", resp.StatusCode)
	}
	w.wait(0, "the countdown cancelled", isEvent(guard.EventCancelled))
	if c := posted(t, webCh, "kind", "cancelled"); !strings.Contains(c["message"].(string), "phone") {
		t.Errorf("cancelled alert %v: want who cancelled it", c)
	}

	resp, err = http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"stormguard_countdowns_total 1", `stormguard_strikes_total{source="blitzortung"}`, "stormguard_cancel_requests_total 1"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
