package status_test

import (
	"context"
	"flag"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stormguard/stormguard/internal/fleettest"
	"github.com/stormguard/stormguard/internal/guard"
	"github.com/stormguard/stormguard/internal/mqtttest"
	"github.com/stormguard/stormguard/internal/status"
	"github.com/stormguard/stormguard/internal/watch"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/storm"
	"github.com/stormguard/stormguard/weather"
	"github.com/stormguard/stormguard/wire"
)

var screenshot = flag.String("screenshot", "", "write a screenshot of the page during the countdown to this `file` (docs/status-page.png)")

// RequireChromiumEnv makes a missing chromium fail the browser test (CI).
const RequireChromiumEnv = "STORMGUARD_REQUIRE_CHROMIUM"

// feed is a strike source the test drives.
type feed chan weather.Report

func (feed) Name() string       { return "feed" }
func (feed) Kind() weather.Kind { return weather.Trigger }
func (f feed) Stream(ctx context.Context, emit func(weather.Report)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-f:
			emit(r)
		}
	}
}

func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv(RequireChromiumEnv) == "1" {
		t.Fatalf("chromium not found and %s=1", RequireChromiumEnv)
	}
	t.Skipf("chromium not installed (apt-get install chromium; %s=1 makes this a failure)", RequireChromiumEnv)
	return ""
}

// browser starts a headless chromium for the test.
func browser(t *testing.T, path string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1000, 1200),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTime(); cancelCtx(); cancelAlloc() })
	return ctx
}

func TestPageShowsAStrikeAndCancelsTheCountdown(t *testing.T) {
	path := chromium(t)
	b := mqtttest.NATS(t)
	topics := wire.Topics{}

	// The real runner, fed one strike by the test, and one dry-run agent.
	f := make(feed, 1)
	g, err := guard.New(guard.Config{Storm: storm.DefaultConfig(), MQTT: mqtt.Config{Brokers: []string{b.URL}, ClientID: "guard-browser"},
		QoS: 1, StateDir: t.TempDir(), Issuer: "stormguard@test", Streamers: []weather.Streamer{f}})
	if err != nil {
		t.Fatal(err)
	}
	gctx, stopGuard := context.WithCancel(context.Background())
	gdone := make(chan struct{})
	go func() { g.Run(gctx); close(gdone) }()
	t.Cleanup(func() { stopGuard(); <-gdone })
	<-g.Ready()

	// The page, on its own connection, as stormguard runs it.
	c, err := mqtt.New(mqtt.Config{Brokers: []string{b.URL}, ClientID: "status-browser", CleanSession: true, Ordered: true})
	if err != nil {
		t.Fatal(err)
	}
	w := watch.New(watch.Config{Client: c, Topics: topics})
	c.Start()
	t.Cleanup(func() { c.Close(100 * time.Millisecond) })
	srv := httptest.NewServer(status.New(status.Config{Watcher: w, ShutdownKM: 16, WatchKM: 40, Token: "s3cret",
		Cancel: status.Canceller(c.Publish, topics), Refresh: time.Second}))
	t.Cleanup(srv.Close)
	if err := c.WaitReady(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The agents start after the page's subscription, so their states
	// arrive live rather than from the broker's retained store.
	fleettest.DryRunAgent(t, b.URL, "pi")
	fleettest.DryRunAgent(t, b.URL, "nas")

	ctx := browser(t, path)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/#token=s3cret"),
		chromedp.WaitVisible(chromedp.CSS(`#fleet tbody tr`))); err != nil {
		t.Fatalf("page did not load with the fleet: %v", err)
	}

	// A storm coming in from the west-south-west over the last quarter of
	// an hour, then a strike inside the shutdown radius.
	now := time.Now()
	for i := range 24 {
		at := now.Add(time.Duration(i-24) * time.Minute)
		km := 36 - float64(i)
		f <- weather.Report{Source: "feed", At: at, Strikes: []weather.Strike{
			{Time: at, Source: "feed", DistanceKM: km, BearingDeg: 250 + float64(i%3), HasBearing: true},
			{Time: at, Source: "feed", DistanceKM: km + 1, BearingDeg: 248 + float64(i%2), HasBearing: true}}}
	}
	f <- weather.Report{Source: "feed", At: now, Strikes: []weather.Strike{
		{Time: now, Source: "feed", DistanceKM: 9.2, BearingDeg: 250, HasBearing: true}}}
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(`#plot circle.strike[data-km="9.2"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#countdown`)),
		chromedp.WaitEnabled(chromedp.CSS(`#cancel`)),
		chromedp.WaitVisible(chromedp.CSS(`#plot g.cell`)),
	); err != nil {
		t.Fatalf("the strike and the countdown did not show: %v", err)
	}
	if phase := text(t, ctx, `#phase`); phase != "countdown" {
		t.Errorf("phase shows %q, want countdown", phase)
	}
	cx, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`#plot circle.strike`), "cx"))
	if err != nil || !strings.HasPrefix(cx.Value, "-") {
		t.Errorf("a strike to the WSW drawn at cx=%q (%v), want left of the site", cx.Value, err)
	}
	// On a phone's width the page fits: nothing wider than the screen.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil || wide {
		t.Errorf("the page is wider than a 390 px phone screen (%v)", err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1000, 1000)); err != nil {
		t.Fatal(err)
	}
	if *screenshot != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(*screenshot, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#cancel`)),
		chromedp.WaitVisible(chromedp.CSS(`#phase:not([data-phase="countdown"])`)),
	); err != nil {
		t.Fatalf("the cancel button did not end the countdown: %v", err)
	}
	if r := text(t, ctx, `#cancel-result`); r != "CANCEL sent" {
		t.Errorf("cancel result %q", r)
	}
	s := w.Snapshot()
	if s.Guard == nil || s.Guard.Phase == storm.PhaseCountdown || s.Guard.CancelledBy == "" {
		t.Errorf("stormguard's retained state after the cancel: %+v", s.Guard)
	}
	// The agent had the countdown pending and says it cancelled it.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector("#fleet tbody").textContent.includes("cancelled")`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Errorf("the fleet does not show pi's cancel: %v (%q)", err, text(t, ctx, `#fleet`))
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}
