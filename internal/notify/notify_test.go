package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/watch"
)

// request is what a test server received.
type request struct {
	method, path, query string
	header              http.Header
	body                map[string]any
}

// server records every request and answers with status.
func server(t *testing.T, status int) (*httptest.Server, chan request) {
	t.Helper()
	ch := make(chan request, 16)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		if err := json.Unmarshal(b, &body); err != nil {
			t.Errorf("%s %s: body is not JSON: %q", r.Method, r.URL.Path, b)
		}
		ch <- request{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body}
		w.WriteHeader(status)
		fmt.Fprint(w, `{"id":"x"}`)
	}))
	t.Cleanup(s.Close)
	return s, ch
}

func got(t *testing.T, ch chan request) request {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no request within 10s")
	}
	return request{}
}

var countdown = watch.Alert{V: 1, Kind: watch.KindCountdown, At: time.Date(2026, 7, 1, 18, 0, 0, 0, time.UTC),
	Title: "Powering down at 18:05:00Z", Message: "lightning 9.2 km WNW; powering down at 18:05Z unless cancelled",
	CommandID: "s1-1", Deadline: time.Date(2026, 7, 1, 18, 5, 0, 0, time.UTC)}

func TestNtfyFormat(t *testing.T) {
	s, ch := server(t, 200)
	n := &Ntfy{Server: s.URL, Topic: "storm-home", Token: "tk_access", ClickURL: "https://storm.example.org/",
		Cancel: &CancelAction{URL: "https://storm.example.org/api/cancel", Token: "cancel-secret"}}
	if err := n.Notify(context.Background(), countdown); err != nil {
		t.Fatal(err)
	}
	r := got(t, ch)
	if r.method != "POST" || r.path != "/" {
		t.Errorf("request %s %s, want POST / (ntfy's JSON publishing)", r.method, r.path)
	}
	if h := r.header.Get("Authorization"); h != "Bearer tk_access" {
		t.Errorf("Authorization %q", h)
	}
	b := r.body
	if b["topic"] != "storm-home" || b["title"] != countdown.Title || b["message"] != countdown.Message || b["priority"] != 5.0 || b["click"] != "https://storm.example.org/" {
		t.Errorf("body %v", b)
	}
	acts, _ := b["actions"].([]any)
	if len(acts) != 1 {
		t.Fatalf("actions %v, want one cancel button", b["actions"])
	}
	a := acts[0].(map[string]any)
	h, _ := a["headers"].(map[string]any)
	if a["action"] != "http" || a["method"] != "POST" || a["url"] != "https://storm.example.org/api/cancel" || h["Authorization"] != "Bearer cancel-secret" {
		t.Errorf("cancel action %v", a)
	}

	// An all clear has a low priority and no button.
	if err := n.Notify(context.Background(), watch.Alert{Kind: watch.KindAllClear, Title: "All clear"}); err != nil {
		t.Fatal(err)
	}
	r = got(t, ch)
	if r.body["priority"] != 2.0 || r.body["actions"] != nil || r.body["message"] != "-" {
		t.Errorf("all clear body %v", r.body)
	}
}

func TestGotifyFormat(t *testing.T) {
	s, ch := server(t, 200)
	g := &Gotify{URL: s.URL + "/", Token: "AppToken.123", ClickURL: "http://gateway.lan:8080/"}
	if err := g.Notify(context.Background(), countdown); err != nil {
		t.Fatal(err)
	}
	r := got(t, ch)
	if r.path != "/message" || r.header.Get("X-Gotify-Key") != "AppToken.123" || r.query != "" {
		t.Errorf("request %s?%s key %q: want /message, the token in X-Gotify-Key and not the URL", r.path, r.query, r.header.Get("X-Gotify-Key"))
	}
	if r.body["priority"] != 10.0 || r.body["title"] != countdown.Title {
		t.Errorf("body %v", r.body)
	}
	click := r.body["extras"].(map[string]any)["client::notification"].(map[string]any)["click"].(map[string]any)
	if click["url"] != "http://gateway.lan:8080/" {
		t.Errorf("click %v", click)
	}
}

func TestWebhookSendsTheAlert(t *testing.T) {
	s, ch := server(t, 204)
	w := &Webhook{URL: s.URL + "/hook", Headers: map[string]string{"Authorization": "Bearer hook"}}
	if err := w.Notify(context.Background(), countdown); err != nil {
		t.Fatal(err)
	}
	r := got(t, ch)
	if r.body["kind"] != "countdown" || r.body["command_id"] != "s1-1" || r.body["deadline"] != "2026-07-01T18:05:00Z" || r.header.Get("Authorization") != "Bearer hook" {
		t.Errorf("webhook got %v %v", r.body, r.header)
	}
}

