// Package keys reads and writes the Ed25519 keys that sign commands, as
// PEM files: PKCS #8 for the private key (mode 0600), PKIX for the public.
package keys

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// File names written by Generate.
const (
	PrivateFile = "command_signing_key.pem"
	PublicFile  = "command_signing_key.pub.pem"
)

// Generate writes a new key pair into dir and returns the two paths. It
// refuses to overwrite an existing private key.
func Generate(dir string) (priv, pub string, err error) {
	priv, pub = filepath.Join(dir, PrivateFile), filepath.Join(dir, PublicFile)
	if _, err := os.Stat(priv); err == nil {
		return "", "", fmt.Errorf("keygen: %s exists; not overwriting it", priv)
	}
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("keygen: %w", err)
	}
	skDER, err := x509.MarshalPKCS8PrivateKey(sk)
	if err != nil {
		return "", "", fmt.Errorf("keygen: %w", err)
	}
	pkDER, err := x509.MarshalPKIXPublicKey(pk)
	if err != nil {
		return "", "", fmt.Errorf("keygen: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("keygen: %w", err)
	}
	if err := os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: skDER}), 0o600); err != nil {
		return "", "", fmt.Errorf("keygen: %w", err)
	}
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkDER}), 0o644); err != nil {
		return "", "", fmt.Errorf("keygen: %w", err)
	}
	return priv, pub, nil
}

// LoadPrivate reads a private key written by Generate.
func LoadPrivate(path string) (ed25519.PrivateKey, error) {
	der, err := readPEM(path, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	sk, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing key %s: not an Ed25519 key", path)
	}
	return sk, nil
}

// LoadPublic reads public keys written by Generate.
func LoadPublic(paths []string) ([]ed25519.PublicKey, error) {
	var out []ed25519.PublicKey
	for _, p := range paths {
		der, err := readPEM(p, "PUBLIC KEY")
		if err != nil {
			return nil, err
		}
		k, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			return nil, fmt.Errorf("public key %s: %w", p, err)
		}
		pk, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("public key %s: not an Ed25519 key", p)
		}
		out = append(out, pk)
	}
	return out, nil
}

func readPEM(path, kind string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("read key " + path + ": no PEM block")
	}
	if blk.Type != kind {
		return nil, fmt.Errorf("read key %s: a %q block, want %q", path, blk.Type, kind)
	}
	return blk.Bytes, nil
}
