// Package metrics exposes stormguard's and the agents' numbers to
// Prometheus. Counters of what the runner saw and sent are fed by hooks;
// gauges of the phase, the sources and the fleet are read from the
// watcher's latest picture at scrape time, so they are never stale.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/stormguard/stormguard/internal/watch"
	"github.com/stormguard/stormguard/storm"
	"github.com/stormguard/stormguard/weather"
)

// Guard holds stormguard's metrics. Create it with NewGuard.
type Guard struct {
	reg      *prometheus.Registry
	strikes  *prometheus.CounterVec
	reports  *prometheus.CounterVec
	failures *prometheus.CounterVec
	shutdown prometheus.Counter
	cancels  prometheus.Counter
}

// NewGuard registers the metrics; snapshot is called at every scrape.
func NewGuard(version string, snapshot func() watch.Snapshot) *Guard {
	g := &Guard{
		reg: prometheus.NewRegistry(),
		strikes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "stormguard_strikes_total",
			Help: "Lightning strikes reported, by source (every strike a source reported, near or far)."}, []string{"source"}),
		reports: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "stormguard_source_reports_total",
			Help: "Reports received from each source, failures excluded."}, []string{"source"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "stormguard_publish_failures_total",
			Help: "Publishes the broker did not accept, by kind of message (command, state, event, presence)."}, []string{"kind"}),
		shutdown: prometheus.NewCounter(prometheus.CounterOpts{Name: "stormguard_countdowns_total",
			Help: "SHUTDOWN countdowns started by this process."}),
		cancels: prometheus.NewCounter(prometheus.CounterOpts{Name: "stormguard_cancel_requests_total",
			Help: "CANCELs published from the status page or the ntfy bridge."}),
	}
	g.reg.MustRegister(g.strikes, g.reports, g.failures, g.shutdown, g.cancels,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo("stormguard", version), &snapshotCollector{snapshot: snapshot})
	return g
}

// Handler serves the metrics.
func (g *Guard) Handler() http.Handler {
	return promhttp.HandlerFor(g.reg, promhttp.HandlerOpts{Registry: g.reg})
}

// Report counts one report from a source.
func (g *Guard) Report(r weather.Report) {
	g.reports.WithLabelValues(r.Source).Inc()
	if n := len(r.Strikes); n > 0 {
		g.strikes.WithLabelValues(r.Source).Add(float64(n))
	}
}

// PublishFailed counts a publish the broker did not accept.
func (g *Guard) PublishFailed(kind string) { g.failures.WithLabelValues(kind).Inc() }

// Countdown counts a SHUTDOWN sent.
func (g *Guard) Countdown() { g.shutdown.Inc() }

// CancelRequested counts a CANCEL published on a person's request.
func (g *Guard) CancelRequested() { g.cancels.Inc() }

func buildInfo(program, version string) prometheus.Collector {
	gv := prometheus.NewGauge(prometheus.GaugeOpts{Name: program + "_build_info",
		Help: "Always 1; the version is a label.", ConstLabels: prometheus.Labels{"version": version}})
	gv.Set(1)
	return gv
}

var phases = []storm.Phase{storm.PhaseClear, storm.PhaseWatch, storm.PhaseCountdown, storm.PhaseShutdown, storm.PhaseAllClear}

var (
	descPhase = prometheus.NewDesc("stormguard_phase", "1 for the current storm phase, 0 for the others.", []string{"phase"}, nil)
	descBlind = prometheus.NewDesc("stormguard_blind", "1 while no source that can trigger a shutdown can see.", nil, nil)
	descSeen  = prometheus.NewDesc("stormguard_state_seen", "1 once stormguard's retained state has been read.", nil, nil)
	descUp    = prometheus.NewDesc("stormguard_online", "stormguard's retained presence: 1 online, 0 not.", nil, nil)
	descSrc   = prometheus.NewDesc("stormguard_source_healthy", "1 when a source's status is ok; the status is a label.", []string{"source", "kind", "status"}, nil)
	descNear  = prometheus.NewDesc("stormguard_nearest_strike_km", "Distance of the nearest recent strike inside the watch radius.", nil, nil)
	descDead  = prometheus.NewDesc("stormguard_deadline_timestamp_seconds", "When the current countdown ends (Unix time); absent without one.", nil, nil)
	descStorm = prometheus.NewDesc("stormguard_storm_countdowns", "Countdowns sent for the current storm.", nil, nil)
	descHosts = prometheus.NewDesc("stormguard_fleet_hosts", "Hosts by retained presence.", []string{"presence"}, nil)
	descPend  = prometheus.NewDesc("stormguard_fleet_hosts_pending", "Hosts holding a countdown.", nil, nil)
	descBroke = prometheus.NewDesc("stormguard_broker_connected", "1 while the status and metrics connection to the broker is up.", nil, nil)
)

// snapshotCollector reads the gauges from the watcher at scrape time.
type snapshotCollector struct{ snapshot func() watch.Snapshot }

func (c *snapshotCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPhase, descBlind, descSeen, descUp, descSrc, descNear, descDead, descStorm, descHosts, descPend, descBroke} {
		ch <- d
	}
}

func (c *snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.snapshot()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(descBroke, b2f(s.Connected))
	gauge(descUp, b2f(s.GuardOnline))
	gauge(descSeen, b2f(s.Guard != nil))
	if g := s.Guard; g != nil {
		for _, p := range phases {
			gauge(descPhase, b2f(g.Phase == p), string(p))
		}
		gauge(descBlind, b2f(g.Blind))
		for name, h := range g.Sources {
			gauge(descSrc, b2f(h.Status == storm.StatusOK), name, h.Kind, string(h.Status))
		}
		if g.Nearest != nil {
			gauge(descNear, g.Nearest.DistanceKM)
		}
		if !g.Deadline.IsZero() && (g.Phase == storm.PhaseCountdown) {
			gauge(descDead, float64(g.Deadline.UnixMilli())/1000)
		}
		gauge(descStorm, float64(g.Countdowns))
	}
	var up, down, unknown, pending float64
	for _, h := range s.Hosts {
		if !h.Agent() {
			continue
		}
		switch {
		case !h.Seen:
			unknown++
		case h.Present:
			up++
		default:
			down++
		}
		if h.State != nil && len(h.State.Pending) > 0 {
			pending++
		}
	}
	gauge(descHosts, up, "present")
	gauge(descHosts, down, "absent")
	gauge(descHosts, unknown, "unknown")
	gauge(descPend, pending)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
