package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/stormguard/stormguard/internal/hass"
	"github.com/stormguard/stormguard/internal/notify"
	"github.com/stormguard/stormguard/internal/watch"
	"github.com/stormguard/stormguard/wire"
)

// reach is where people look besides the MQTT topics: the status page and
// metrics (-http), Home Assistant discovery and notifications.
type reach struct {
	http      string
	publicURL string
	token     string
	window    time.Duration
	hass      *hass.Config // nil: discovery off
	targets   []notify.Target
	bridge    *notify.Bridge
	timeout   time.Duration
	settle    time.Duration
}

// on reports whether anything needs the fleet watcher.
func (r reach) on() bool { return r.http != "" || r.hass != nil || len(r.targets) > 0 }

// summary says in one line what is configured, for stormguard check.
func (r reach) summary() string {
	var parts []string
	if r.http != "" {
		cancel := "off"
		if r.token != "" {
			cancel = "on"
		}
		parts = append(parts, fmt.Sprintf("status page and /metrics on %s (cancel button %s)", r.http, cancel))
	}
	if r.hass != nil {
		parts = append(parts, fmt.Sprintf("Home Assistant discovery under %s/ (power buttons %v)", r.hass.Prefix, r.hass.PowerButtons))
	}
	if len(r.targets) > 0 {
		var names []string
		for _, t := range r.targets {
			names = append(names, t.Notifier.Name())
		}
		parts = append(parts, "notify: "+strings.Join(names, ", "))
	}
	if r.bridge != nil {
		parts = append(parts, "phone cancels through "+r.bridge.PublishURL())
	}
	return "integrations: " + strings.Join(parts, "; ")
}

// loadReach reads the http flag and the status, homeassistant and notify
// sections. Secrets are read from their files here, so a bad path fails
// at start, and never appear in an error.
func loadReach(s settings, t wire.Topics) (reach, error) {
	var r reach
	if s.HTTP != "" {
		if _, _, err := net.SplitHostPort(s.HTTP); err != nil {
			return r, fmt.Errorf("http: %q is not host:port (e.g. 127.0.0.1:8080)", s.HTTP)
		}
		r.http = s.HTTP
	}
	st := struct {
		PublicURL       string        `mapstructure:"public-url"`
		CancelTokenFile string        `mapstructure:"cancel-token-file"`
		StrikeWindow    time.Duration `mapstructure:"strike-window"`
	}{StrikeWindow: 30 * time.Minute}
	if err := decodeStrict("status", s.Status, &st); err != nil {
		return r, err
	}
	if st.StrikeWindow <= 0 {
		return r, errors.New("status.strike-window: must be positive")
	}
	r.window = st.StrikeWindow
	if st.PublicURL != "" {
		u, err := url.Parse(st.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return r, fmt.Errorf("status.public-url: %q is not an http(s) URL", st.PublicURL)
		}
		r.publicURL = strings.TrimRight(st.PublicURL, "/") + "/"
	}
	if st.CancelTokenFile != "" {
		var err error
		if r.token, err = notify.ReadSecret(st.CancelTokenFile); err != nil {
			return r, fmt.Errorf("status.cancel-token-file: %w", err)
		}
		if len(r.token) < 16 {
			return r, errors.New("status.cancel-token-file: the token is shorter than 16 characters")
		}
	}

	ha := struct {
		Prefix       *string `mapstructure:"discovery-prefix"`
		PowerButtons bool    `mapstructure:"power-buttons"`
	}{}
	if err := decodeStrict("homeassistant", s.HomeAssistant, &ha); err != nil {
		return r, err
	}
	// Discovery is on wherever a prefix is configured; Home Assistant's
	// own default is "homeassistant".
	prefix := ""
	if ha.Prefix != nil {
		prefix = strings.Trim(*ha.Prefix, "/")
	}
	if prefix != "" {
		hc := hass.Config{Prefix: prefix, Topics: t, PowerButtons: ha.PowerButtons, StatusURL: r.publicURL, QoS: byte(s.QoS)}
		if err := hc.Validate(); err != nil {
			return r, fmt.Errorf("homeassistant.discovery-%w", err)
		}
		r.hass = &hc
	} else if ha.PowerButtons {
		return r, errors.New("homeassistant.power-buttons: set, but discovery is off (discovery-prefix is empty)")
	}
	return r, loadNotify(s.Notify, &r)
}

type notifyItem struct {
	Events []string `mapstructure:"events"`
	// ntfy, gotify, webhook
	Server            string   `mapstructure:"server"`
	Topic             string   `mapstructure:"topic"`
	URL               string   `mapstructure:"url"`
	TokenFile         string   `mapstructure:"token-file"`
	AuthorizationFile string   `mapstructure:"authorization-file"`
	ClickURL          string   `mapstructure:"click-url"`
	Cancel            string   `mapstructure:"cancel"`
	CancelTopic       string   `mapstructure:"cancel-topic"`
	Argv              []string `mapstructure:"argv"`
}

// the keys each kind of notifier takes, besides events.
var notifyKeys = map[string][]string{
	"ntfy":    {"server", "topic", "token-file", "click-url", "cancel", "cancel-topic"},
	"gotify":  {"url", "token-file", "click-url"},
	"webhook": {"url", "authorization-file"},
	"command": {"argv"},
}

