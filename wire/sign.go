package wire

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Signing errors; both wrap ErrBadCommand.
var (
	ErrUnsigned     = fmt.Errorf("%w: command is not signed", ErrBadCommand)
	ErrBadSignature = fmt.Errorf("%w: signature does not verify", ErrBadCommand)
)

// SigningBytes is what a signature covers: every field but Sig, one per
// line in a fixed order, times in RFC 3339 UTC with nanoseconds. It is
// defined field by field, not as re-encoded JSON, so any publisher can
// produce it.
func (c Command) SigningBytes() []byte {
	t := func(v time.Time) string {
		if v.IsZero() {
			return ""
		}
		return v.UTC().Format(time.RFC3339Nano)
	}
	lines := []string{
		"stormguard-command-v1",
		c.ID,
		string(c.Action),
		c.Reason,
		c.Issuer,
		t(c.IssuedAt),
		t(c.Deadline),
		t(c.Expires),
		strings.Join(c.Targets, ","),
		strings.Join(c.Groups, ","),
		c.Cancels,
	}
	// Reasons may hold newlines: length-prefix each field so none can
	// be shifted into another.
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%d:%s\n", len(l), l)
	}
	return []byte(b.String())
}

// Sign sets c.Sig with key.
func (c *Command) Sign(key ed25519.PrivateKey) {
	c.Sig = base64.StdEncoding.EncodeToString(ed25519.Sign(key, c.SigningBytes()))
}

// Verify reports whether c carries a signature by one of keys. Plain-text
// commands cannot be signed and fail with ErrUnsigned.
func (c Command) Verify(keys []ed25519.PublicKey) error {
	if c.Plain || c.Sig == "" {
		return ErrUnsigned
	}
	sig, err := base64.StdEncoding.DecodeString(c.Sig)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return ErrBadSignature
	}
	msg := c.SigningBytes()
	for _, k := range keys {
		if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, msg, sig) {
			return nil
		}
	}
	return ErrBadSignature
}

// IsSignatureError reports whether err is about a missing or bad signature.
func IsSignatureError(err error) bool {
	return errors.Is(err, ErrUnsigned) || errors.Is(err, ErrBadSignature)
}
