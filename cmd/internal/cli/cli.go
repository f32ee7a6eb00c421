// Package cli is what the four programs share on their command lines: the
// connection flags, loading flags, environment and a config file into one
// struct with viper, the version, and logging.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
)

// Version is stamped at build time with -ldflags "-X .../cli.Version=v1.2.3".
var Version = "dev"

// ErrHelp is returned when -h was asked for; the usage is already printed.
var ErrHelp = flag.ErrHelp

// ErrVersion is returned when -version was asked for; the version is already printed.
var ErrVersion = errors.New("version printed")

// StringList is a repeatable flag (-group a -group b, or -group a,b).
type StringList []string

func (s *StringList) String() string { return strings.Join(*s, ",") }

// Set adds one or more comma-separated values.
func (s *StringList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s = append(*s, p)
		}
	}
	return nil
}

// Count is a repeatable flag that counts (-v -v).
type Count int

func (c *Count) String() string { return strconv.Itoa(int(*c)) }

// Set adds one; "-v=3" sets three.
func (c *Count) Set(v string) error {
	if n, err := strconv.Atoi(v); err == nil {
		*c = Count(n)
		return nil
	}
	if b, err := strconv.ParseBool(v); err == nil && b {
		*c++
		return nil
	}
	return fmt.Errorf("want a number or true, got %q", v)
}

// IsBoolFlag lets -v be given without a value.
func (c *Count) IsBoolFlag() bool { return true }

// Loader reads one program's settings: every flag is also a config-file key
// (the flag name) and an environment variable (PREFIX_NAME, dashes as
// underscores). Precedence: flag > environment > file > default.
type Loader struct {
	Program string // e.g. "agent"
	Summary string // one paragraph for -h
	Usage   string // the arguments part of the usage line, e.g. "[flags] [reason words...]"
	Env     string // environment prefix, e.g. "STORMGUARD_AGENT"
	FS      *flag.FlagSet
	Out     io.Writer
	// Keys are config-file keys that have no flag (nested settings).
	Keys []string
	// EnvNames are further environment variables under Env that the
	// program reads itself (secrets, say): not unknown.
	EnvNames []string
	// Trailer ends the -h text (exit codes, say).
	Trailer string
	// Help, when set, writes the -h text instead of the common layout.
	Help func(w io.Writer)
}

// NewLoader makes a loader with an empty flag set that also has -config,
// -v, -version and -h.
func NewLoader(program, summary, usage, env string, out io.Writer) *Loader {
	fs := flag.NewFlagSet(program, flag.ContinueOnError)
	// The flag package would print every parse error with the whole usage;
	// Load prints the usage for -h only and returns errors as UsageError.
	fs.SetOutput(io.Discard)
	if first, rest, ok := strings.Cut(program, " "); ok { // "stormguard run"
		program = Invoked(first) + " " + rest
	} else {
		program = Invoked(program)
	}
	l := &Loader{Program: program, Summary: summary, Usage: usage, Env: env, FS: fs, Out: out}
	fs.String("config", "", "read settings from this YAML, TOML or JSON `file` (every flag is also a key)")
	fs.Var(new(Count), "v", "increase verbosity; repeatable")
	fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {}
	return l
}

// PrintUsage writes the -h text to w.
func (l *Loader) PrintUsage(w io.Writer) {
	if l.Help != nil {
		l.Help(w)
		return
	}
	fmt.Fprintf(w, "usage: %s %s\n\n%s\n\nflags:\n", l.Program, l.Usage, l.Summary)
	l.FS.SetOutput(w)
	l.FS.PrintDefaults()
	l.FS.SetOutput(io.Discard)
	fmt.Fprintf(w, "\nEvery flag can also be set in the -config file under its own name, or in the\nenvironment as %s_<NAME> (upper case, dashes as underscores).\n", l.Env)
	if l.Trailer != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(l.Trailer, "\n"))
	}
}

// Load parses args and fills out (a pointer to a struct whose fields carry
// mapstructure tags named after the flags). It returns the positional
// arguments. Unknown keys in the config file are errors that name the key.
func (l *Loader) Load(args []string, out any) ([]string, error) {
	if l.docs(args) {
		return nil, ErrHelp
	}
	if err := l.FS.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			l.PrintUsage(l.Out)
			return nil, ErrHelp
		}
		return nil, &UsageError{Err: err}
	}
	if l.FS.Lookup("version").Value.String() == "true" {
		prog, _, _ := strings.Cut(l.Program, " ") // "stormguard run" is stormguard
		fmt.Fprintf(l.Out, "%s %s\n", prog, Version)
		return nil, ErrVersion
	}
	if err := l.checkEnv(os.Environ()); err != nil {
		return nil, err
	}
	v := viper.New()
	v.SetEnvPrefix(l.Env)
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	l.FS.VisitAll(func(f *flag.Flag) {
		if f.Name == "config" || f.Name == "version" {
			return
		}
		v.SetDefault(f.Name, flagValue(f))
	})
	if path := l.FS.Lookup("config").Value.String(); path != "" {
		v.SetConfigFile(path)
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
		file := viper.New()
		file.SetConfigFile(path)
		if err := file.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
		for _, k := range file.AllKeys() {
			top, _, _ := strings.Cut(k, ".")
			if l.FS.Lookup(top) == nil && !slices.Contains(l.Keys, top) {
				return nil, fmt.Errorf("config %s: unknown key %q (see %s -h)", path, k, l.Program)
			}
		}
	}
	l.FS.Visit(func(f *flag.Flag) {
		if f.Name != "config" && f.Name != "version" {
			v.Set(f.Name, flagValue(f))
		}
	})
	dc := func(c *mapstructure.DecoderConfig) {
		c.ErrorUnused = false
		c.WeaklyTypedInput = true
		c.DecodeHook = mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
			fieldsHook,
		)
	}
	if err := v.Unmarshal(out, dc); err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	return l.FS.Args(), nil
}

// flagValue gives viper the flag's typed value so lists stay lists.
func flagValue(f *flag.Flag) any {
	switch val := f.Value.(type) {
	case *StringList:
		return []string(*val)
	case *Count:
		return int(*val)
	case flag.Getter:
		return val.Get()
	}
	return f.Value.String()
}

// fieldsHook turns a string into a list by splitting on white space and
// commas: "-shutdown-cmd 'shutdown -h now'" and "GROUP=a,b" both work.
func fieldsHook(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to.Kind() != reflect.Slice || to.Elem().Kind() != reflect.String {
		return data, nil
	}
	return strings.FieldsFunc(data.(string), func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }), nil
}

// Logger returns a key=value logger on stderr for a daemon: info by
// default, debug with -v. Under systemd the lines carry journal priorities
// and no time stamp (Handler).
func Logger(verbosity int) *slog.Logger {
	level := slog.LevelInfo
	if verbosity > 0 {
		level = slog.LevelDebug
	}
	return slog.New(Handler(os.Stderr, level))
}

// ToolLogger is Logger for a command-line tool, whose output is its
// result: warnings only by default, info with -v, debug with -v -v.
func ToolLogger(verbosity int) *slog.Logger {
	level := slog.LevelWarn
	switch {
	case verbosity > 1:
		level = slog.LevelDebug
	case verbosity == 1:
		level = slog.LevelInfo
	}
	return slog.New(Handler(os.Stderr, level))
}
