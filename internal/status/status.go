// Package status serves stormguard's status page: a plot of the site with
// the rings, recent strikes and storm cells, the phase and countdown, the
// fleet, the sources, and a cancel button protected by a token. The page
// updates itself over server-sent events, fits a phone, and loads nothing
// from outside: its script and style are embedded in the binary.
package status

import (
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/stormguard/stormguard/internal/watch"
	"github.com/stormguard/stormguard/storm"
	"github.com/stormguard/stormguard/wire"
)

//go:embed assets
var assets embed.FS

// Config is the page's setup.
type Config struct {
	Watcher *watch.Watcher
	// ShutdownKM and WatchKM are the radii of the two rings.
	ShutdownKM, WatchKM float64
	// Window is how long a strike stays on the plot; default 30 minutes.
	Window time.Duration
	// Token is what the cancel button must send; empty disables it.
	Token string
	// Cancel publishes a CANCEL with the reason; nil disables the button.
	Cancel func(ctx context.Context, reason string) error
	// Refresh is how often the page gets a fresh picture even without
	// news, so strikes fade; default 5 s.
	Refresh time.Duration
	// Extra handlers on the same listener, e.g. "/metrics".
	Extra  map[string]http.Handler
	Logger *slog.Logger
	Now    func() time.Time
}

// Server is the page's HTTP handler.
type Server struct {
	cfg Config
	log *slog.Logger
	mux *http.ServeMux
}