func TestHTTPErrorsKeepSecretsOut(t *testing.T) {
	s, _ := server(t, 401)
	g := &Gotify{URL: s.URL, Token: "SECRET-TOKEN"}
	err := g.Notify(context.Background(), countdown)
	if err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Fatalf("err %v, want HTTP 401", err)
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error carries the token: %v", err)
	}
	w := &Webhook{URL: "http://127.0.0.1:1/hook?key=SECRET-KEY"}
	if err := w.Notify(context.Background(), countdown); err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("unreachable webhook: %v", err)
	}
}

// TestHelperProcess is the command hook's program when run by the tests:
// it copies its standard input and its arguments to $NOTIFY_OUT.
func TestHelperProcess(t *testing.T) {
	out := os.Getenv("NOTIFY_OUT")
	if out == "" {
		return
	}
	in, _ := io.ReadAll(os.Stdin)
	rec := map[string]any{"stdin": string(in), "args": os.Args, "event": os.Getenv("STORMGUARD_EVENT")}
	b, _ := json.Marshal(rec)
	os.WriteFile(out, b, 0o600)
	os.Exit(0)
}

func TestCommandGetsJSONOnStdinNeverAShell(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.json")
	pwned := filepath.Join(dir, "pwned")
	c := &Command{Argv: []string{os.Args[0], "-test.run=^TestHelperProcess$"}, Env: []string{"NOTIFY_OUT=" + out}}
	a := countdown
	a.Message = "storm $(touch " + pwned + ") `touch " + pwned + "`; touch " + pwned
	if err := c.Notify(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Stdin string
		Args  []string
		Event string
	}
	json.Unmarshal(b, &rec)
	var in watch.Alert
	if err := json.Unmarshal([]byte(rec.Stdin), &in); err != nil || in.Message != a.Message || in.Kind != watch.KindCountdown {
		t.Errorf("stdin %q (%v), want the alert's JSON", rec.Stdin, err)
	}
	if len(rec.Args) != 2 || rec.Event != "countdown" {
		t.Errorf("args %q event %q: nothing of the alert belongs in argv", rec.Args, rec.Event)
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Error("the message text ran as a shell command")
	}
	bad := &Command{Argv: []string{filepath.Join(dir, "missing")}}
	if err := bad.Notify(context.Background(), a); err == nil {
		t.Error("a missing program is not an error")
	}
}

// blocked is a notifier that waits until the test ends.
type blocked struct{ entered chan struct{} }

func (blocked) Name() string { return "blocked" }
func (b blocked) Notify(ctx context.Context, _ watch.Alert) error {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return ctx.Err()
}

func TestSlowNotifierHoldsNothingUp(t *testing.T) {
	s, ch := server(t, 200)
	slow := blocked{entered: make(chan struct{}, 1)}
	var logs bytes.Buffer
	d := NewDispatcher([]Target{
		{Notifier: slow},
		{Notifier: &Webhook{URL: s.URL}, Events: Filter{watch.KindCountdown}},
	}, Options{Queue: 2, Timeout: time.Hour, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); d.Wait() }()
	d.Start(ctx)
	// Far more alerts than the slow notifier's queue holds: Send never waits.
	for range 100 {
		d.Send(watch.Alert{Kind: watch.KindWatch})
	}
	<-slow.entered
	d.Send(countdown)
	if r := got(t, ch); r.body["kind"] != "countdown" {
		t.Errorf("webhook got %v, want only the countdown it asked for", r.body)
	}
	select {
	case r := <-ch:
		t.Errorf("webhook got an alert it filtered out: %v", r.body)
	default:
	}
	if !strings.Contains(logs.String(), "notify queue full") {
		t.Errorf("dropped alerts not logged: %s", logs.String())
	}
}

func TestFailingNotifierIsRetriedThenGivenUp(t *testing.T) {
	calls := make(chan struct{}, 8)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls <- struct{}{}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer s.Close()
	var logs syncBuffer
	d := NewDispatcher([]Target{{Notifier: &Webhook{URL: s.URL}}}, Options{Attempts: 3, Backoff: time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); d.Wait() }()
	d.Start(ctx)
	d.Send(countdown)
	for range 3 {
		select {
		case <-calls:
		case <-time.After(10 * time.Second):
			t.Fatal("fewer than 3 attempts")
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "attempts=3") {
		if time.Now().After(deadline) {
			t.Fatalf("no log of the failure after 3 attempts: %s", logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReadSecret(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "token")
	os.WriteFile(p, []byte("  tk_123\n"), 0o600)
	if s, err := ReadSecret(p); err != nil || s != "tk_123" {
		t.Errorf("ReadSecret = %q, %v", s, err)
	}
	os.WriteFile(p, []byte("\n"), 0o600)
	if _, err := ReadSecret(p); err == nil {
		t.Error("an empty secret file is accepted")
	}
}
