package weather

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxBodyBytes is the most of a response body an HTTP source reads; a
// longer body is treated as malformed rather than buffered.
const MaxBodyBytes = 4 << 20

// DefaultUserAgent is sent by every HTTP source unless its config sets another.
const DefaultUserAgent = "stormguard/1 (+https://github.com/stormguard/stormguard)"

// DefaultTimeout bounds one HTTP request when the config sets no Timeout.
const DefaultTimeout = 20 * time.Second

// HTTPConfig is the part of an HTTP source's config that says how to reach it.
type HTTPConfig struct {
	// BaseURL replaces the API's real scheme and host, e.g. for a test server
	// or a proxy. Empty means the source's public host.
	BaseURL string
	// Client sends the requests; nil means a client of its own.
	Client *http.Client
	// UserAgent is sent with every request; empty means DefaultUserAgent.
	UserAgent string
	// Timeout bounds each request, on top of the poll's ctx; zero means DefaultTimeout.
	Timeout time.Duration
}

// withDefaults fills the empty fields, using base as the default BaseURL.
func (c HTTPConfig) withDefaults(base string) HTTPConfig {
	if c.BaseURL == "" {
		c.BaseURL = base
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.Client == nil {
		c.Client = &http.Client{}
	}
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// validate checks the fields withDefaults cannot fill.
func (c HTTPConfig) validate() error {
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("HTTP.BaseURL %q is not an http(s) URL", c.BaseURL)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("HTTP.Timeout %v is negative", c.Timeout)
	}
	if strings.ContainsAny(c.UserAgent, "\r\n") {
		return errors.New("HTTP.UserAgent contains a line break")
	}
	return nil
}

// fetch is one GET to an HTTP source.
type fetch struct {
	cfg    HTTPConfig
	path   string
	query  url.Values
	accept string
	// secrets are removed from any text that goes into an error.
	secrets []string
	// errDetail pulls the human message out of an error body; may be nil.
	errDetail func(body []byte) string
}

// do sends the request and returns the body of a 2xx answer. A non-2xx
// answer is an *HTTPError; transport errors leave out the URL, because API
// keys travel in the query string.
func (f fetch) do(ctx context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	u := f.cfg.BaseURL + f.path
	if len(f.query) > 0 {
		u += "?" + f.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %s", f.redact(err.Error()))
	}
	req.Header.Set("User-Agent", f.cfg.UserAgent)
	if f.accept != "" {
		req.Header.Set("Accept", f.accept)
	} else {
		req.Header.Set("Accept", "application/json")
	}
	resp, err := f.cfg.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // drop the URL and its query string
		}
		return nil, &transportError{msg: f.redact(err.Error()), err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, &transportError{msg: "read body: " + f.redact(err.Error()), err: err}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		he := &HTTPError{Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
		if f.errDetail != nil {
			he.Detail = f.redact(f.errDetail(body))
		}
		return nil, he
	}
	if len(body) > MaxBodyBytes {
		return nil, fmt.Errorf("body larger than %d bytes: %w", MaxBodyBytes, ErrMalformed)
	}
	return body, nil
}

// redact removes every configured secret from s.
func (f fetch) redact(s string) string {
	for _, sec := range f.secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "REDACTED")
			// The query-escaped form may appear too.
			if esc := url.QueryEscape(sec); esc != sec {
				s = strings.ReplaceAll(s, esc, "REDACTED")
			}
		}
	}
	return s
}

// transportError is a request that got no HTTP answer. Its text has had the
// secrets removed; Unwrap still reaches context.DeadlineExceeded and the like.
type transportError struct {
	msg string
	err error
}

func (e *transportError) Error() string { return e.msg }
func (e *transportError) Unwrap() error { return e.err }

// retryAfter parses a Retry-After header, either delay-seconds or an HTTP
// date; it returns zero when the header is absent or unreadable.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := t.Sub(now); d > 0 {
			return d.Round(time.Second)
		}
	}
	return 0
}

// clip shortens an error body quoted in an error message.
func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// malformed wraps a decode error so callers can test it with errors.Is(err, ErrMalformed).
func malformed(source string, err error) error {
	return fmt.Errorf("decode %s: %w: %w", source, ErrMalformed, err)
}

// APIError is an answer that arrived as HTTP success but says the request
// failed, e.g. Xweather's success:false or Open-Meteo's error:true.
type APIError struct {
	Source string
	// Code is the source's error code, e.g. "invalid_client"; may be empty.
	Code    string
	Message string
}

func (e *APIError) Error() string {
	switch {
	case e.Code != "" && e.Message != "":
		return fmt.Sprintf("%s: %s: %s", e.Source, e.Code, e.Message)
	case e.Code != "":
		return fmt.Sprintf("%s: %s", e.Source, e.Code)
	default:
		return fmt.Sprintf("%s: %s", e.Source, e.Message)
	}
}
