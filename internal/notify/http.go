package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/stormguard/stormguard/internal/watch"
)

// post sends body as JSON to u with the given headers. The error names the
// host but never the query string or the headers, which can hold secrets.
func post(ctx context.Context, c *http.Client, u string, headers map[string]string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("request: %s", redact(u))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "stormguard")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("post %s: %w", redact(u), ctx.Err())
		}
		return fmt.Errorf("post %s: unreachable", redact(u))
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err := checkResponse(resp, rb); err != nil {
		return fmt.Errorf("post %s: %w", redact(u), err)
	}
	return nil
}

// redact keeps the scheme, host and path of u.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(bad URL)"
	}
	return p.Scheme + "://" + p.Host + p.Path
}

// Webhook posts every alert, as its JSON, to a URL.
type Webhook struct {
	URL string
	// Headers are added to every request, e.g. Authorization from a file.
	Headers map[string]string
	Client  *http.Client
}

// Name is "webhook".
func (w *Webhook) Name() string { return "webhook" }

// Notify posts a.
func (w *Webhook) Notify(ctx context.Context, a watch.Alert) error {
	return post(ctx, w.Client, w.URL, w.Headers, a)
}

// Gotify posts to a Gotify server's message API with an application token.
type Gotify struct {
	// URL is the server's base URL, e.g. "https://gotify.example.org".
	URL   string
	Token string
	// ClickURL, when set, opens the status page from the notification.
	ClickURL string
	Client   *http.Client
}

// Name is "gotify".
func (g *Gotify) Name() string { return "gotify" }

// gotifyPriority maps an alert to Gotify's 0 to 10.
func gotifyPriority(k watch.Kind) int {
	switch k {
	case watch.KindCountdown:
		return 10
	case watch.KindBlind, watch.KindDown, watch.KindHostFailed:
		return 8
	case watch.KindWatch, watch.KindCancelled:
		return 5
	}
	return 2
}

// Notify posts a; the token goes in the X-Gotify-Key header, not the URL.
func (g *Gotify) Notify(ctx context.Context, a watch.Alert) error {
	msg := map[string]any{"title": a.Title, "message": a.Message, "priority": gotifyPriority(a.Kind)}
	if g.ClickURL != "" {
		msg["extras"] = map[string]any{"client::notification": map[string]any{"click": map[string]string{"url": g.ClickURL}}}
	}
	return post(ctx, g.Client, strings.TrimRight(g.URL, "/")+"/message", map[string]string{"X-Gotify-Key": g.Token}, msg)
}
