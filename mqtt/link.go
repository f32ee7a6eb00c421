package mqtt

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// The causes a ConnError names, in the words an administrator looks for.
const (
	CauseRefused       = "refused"        // nothing listens at that address (connection refused)
	CauseNotAuthorised = "not authorised" // the broker refused this identity (CONNACK 5)
	CauseBadLogin      = "bad user name or password"
	CauseIDRejected    = "client id rejected"
	CauseUnavailable   = "broker unavailable"
	CauseTLS           = "TLS"
	CauseDNS           = "DNS"
	CauseTimeout       = "timeout"
	CauseClosed        = "closed by the broker"
	CauseNetwork       = "network"
)

// ConnError is a failed connection attempt: which broker, and why.
type ConnError struct {
	Broker string // the URL tried, without any password
	Cause  string // one of the Cause constants
	Err    error
}

func (e *ConnError) Error() string {
	return fmt.Sprintf("connect to %s: %s: %v", e.Broker, e.Cause, e.Err)
}

func (e *ConnError) Unwrap() error { return e.Err }

// Cause names what went wrong with a connection attempt.
func Cause(err error) string {
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var record tls.RecordHeaderError
	var netErr net.Error
	switch {
	case errors.Is(err, packets.ErrorRefusedNotAuthorised):
		return CauseNotAuthorised
	case errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword):
		return CauseBadLogin
	case errors.Is(err, packets.ErrorRefusedIDRejected):
		return CauseIDRejected
	case errors.Is(err, packets.ErrorRefusedServerUnavailable):
		return CauseUnavailable
	case errors.As(err, &dns):
		return CauseDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return CauseRefused
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid),
		errors.As(err, &verify), errors.As(err, &record), strings.Contains(err.Error(), "tls:"):
		return CauseTLS
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return CauseTimeout
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.ErrUnexpectedEOF):
		return CauseClosed
	}
	return CauseNetwork
}

func redact(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.Redacted()
}

// notify follows paho's connection events and logs the trouble once per
// change of state: a daemon whose broker refuses it says so once at
// warning level (and again if the cause changes), not every two seconds,
// and says when it is back.
func (c *Client) notify(pc paho.Client, n paho.ConnectionNotification) {
	switch n := n.(type) {
	case paho.ConnectionNotificationBroker:
		c.mu.Lock()
		c.broker = redact(n.Broker)
		c.mu.Unlock()
	case paho.ConnectionNotificationBrokerFailed:
		// A network failure (dial, DNS, TLS); a CONNACK refusal only comes as Failed.
		c.trouble(&ConnError{Broker: redact(n.Broker), Cause: Cause(n.Reason), Err: n.Reason})
	case paho.ConnectionNotificationFailed:
		if n.Reason == nil || errors.Is(n.Reason, packets.ErrorNetworkError) {
			return // each broker's network failure was reported above
		}
		c.mu.Lock()
		b := c.broker
		c.mu.Unlock()
		c.trouble(&ConnError{Broker: b, Cause: Cause(n.Reason), Err: n.Reason})
	case paho.ConnectionNotificationLost:
		err := n.Reason
		if err == nil {
			err = errors.New("connection lost")
		}
		c.mu.Lock()
		b := c.broker
		c.mu.Unlock()
		if pc.IsConnectionOpen() {
			// paho delivers this late, on its own goroutine: already back.
			c.log.Warn("broker connection lost and back", "broker", b, "err", err)
			return
		}
		c.trouble(&ConnError{Broker: b, Cause: Cause(err), Err: err})
	}
}

// trouble records a failed attempt or a lost connection and logs it when
// it is news: the first trouble after being up, or a different cause.
func (c *Client) trouble(e *ConnError) {
	c.mu.Lock()
	key := e.Broker + "\x00" + e.Cause
	news := c.up || c.troubleKey != key
	if c.up || c.downSince.IsZero() {
		c.downSince = time.Now()
	}
	c.up = false
	c.troubleKey = key
	c.lastErr = e
	c.mu.Unlock()
	select {
	case <-c.ready:
	default:
		if c.cfg.FailFast {
			// The caller is told by WaitReady; no second report.
			news = false
		}
	}
	if news {
		c.log.Warn("broker connection trouble; retrying", "broker", e.Broker, "cause", e.Cause, "err", e.Err)
	} else {
		c.log.Debug("broker connection trouble, same as before", "broker", e.Broker, "cause", e.Cause, "err", e.Err)
	}
}

// linkUp records a connection; after trouble it logs that it is back.
func (c *Client) linkUp() {
	c.mu.Lock()
	was := c.lastErr
	since := c.downSince
	b := c.broker
	c.up = true
	c.troubleKey = ""
	c.lastErr = nil
	c.downSince = time.Time{}
	c.mu.Unlock()
	if was != nil {
		c.log.Warn("broker connection back", "broker", b, "after", time.Since(since).Round(time.Millisecond), "was", was.Cause)
	}
}

// Err returns the last connection trouble, or nil while connected (and
// before the first attempt has ended).
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lastErr == nil {
		return nil
	}
	return c.lastErr
}
