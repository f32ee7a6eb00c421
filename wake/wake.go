// Package wake brings hosts back after a storm with Wake-on-LAN: in stage
// order reversed (the broker host first), each one again and again until
// its presence is back or a time limit passes. Waker is the pure plan,
// driven by now; Run owns the timer and the sending.
package wake

import (
	"sort"
	"time"
)

// Target is a host to wake.
type Target struct {
	Host      string
	Stage     int
	MAC       string
	Broadcast string
}

// Config says how hard to try.
type Config struct {
	// Every is the time between two packets to the same host (default 30 s).
	Every time.Duration
	// StageWait is how long a stage waits at most for the stage woken
	// before it to be present (default 2 minutes).
	StageWait time.Duration
	// Limit is how long a host is tried before it is reported as not come
	// back (default 10 minutes).
	Limit time.Duration
}

func (c Config) withDefaults() Config {
	if c.Every <= 0 {
		c.Every = 30 * time.Second
	}
	if c.StageWait <= 0 {
		c.StageWait = 2 * time.Minute
	}
	if c.Limit <= 0 {
		c.Limit = 10 * time.Minute
	}
	return c
}

type try struct {
	Target
	first, last time.Time
	sent        int
	back        bool
	gaveUp      bool
}

// Waker is the plan for one wake-up.
type Waker struct {
	cfg    Config
	tries  []*try // by stage, highest first
	opened map[int]time.Time
}

// New plans waking targets, starting at now's first Due.
func New(cfg Config, targets []Target) *Waker {
	w := &Waker{cfg: cfg.withDefaults(), opened: map[int]time.Time{}}
	for _, t := range targets {
		w.tries = append(w.tries, &try{Target: t})
	}
	sort.SliceStable(w.tries, func(i, j int) bool {
		if w.tries[i].Stage != w.tries[j].Stage {
			return w.tries[i].Stage > w.tries[j].Stage
		}
		return w.tries[i].Host < w.tries[j].Host
	})
	return w
}

// Present notes that host's presence is back: it is not woken again.
func (w *Waker) Present(host string) {
	for _, t := range w.tries {
		if t.Host == host {
			t.back = true
		}
	}
}

// Due returns the targets to send a packet to at now, in order, and when
// to ask next; done is set once every host is back or given up.
func (w *Waker) Due(now time.Time) (send []Target, next time.Time, done bool) {
	done = true
	prevStage, prevOpen, prevAllBack := -1, time.Time{}, true
	for i := 0; i < len(w.tries); {
		stage := w.tries[i].Stage
		j := i
		for j < len(w.tries) && w.tries[j].Stage == stage {
			j++
		}
		open, ok := w.opened[stage]
		if !ok {
			// A stage opens when the one before is all back or has had its wait.
			if prevStage >= 0 && !prevAllBack && now.Before(prevOpen.Add(w.cfg.StageWait)) {
				done = false
				next = earlier(next, prevOpen.Add(w.cfg.StageWait))
				break
			}
			open = now
			w.opened[stage] = open
		}
		allBack := true
		for _, t := range w.tries[i:j] {
			if t.back || t.gaveUp {
				allBack = allBack && t.back
				continue
			}
			allBack = false
			if !t.first.IsZero() && !now.Before(t.first.Add(w.cfg.Limit)) {
				t.gaveUp = true
				continue
			}
			done = false
			if t.last.IsZero() || !now.Before(t.last.Add(w.cfg.Every)) {
				if t.first.IsZero() {
					t.first = now
				}
				t.last = now
				t.sent++
				send = append(send, t.Target)
			}
			next = earlier(next, earlier(t.last.Add(w.cfg.Every), t.first.Add(w.cfg.Limit)))
		}
		prevStage, prevOpen, prevAllBack = stage, open, allBack
		i = j
	}
	if next.IsZero() {
		next = now.Add(w.cfg.Every)
	}
	return send, next, done
}

func earlier(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// Result is how one host's wake-up went.
type Result struct {
	Host string `json:"host"`
	Back bool   `json:"back"`
	Sent int    `json:"sent"`
}

// Results lists every target, in the order they were woken.
func (w *Waker) Results() []Result {
	out := make([]Result, 0, len(w.tries))
	for _, t := range w.tries {
		out = append(out, Result{Host: t.Host, Back: t.back, Sent: t.sent})
	}
	return out
}

// NotBack names the hosts that did not come back.
func NotBack(rs []Result) []string {
	var out []string
	for _, r := range rs {
		if !r.Back {
			out = append(out, r.Host)
		}
	}
	return out
}
