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
  discovery-prefix: homeassistant
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

	w.awaitWatch()
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

func TestReachConfig(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "tok")
	os.WriteFile(tok, []byte("0123456789abcdef\n"), 0o600)
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("letmein\n"), 0o600)
	tests := []struct {
		name string
		yaml string
		want string // an error containing this; "" for none
		ok   func(r reach) bool
	}{
		{"nothing configured opens nothing", "", "", func(r reach) bool { return !r.on() && r.hass == nil }},
		{"a prefix turns discovery on", "homeassistant: {discovery-prefix: homeassistant}", "", func(r reach) bool { return r.on() && r.hass.Prefix == "homeassistant" }},
		{"power buttons need discovery", "homeassistant: {power-buttons: true}", "homeassistant.power-buttons", nil},
		{"bad prefix", "homeassistant: {discovery-prefix: 'home assistant'}", "homeassistant.discovery-prefix", nil},
		{"unknown key named", "notify: {ntfy: [{topic: x, password: y}]}", "notify.ntfy[0].password: unknown key", nil},
		{"ntfy needs a topic", "notify: {ntfy: [{server: 'https://ntfy.sh'}]}", "notify.ntfy[0].topic: required", nil},
		{"phone cancel needs the page", "notify: {ntfy: [{topic: x, cancel: status}]}", "notify.ntfy[0].cancel", nil},
		{"bad event", "notify: {webhook: [{url: 'http://h/x', events: [storm]}]}", `notify.webhook[0].events: unknown event "storm"`, nil},
		{"missing secret file", "notify: {gotify: [{url: 'http://g', token-file: /nonexistent/gotify}]}", "notify.gotify[0].token-file", nil},
		{"a cancel token from its file", "status: {cancel-token-file: " + tok + "}\n", "", func(r reach) bool { return r.token == "0123456789abcdef" }},
		{"a short cancel token", "status: {cancel-token-file: " + short + "}\n", "shorter than 16", nil},
		{"ntfy bridge", "status: {cancel-token-file: " + tok + "}\nnotify: {ntfy: [{topic: alerts, cancel: ntfy, cancel-topic: sg-cancel}]}", "",
			func(r reach) bool {
				return r.bridge != nil && r.bridge.PublishURL() == "https://ntfy.sh/sg-cancel" && len(r.targets) == 1
			}},
		{"command hook", "notify: {command: [{argv: [/usr/bin/logger, -t, storm]}]}", "", func(r reach) bool { return r.on() && len(r.targets) == 1 }},
		{"http address", "http: nonsense", "http:", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, "  - {type: blitzortung, broker: \"tcp://127.0.0.1:1\"}\n"+tt.yaml+"\n")
			c, err := load(newLoader("stormguard check", io.Discard), []string{"-config", path, "-state-dir", t.TempDir()})
			switch {
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err %v, want one containing %q", err, tt.want)
			case tt.want == "" && err != nil:
				t.Fatal(err)
			case tt.ok != nil && !tt.ok(c.reach):
				t.Errorf("loaded %+v", c.reach)
			}
			if err != nil && strings.Contains(err.Error(), "0123456789abcdef") {
				t.Errorf("error carries the secret: %v", err)
			}
		})
	}
}