// New builds the handler.
func New(cfg Config) *Server {
	if cfg.Window <= 0 {
		cfg.Window = 30 * time.Minute
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux()}
	static, _ := fs.Sub(assets, "assets")
	s.mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET /{$}", s.index)
	s.mux.HandleFunc("GET /api/state", s.state)
	s.mux.HandleFunc("GET /api/events", s.events)
	s.mux.HandleFunc("POST /api/cancel", s.cancel)
	for p, h := range cfg.Extra {
		s.mux.Handle(p, h)
	}
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
	s.mux.ServeHTTP(w, r)
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	b, err := assets.ReadFile("assets/index.html")
	if err != nil {
		http.Error(w, "page missing", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}

// View is what the page shows, as JSON.
type View struct {
	At        time.Time   `json:"at"`
	Seen      bool        `json:"seen"`
	Online    bool        `json:"online"`
	Connected bool        `json:"connected"`
	Phase     storm.Phase `json:"phase"`
	Next      string      `json:"next,omitempty"`
	Reason    string      `json:"reason,omitempty"`
	Deadline  time.Time   `json:"deadline,omitzero"`
	CommandID string      `json:"command_id,omitempty"`
	Nearest   string      `json:"nearest,omitempty"`
	Trend     storm.Trend `json:"trend,omitempty"`
	Blind     bool        `json:"blind"`
	BlindText string      `json:"blind_text,omitempty"`
	Cancelled string      `json:"cancelled_by,omitempty"`
	Strikes   int         `json:"strikes"`
	Cells     int         `json:"cells"`
	Sources   []Source    `json:"sources"`
	Hosts     []Host      `json:"hosts"`
	SVG       string      `json:"svg"`
	CanCancel bool        `json:"can_cancel"`
}

// Source is one source's health on the page.
type Source struct {
	Name       string    `json:"name"`
	Kind       string    `json:"kind"`
	Status     string    `json:"status"`
	Detail     string    `json:"detail,omitempty"`
	LastReport time.Time `json:"last_report,omitzero"`
}

// Host is one host on the page: up or not, its countdown, and its answer
// to the current command.
type Host struct {
	Name     string    `json:"name"`
	Presence string    `json:"presence"`
	Pending  time.Time `json:"pending,omitzero"`
	Answer   string    `json:"answer,omitempty"`
	Version  string    `json:"version,omitempty"`
}

// view turns the watcher's picture into the page's.
func (s *Server) view() View {
	snap := s.cfg.Watcher.Snapshot()
	now := s.cfg.Now()
	v := View{At: now.UTC(), Online: snap.GuardOnline, Connected: snap.Connected, Phase: storm.PhaseClear,
		Cells: len(snap.Cells), CanCancel: s.cfg.Token != "" && s.cfg.Cancel != nil, Sources: []Source{}, Hosts: []Host{}}
	var st *storm.State
	if g := snap.Guard; g != nil {
		st = &g.State
		v.Seen, v.Phase, v.Next, v.Reason, v.Trend = true, g.Phase, g.Next, g.Reason, g.Trend
		v.Blind, v.BlindText, v.Cancelled, v.CommandID = g.Blind, g.BlindText, g.CancelledBy, g.CommandID
		if g.Phase == storm.PhaseCountdown || g.Phase == storm.PhaseShutdown {
			v.Deadline = g.Deadline
		}
		if n := g.Nearest; n != nil {
			v.Nearest = fmt.Sprintf("%.1f km %s (%s)", n.DistanceKM, g.Bearing, n.Source)
		}
		for _, r := range g.Recent {
			if now.Sub(r.Time) <= s.cfg.Window {
				v.Strikes++
			}
		}
		for name, h := range g.Sources {
			d := h.Detail
			if h.LastError != "" {
				d = h.LastError
			}
			v.Sources = append(v.Sources, Source{Name: name, Kind: h.Kind, Status: string(h.Status), Detail: d, LastReport: h.LastReport})
		}
		sort.Slice(v.Sources, func(i, j int) bool { return v.Sources[i].Name < v.Sources[j].Name })
	}
	for _, h := range snap.Hosts {
		if !h.Agent() {
			continue
		}
		e := Host{Name: h.Name, Presence: "unknown"}
		if h.Seen {
			e.Presence = map[bool]string{true: "up", false: "down"}[h.Present]
		}
		if h.State != nil {
			e.Version = h.State.Version
			for _, p := range h.State.Pending {
				if e.Pending.IsZero() || p.Deadline.Before(e.Pending) {
					e.Pending = p.Deadline
				}
			}
		}
		if a, ok := h.Acks[v.CommandID]; ok && v.CommandID != "" {
			e.Answer = string(a.State)
		}
		v.Hosts = append(v.Hosts, e)
	}
	v.SVG = Plot(st, snap.Cells, s.cfg.ShutdownKM, s.cfg.WatchKM, s.cfg.Window, now)
	return v
}

func (s *Server) state(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(s.view())
}

// events streams the view as server-sent events: at once, after every
// change (at most four times a second) and every Refresh.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	changes, stop := s.cfg.Watcher.Subscribe()
	defer stop()
	tick := time.NewTicker(s.cfg.Refresh)
	defer tick.Stop()
	for {
		b, err := json.Marshal(s.view())
		if err != nil {
			return
		}
		if _, err := fmt.Fprintf(w, "event: state\ndata: %s\n\n", b); err != nil {
			return
		}
		fl.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-changes:
			// Let a burst of messages settle into one update.
			select {
			case <-time.After(250 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		case <-tick.C:
		}
	}
}

// ErrNoToken is the answer when the cancel button is not configured.
var ErrNoToken = errors.New("cancel from the page is not configured (status.cancel-token-file)")

func (s *Server) cancel(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Token == "" || s.cfg.Cancel == nil {
		writeJSON(w, http.StatusForbidden, map[string]any{"ok": false, "error": ErrNoToken.Error()})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if tok == "" {
		tok = r.FormValue("token")
	}
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.cfg.Token)) != 1 {
		s.log.Warn("status page: cancel with a wrong token refused", "remote", r.RemoteAddr)
		writeJSON(w, http.StatusUnauthorized, map[string]any{"ok": false, "error": "wrong token"})
		return
	}
	reason := "cancelled from the status page"
	if ua := r.Header.Get("User-Agent"); strings.Contains(ua, "ntfy") {
		reason = "cancelled from a phone (ntfy)"
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if err := s.cfg.Cancel(ctx, reason); err != nil {
		s.log.Error("status page: publish CANCEL", "err", err)
		writeJSON(w, http.StatusBadGateway, map[string]any{"ok": false, "error": "the broker did not take the CANCEL: " + err.Error()})
		return
	}
	s.log.Warn("CANCEL published from the status page", "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// Canceller returns a Cancel func that publishes a plain-text CANCEL on the
// fleet topic with c, the watcher's connection; agents and stormguard
// both obey it.
func Canceller(publish func(ctx context.Context, topic string, qos byte, retained bool, payload []byte) error, t wire.Topics) func(context.Context, string) error {
	return func(ctx context.Context, reason string) error {
		return publish(ctx, t.Command(wire.Cancel), 1, false, []byte(reason))
	}
}
