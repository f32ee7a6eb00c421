package cli

import (
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Docs are generated from the same flag set as -h, so the man page, the
// shell completions and the help cannot disagree. They are asked for with
// arguments that -h does not list, used by scripts/build-release.sh:
//
//	PROGRAM --man NAME              a man page (roff) for the installed NAME
//	PROGRAM --completion bash NAME  a bash completion script for NAME
//	PROGRAM --completion zsh NAME   a zsh completion script for NAME
func (l *Loader) docs(args []string) bool {
	switch {
	case len(args) == 2 && args[0] == "--man":
		l.Man(l.Out, args[1])
	case len(args) == 3 && args[0] == "--completion" && args[1] == "bash":
		l.Bash(l.Out, args[2])
	case len(args) == 3 && args[0] == "--completion" && args[1] == "zsh":
		l.Zsh(l.Out, args[2])
	default:
		return false
	}
	return true
}

// roff escapes text for a man page.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, ".") || strings.HasPrefix(line, "'") {
			line = `\&` + line
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// flagDoc is one flag as the docs show it.
type flagDoc struct {
	name, arg, usage, def string
	isBool                bool
}

func (l *Loader) flags() []flagDoc {
	var out []flagDoc
	l.FS.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		d := flagDoc{name: f.Name, arg: arg, usage: usage}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			d.isBool, d.arg = true, ""
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" && f.DefValue != "0s" {
			d.def = f.DefValue
		}
		out = append(out, d)
	})
	return out
}

// Man writes a man page for the program installed as name.
func (l *Loader) Man(w io.Writer, name string) {
	summary := strings.TrimSpace(l.Summary)
	first, _, _ := strings.Cut(summary, "\n\n")
	first = strings.Join(strings.Fields(first), " ")
	if i := strings.Index(first, ". "); i > 0 {
		first = first[:i]
	}
	first = strings.TrimSuffix(first, ".")
	prog, _, _ := strings.Cut(l.Program, " ")
	first = strings.TrimPrefix(first, prog+" ")
	fmt.Fprintf(w, ".TH %s 1 \"\" \"stormguard %s\" \"stormguard\"\n", roff(strings.ToUpper(name)), roff(Version))
	fmt.Fprintf(w, ".SH NAME\n%s \\- %s\n", roff(name), roff(first))
	fmt.Fprintf(w, ".SH SYNOPSIS\n.B %s\n%s\n", roff(name), roff(l.Usage))
	fmt.Fprintf(w, ".SH DESCRIPTION\n.nf\n%s\n.fi\n", roff(summary))
	fmt.Fprintf(w, ".SH OPTIONS\n")
	for _, f := range l.flags() {
		if f.arg != "" {
			fmt.Fprintf(w, ".TP\n.BI \"\\-%s \" %s", roff(f.name), roff(f.arg))
		} else {
			fmt.Fprintf(w, ".TP\n.B \\-%s", roff(f.name))
		}
		fmt.Fprintf(w, "\n%s", roff(f.usage))
		if f.def != "" {
			fmt.Fprintf(w, " (default %s)", roff(f.def))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, ".SH ENVIRONMENT\nEvery flag can also be set in the \\-config file under its own name, or in the environment as\n.BR %s_<NAME>\n(upper case, dashes as underscores). A variable under that prefix that names no setting is an error.\n", roff(l.Env))
	fmt.Fprintf(w, ".SH EXIT STATUS\n")
	if l.Trailer != "" {
		fmt.Fprintf(w, ".nf\n%s\n.fi\n", roff(l.Trailer))
	} else {
		fmt.Fprintf(w, ".nf\n%s\n.fi\n", roff("0  stopped cleanly (-h and -version too)\n1  an error\n2  usage error: a bad flag, argument or environment variable\n78 a configuration it cannot start with (its unit does not restart it)"))
	}
	fmt.Fprintf(w, ".SH SEE ALSO\n/usr/share/doc/%s/install.md\n", roff(name))
}

var ident = regexp.MustCompile(`[^A-Za-z0-9_]`)

// fileArg reports whether a flag's argument names a file or directory.
func (f flagDoc) fileArg() bool {
	return f.arg == "file" || f.arg == "directory" || f.arg == "dir"
}

// Bash writes a bash completion script for the program installed as name.
func (l *Loader) Bash(w io.Writer, name string) {
	fn := "_" + ident.ReplaceAllString(name, "_")
	all := []string{"-h"}
	var files, values []string
	for _, f := range l.flags() {
		all = append(all, "-"+f.name)
		switch {
		case f.fileArg():
			files = append(files, "-"+f.name)
		case !f.isBool:
			values = append(values, "-"+f.name)
		}
	}
	fmt.Fprintf(w, "# bash completion for %s, generated from its flags (%s -h)\n", name, name)
	fmt.Fprintf(w, "%s() {\n\tlocal cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n", fn)
	fmt.Fprintf(w, "\tcase \"$prev\" in\n")
	if len(files) > 0 {
		fmt.Fprintf(w, "\t%s)\n\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n\t\treturn ;;\n", strings.Join(files, "|"))
	}
	if len(values) > 0 {
		fmt.Fprintf(w, "\t%s)\n\t\treturn ;;\n", strings.Join(values, "|"))
	}
	fmt.Fprintf(w, "\tesac\n\tif [[ \"$cur\" == -* ]]; then\n\t\tCOMPREPLY=($(compgen -W \"%s\" -- \"$cur\"))\n\tfi\n}\n", strings.Join(all, " "))
	fmt.Fprintf(w, "complete -o default -F %s %s\n", fn, name)
}

// Zsh writes a zsh completion script for the program installed as name.
func (l *Loader) Zsh(w io.Writer, name string) {
	esc := strings.NewReplacer(`'`, `'\''`, `[`, `\[`, `]`, `\]`, `:`, `\:`)
	fmt.Fprintf(w, "#compdef %s\n# zsh completion for %s, generated from its flags (%s -h)\n_arguments \\\n", name, name, name)
	fmt.Fprintf(w, "  '-h[show the help and exit]' \\\n")
	for _, f := range l.flags() {
		spec := fmt.Sprintf("-%s[%s]", f.name, esc.Replace(f.usage))
		switch {
		case f.fileArg():
			spec += ":" + f.arg + ":_files"
		case !f.isBool:
			spec += ":" + f.arg + ":"
		}
		if f.name == "v" {
			spec = "*" + spec
		}
		fmt.Fprintf(w, "  '%s' \\\n", spec)
	}
	fmt.Fprintf(w, "  '*:argument:'\n")
}
