package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Agent reads what an agent exposes: whether its loop answers (the
// watchdog's probe) and whether it has reached the broker since it
// started, with the Go runtime and process numbers.
type Agent struct {
	Host    string
	Version string
	// Alive is the agent's liveness probe.
	Alive func(ctx context.Context) error
	// Ready is closed once the agent is connected and subscribed.
	Ready <-chan struct{}
}

var (
	descAgentUp    = prometheus.NewDesc("stormguard_agent_loop_alive", "1 when the agent's command loop answered a probe within a second.", []string{"host"}, nil)
	descAgentReady = prometheus.NewDesc("stormguard_agent_ready", "1 once the agent has connected and subscribed since it started.", []string{"host"}, nil)
)

// Describe implements prometheus.Collector.
func (a *Agent) Describe(ch chan<- *prometheus.Desc) { ch <- descAgentUp; ch <- descAgentReady }

// Collect implements prometheus.Collector.
func (a *Agent) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	ch <- prometheus.MustNewConstMetric(descAgentUp, prometheus.GaugeValue, b2f(a.Alive(ctx) == nil), a.Host)
	ready := false
	select {
	case <-a.Ready:
		ready = true
	default:
	}
	ch <- prometheus.MustNewConstMetric(descAgentReady, prometheus.GaugeValue, b2f(ready), a.Host)
}

// Handler serves the agent's metrics.
func (a *Agent) Handler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(a, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo("stormguard_agent", a.Version))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}
