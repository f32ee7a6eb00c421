package cli

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/wire"
)

// Conn holds the connection settings every program shares.
type Conn struct {
	Host         string        `mapstructure:"host"`
	Port         int           `mapstructure:"port"`
	Brokers      []string      `mapstructure:"brokers"`
	Cert         string        `mapstructure:"cert"`
	User         string        `mapstructure:"user"`
	PasswordFile string        `mapstructure:"password-file"`
	QoS          int           `mapstructure:"qos"`
	Prefix       string        `mapstructure:"topic-prefix"`
	KeepAlive    time.Duration `mapstructure:"keepalive"`
	Verbose      int           `mapstructure:"v"`
}

// AddConnFlags defines the shared connection flags on fs.
func AddConnFlags(fs *flag.FlagSet, defaultQoS int) {
	fs.String("host", "localhost", "broker `host` name")
	fs.Int("port", 1883, "broker `port`")
	fs.Var(new(StringList), "brokers", "broker `URLs` tried in order for failover, e.g. ssl://a:8883,ssl://b:8883 (overrides -host and -port)")
	fs.String("cert", "", "`directory` of ca_public_certificate.pem, public_certificate.pem and private_key.pem; with it, TLS with a client certificate")
	fs.String("user", "", "broker user `name`")
	fs.String("password-file", "", "read the broker password from this `file` (its first line)")
	fs.Int("qos", defaultQoS, "MQTT quality of service `{0,1,2}`")
	fs.String("topic-prefix", "", "put this `prefix` and a / in front of every topic")
	fs.Duration("keepalive", 15*time.Second, "MQTT keepalive: the broker declares this client gone (and publishes its last will) after 1.5 times this without a word")
}

// Validate reports the first bad connection setting, naming its key.
func (c Conn) Validate() error {
	switch {
	case c.QoS < 0 || c.QoS > 2:
		return fmt.Errorf("qos: %d is not 0, 1 or 2", c.QoS)
	case len(c.Brokers) == 0 && c.Host == "":
		return errors.New("host: empty")
	case len(c.Brokers) == 0 && (c.Port <= 0 || c.Port > 65535):
		return fmt.Errorf("port: %d is not a TCP port", c.Port)
	case c.KeepAlive < 0 || (c.KeepAlive > 0 && c.KeepAlive < time.Second):
		return fmt.Errorf("keepalive: %s is under a second", c.KeepAlive)
	case c.Prefix != "" && strings.ContainsAny(c.Prefix, "+#"):
		return fmt.Errorf("topic-prefix: %q has an MQTT wildcard", c.Prefix)
	}
	return nil
}

// Topics returns the topic builder for these settings.
func (c Conn) Topics() wire.Topics { return wire.Topics{Prefix: strings.Trim(c.Prefix, "/")} }

// MQTT turns the settings into a client configuration: broker URLs (ssl://
// when -cert is given), TLS files and the password read from its file.
func (c Conn) MQTT(clientID string) (mqtt.Config, error) {
	if err := c.Validate(); err != nil {
		return mqtt.Config{}, err
	}
	cfg := mqtt.Config{ClientID: clientID, Username: c.User, KeepAlive: c.KeepAlive}
	cfg.Brokers = c.Brokers
	if len(cfg.Brokers) == 0 {
		scheme := "tcp"
		if c.Cert != "" {
			scheme = "ssl"
		}
		cfg.Brokers = []string{fmt.Sprintf("%s://%s:%d", scheme, c.Host, c.Port)}
	}
	if c.Cert != "" {
		t, err := mqtt.LoadTLS(c.Cert)
		if err != nil {
			return mqtt.Config{}, fmt.Errorf("cert: %w", err)
		}
		cfg.TLS = t
	}
	if c.PasswordFile != "" {
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return mqtt.Config{}, fmt.Errorf("password-file: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		cfg.Password = strings.TrimRight(line, "\r")
	}
	return cfg, cfg.Validate()
}
