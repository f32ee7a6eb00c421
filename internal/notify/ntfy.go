package notify

import (
	"context"
	"net/http"
	"strings"

	"github.com/stormguard/stormguard/internal/watch"
)

// Ntfy publishes to an ntfy topic with ntfy's JSON publishing API: a
// priority and tags by kind, a click URL, and on a countdown an action
// button that cancels it from the phone.
type Ntfy struct {
	// Server is the base URL, e.g. "https://ntfy.sh".
	Server string
	Topic  string
	// Token, when set, is sent as a bearer token (an ntfy access token).
	Token string
	// ClickURL opens when the notification is tapped (the status page).
	ClickURL string
	// Cancel, when set, adds a "Cancel countdown" button to a countdown.
	Cancel *CancelAction
	Client *http.Client
}

// CancelAction is the HTTP request the phone makes when the cancel button
// is pressed: a POST to URL with a bearer token and a body. It reaches
// stormguard's status page directly, or goes through ntfy itself (see
// Bridge) when stormguard cannot be reached from where the phone is.
type CancelAction struct {
	URL   string
	Token string
	Body  string
}

// Name is "ntfy".
func (n *Ntfy) Name() string { return "ntfy" }

// ntfyStyle is the priority (1 to 5) and tags (emoji short codes) of a kind.
func ntfyStyle(k watch.Kind) (int, []string) {
	switch k {
	case watch.KindCountdown:
		return 5, []string{"rotating_light", "zap"}
	case watch.KindBlind:
		return 4, []string{"see_no_evil"}
	case watch.KindDown:
		return 4, []string{"electric_plug"}
	case watch.KindHostFailed:
		return 4, []string{"x"}
	case watch.KindWatch:
		return 3, []string{"cloud_with_lightning"}
	case watch.KindCancelled:
		return 3, []string{"no_entry_sign"}
	case watch.KindAllClear:
		return 2, []string{"sunny"}
	}
	return 2, []string{"eyes"}
}

// Notify publishes a.
func (n *Ntfy) Notify(ctx context.Context, a watch.Alert) error {
	prio, tags := ntfyStyle(a.Kind)
	msg := map[string]any{
		"topic": n.Topic, "title": a.Title, "message": orDash(a.Message), "priority": prio, "tags": tags,
	}
	if n.ClickURL != "" {
		msg["click"] = n.ClickURL
	}
	if a.Kind == watch.KindCountdown && n.Cancel != nil {
		act := map[string]any{"action": "http", "label": "Cancel countdown", "url": n.Cancel.URL,
			"method": "POST", "clear": true, "body": n.Cancel.Body}
		if n.Cancel.Token != "" {
			act["headers"] = map[string]string{"Authorization": "Bearer " + n.Cancel.Token}
		}
		msg["actions"] = []any{act}
	}
	var h map[string]string
	if n.Token != "" {
		h = map[string]string{"Authorization": "Bearer " + n.Token}
	}
	return post(ctx, n.Client, strings.TrimRight(n.Server, "/"), h, msg)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
