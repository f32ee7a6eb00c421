package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/stormguard/stormguard/weather"
)

// runCheck is "stormguard check": validate the config, ask every source
// once (listen briefly to streams) and print what each one sees.
func runCheck(ctx context.Context, args []string, out io.Writer) error {
	l := newLoader("stormguard check", out)
	l.Summary = "stormguard check validates the config, connects to the fleet broker with the\nconfigured identity and checks that it may subscribe to CANCEL and publish\ncommands, then asks each source once, printing what it sees; streams are\nlistened to for -listen. It exits non-zero when the config is invalid, the\nbroker cannot be reached or refuses, or a source failed."
	l.FS.Duration("listen", 10*time.Second, "how long to listen to each streaming source")
	c, err := load(l, args)
	if err != nil {
		return err
	}
	listen := l.FS.Lookup("listen").Value.(interface{ Get() any }).Get().(time.Duration)
	fmt.Fprintf(out, "config ok: site %.4f,%.4f; shutdown inside %.1f km, watch inside %.1f km, grace %v, all clear %v; %d sources\n",
		c.site.Lat, c.site.Lon, c.storm.ShutdownRadiusKM, c.storm.WatchRadiusKM, c.storm.Grace, c.storm.AllClear, len(c.sources))
	if c.reach.on() {
		fmt.Fprintln(out, c.reach.summary())
	}
	brokerLines, brokerOK := checkBroker(ctx, c)
	for _, line := range brokerLines {
		fmt.Fprintln(out, line)
	}
	stop := startClients(c)
	defer stop()
	var mu sync.Mutex
	var wg sync.WaitGroup
	results := make([]string, len(c.sources))
	failed := 0
	for i, sp := range c.sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			line, ok := checkSource(ctx, sp, listen)
			mu.Lock()
			defer mu.Unlock()
			results[i] = fmt.Sprintf("%s (%s, %s): %s", sp.name, sp.typ, sp.source.Kind(), line)
			if !ok {
				failed++
			}
		}()
	}
	wg.Wait()
	for _, r := range results {
		fmt.Fprintln(out, r)
	}
	switch {
	case !brokerOK && failed > 0:
		return fmt.Errorf("check: the fleet broker refused or is unreachable, and %d of %d sources failed", failed, len(c.sources))
	case !brokerOK:
		return fmt.Errorf("check: the fleet broker refused or is unreachable (see above)")
	case failed > 0:
		return fmt.Errorf("check: %d of %d sources failed", failed, len(c.sources))
	}
	return nil
}

// checkSource asks one source and says what it saw.
func checkSource(ctx context.Context, sp sourceSpec, listen time.Duration) (string, bool) {
	switch s := sp.source.(type) {
	case weather.Poller:
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		r, err := s.Poll(pctx)
		if err != nil {
			return "error: " + err.Error(), false
		}
		return summarize([]weather.Report{r}), true
	case weather.Streamer:
		if sp.typ == "replay" {
			return "recorded strikes read; they play when stormguard runs", true
		}
		lctx, cancel := context.WithTimeout(ctx, listen)
		defer cancel()
		if sp.client != nil {
			if err := sp.client.WaitReady(lctx); err != nil {
				return fmt.Sprintf("error: no connection to its broker within %v: %v", listen, err), false
			}
		}
		var mu sync.Mutex
		var got []weather.Report
		err := s.Stream(lctx, func(r weather.Report) {
			mu.Lock()
			got = append(got, r)
			mu.Unlock()
		})
		if err != nil {
			return "error: " + err.Error(), false
		}
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprintf("listened %v: %s", listen, summarize(got)), true
	}
	return "unknown kind of source", false
}

// summarize says what reports hold: an event feed's connection, strikes and
// the nearest, signals, blindness, rejected messages.
func summarize(rs []weather.Report) string {
	var strikes, rejected, news int
	var nearest *weather.Strike
	var signals, blind []string
	var link, linkDetail, rejectedWhy string
	for _, r := range rs {
		if r.Link != weather.LinkNone {
			link, linkDetail = r.Link.String(), r.Detail
		}
		if r.Rejected > 0 {
			rejected += r.Rejected
			rejectedWhy = r.RejectedWhy
		}
		if !r.Aside() {
			news++
		}
		for i, s := range r.Strikes {
			strikes++
			if nearest == nil || s.DistanceKM < nearest.DistanceKM {
				nearest = &r.Strikes[i]
			}
		}
		for _, sig := range r.Signals {
			if sig.Thunderstorm {
				signals = append(signals, sig.Detail)
			}
		}
		if r.Blind {
			blind = append(blind, r.Detail)
		}
	}
	var parts []string
	switch link {
	case "up":
		parts = append(parts, "connected")
	case "down":
		parts = append(parts, "connection down: "+linkDetail)
	}
	switch {
	case news == 0:
		parts = append(parts, "no reports (quiet, or nothing within range)")
	case strikes == 0:
		parts = append(parts, "ok, no strikes")
	default:
		n := fmt.Sprintf("ok, %d strikes, nearest %.1f km", strikes, nearest.DistanceKM)
		if nearest.HasBearing {
			n += " " + weather.Compass(nearest.BearingDeg)
		}
		parts = append(parts, n+" at "+nearest.Time.UTC().Format("15:04:05Z"))
	}
	if len(signals) > 0 {
		parts = append(parts, "thunderstorm: "+strings.Join(signals, "; "))
	}
	if len(blind) > 0 {
		parts = append(parts, "BLIND: "+strings.Join(blind, "; "))
	}
	if rejected > 0 {
		parts = append(parts, fmt.Sprintf("%d messages rejected (last: %s)", rejected, rejectedWhy))
	}
	return strings.Join(parts, "; ")
}
