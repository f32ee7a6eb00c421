package notify

import (
	"bufio"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Bridge carries a cancel from a phone to the fleet through ntfy, for when
// stormguard cannot be reached from where the phone is: the countdown's
// "Cancel countdown" button posts the cancel token to a cancel topic on
// the ntfy server, and the Bridge, subscribed to that topic over an
// outgoing connection, calls Cancel when a message carries the token.
// Nothing needs to be opened towards the house.
type Bridge struct {
	Server string
	// Topic is the cancel topic; pick a name nobody guesses.
	Topic string
	// Token authenticates the subscription to ntfy (an access token), if
	// the server needs one.
	Token string
	// Secret is what a message must say to cancel.
	Secret string
	// Cancel publishes the CANCEL.
	Cancel func(ctx context.Context, reason string) error
	// MaxAge drops messages older than this (ntfy can deliver late);
	// default 10 minutes.
	MaxAge time.Duration
	Client *http.Client
	Logger *slog.Logger
	Now    func() time.Time
}

// PublishURL is where the phone posts the secret.
func (b *Bridge) PublishURL() string { return strings.TrimRight(b.Server, "/") + "/" + b.Topic }

// Run keeps the subscription up until ctx ends, reconnecting after a
// failure with a growing wait.
func (b *Bridge) Run(ctx context.Context) {
	if b.Logger == nil {
		b.Logger = slog.New(slog.DiscardHandler)
	}
	if b.Now == nil {
		b.Now = time.Now
	}
	if b.MaxAge <= 0 {
		b.MaxAge = 10 * time.Minute
	}
	wait := time.Second
	for ctx.Err() == nil {
		start := b.Now()
		err := b.subscribe(ctx)
		if ctx.Err() != nil {
			return
		}
		if b.Now().Sub(start) > time.Minute {
			wait = time.Second
		}
		b.Logger.Warn("ntfy cancel bridge", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Minute)
	}
}

// ntfyMessage is a line of ntfy's JSON stream.
type ntfyMessage struct {
	ID      string `json:"id"`
	Time    int64  `json:"time"`
	Event   string `json:"event"`
	Message string `json:"message"`
}

func (b *Bridge) subscribe(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.PublishURL()+"/json", nil)
	if err != nil {
		return fmt.Errorf("request: %s", redact(b.PublishURL()))
	}
	if b.Token != "" {
		req.Header.Set("Authorization", "Bearer "+b.Token)
	}
	c := b.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("subscribe %s: unreachable", redact(b.PublishURL()))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("subscribe %s: HTTP %d", redact(b.PublishURL()), resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 8192), 64<<10)
	for sc.Scan() {
		var m ntfyMessage
		if json.Unmarshal(sc.Bytes(), &m) != nil || m.Event != "message" {
			continue
		}
		b.handle(ctx, m)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("subscribe %s: %w", redact(b.PublishURL()), err)
	}
	return fmt.Errorf("subscribe %s: stream ended", redact(b.PublishURL()))
}

func (b *Bridge) handle(ctx context.Context, m ntfyMessage) {
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(m.Message)), []byte(b.Secret)) != 1 {
		b.Logger.Warn("ntfy cancel bridge: message without the cancel token ignored", "id", m.ID)
		return
	}
	if m.Time > 0 && b.Now().Sub(time.Unix(m.Time, 0)) > b.MaxAge {
		b.Logger.Warn("ntfy cancel bridge: old message ignored", "id", m.ID)
		return
	}
	if err := b.Cancel(ctx, "cancelled from a phone (ntfy)"); err != nil {
		b.Logger.Error("ntfy cancel bridge: publish CANCEL", "err", err)
		return
	}
	b.Logger.Warn("CANCEL published for a phone (ntfy)", "id", m.ID)
}