func loadNotify(m map[string]any, r *reach) error {
	raw := struct {
		Events  []string         `mapstructure:"events"`
		Timeout time.Duration    `mapstructure:"timeout"`
		Settle  time.Duration    `mapstructure:"down-report-after"`
		Ntfy    []map[string]any `mapstructure:"ntfy"`
		Gotify  []map[string]any `mapstructure:"gotify"`
		Webhook []map[string]any `mapstructure:"webhook"`
		Command []map[string]any `mapstructure:"command"`
	}{Timeout: 10 * time.Second, Settle: 2 * time.Minute}
	if err := decodeStrict("notify", m, &raw); err != nil {
		return err
	}
	if raw.Timeout <= 0 || raw.Settle <= 0 {
		return errors.New("notify.timeout and notify.down-report-after: must be positive")
	}
	r.timeout, r.settle = raw.Timeout, raw.Settle
	def, err := filter("notify.events", raw.Events)
	if err != nil {
		return err
	}
	for kind, items := range map[string][]map[string]any{"ntfy": raw.Ntfy, "gotify": raw.Gotify, "webhook": raw.Webhook, "command": raw.Command} {
		for i, m := range items {
			key := fmt.Sprintf("notify.%s[%d]", kind, i)
			for k := range m {
				if k != "events" && !contains(notifyKeys[kind], k) {
					return fmt.Errorf("%s.%s: unknown key%s", key, k, hint(k))
				}
			}
			var it notifyItem
			if err := decodeStrict(key, m, &it); err != nil {
				return err
			}
			n, err := r.notifier(kind, key, it)
			if err != nil {
				return err
			}
			f := def
			if it.Events != nil {
				if f, err = filter(key+".events", it.Events); err != nil {
					return err
				}
			}
			r.targets = append(r.targets, notify.Target{Notifier: n, Events: f})
		}
	}
	return nil
}

func (r *reach) notifier(kind, key string, it notifyItem) (notify.Notifier, error) {
	secret := func(file, name string) (string, error) {
		if file == "" {
			return "", nil
		}
		s, err := notify.ReadSecret(file)
		if err != nil {
			return "", fmt.Errorf("%s.%s: %w", key, name, err)
		}
		return s, nil
	}
	click := it.ClickURL
	if click == "" {
		click = r.publicURL
	}
	switch kind {
	case "ntfy":
		if it.Topic == "" {
			return nil, fmt.Errorf("%s.topic: required", key)
		}
		server := it.Server
		if server == "" {
			server = "https://ntfy.sh"
		}
		if err := httpURL(key+".server", server); err != nil {
			return nil, err
		}
		tok, err := secret(it.TokenFile, "token-file")
		if err != nil {
			return nil, err
		}
		n := &notify.Ntfy{Server: server, Topic: it.Topic, Token: tok, ClickURL: click}
		switch it.Cancel {
		case "", "none":
		case "status":
			if r.publicURL == "" || r.token == "" {
				return nil, fmt.Errorf("%s.cancel: status needs status.public-url and status.cancel-token-file", key)
			}
			n.Cancel = &notify.CancelAction{URL: r.publicURL + "api/cancel", Token: r.token}
		case "ntfy":
			if r.token == "" || it.CancelTopic == "" {
				return nil, fmt.Errorf("%s.cancel: ntfy needs %s.cancel-topic and status.cancel-token-file", key, key)
			}
			if r.bridge != nil {
				return nil, fmt.Errorf("%s.cancel: only one ntfy target can carry cancels", key)
			}
			r.bridge = &notify.Bridge{Server: server, Topic: it.CancelTopic, Token: tok, Secret: r.token}
			n.Cancel = &notify.CancelAction{URL: r.bridge.PublishURL(), Token: tok, Body: r.token}
		default:
			return nil, fmt.Errorf("%s.cancel: %q (want none, status or ntfy)", key, it.Cancel)
		}
		return n, nil
	case "gotify":
		if err := httpURL(key+".url", it.URL); err != nil {
			return nil, err
		}
		tok, err := secret(it.TokenFile, "token-file")
		if err != nil {
			return nil, err
		}
		if tok == "" {
			return nil, fmt.Errorf("%s.token-file: required (a Gotify application token)", key)
		}
		return &notify.Gotify{URL: it.URL, Token: tok, ClickURL: click}, nil
	case "webhook":
		if err := httpURL(key+".url", it.URL); err != nil {
			return nil, err
		}
		auth, err := secret(it.AuthorizationFile, "authorization-file")
		if err != nil {
			return nil, err
		}
		w := &notify.Webhook{URL: it.URL}
		if auth != "" {
			w.Headers = map[string]string{"Authorization": auth}
		}
		return w, nil
	case "command":
		if len(it.Argv) == 0 || it.Argv[0] == "" {
			return nil, fmt.Errorf("%s.argv: required (the program and its arguments; no shell)", key)
		}
		return &notify.Command{Argv: it.Argv}, nil
	}
	return nil, fmt.Errorf("%s: unknown notifier", key)
}

func httpURL(key, s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: %q is not an http(s) URL", key, s)
	}
	return nil
}

func filter(key string, events []string) (notify.Filter, error) {
	f := make(notify.Filter, 0, len(events))
	for _, e := range events {
		f = append(f, watch.Kind(e))
	}
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return f, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
