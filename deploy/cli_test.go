package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/mqtttest"
)

// envPrefix is each program's environment prefix.
var envPrefix = map[string]string{
	"agent": "STORMGUARD_AGENT", "shutdownall": "STORMGUARD_SHUTDOWNALL",
	"stormguard": "STORMGUARD", "servicemanager": "STORMGUARD_SERVICEMANAGER",
}

type result struct {
	stdout, stderr string
	code           int
}

func runBin(t *testing.T, bin string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	code := 0
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	return result{stdout.String(), stderr.String(), code}
}

// One command-line convention for the four programs: -h and -version on
// standard output with exit 0; a usage error, or a misspelt environment
// variable, as one error line and one hint line with exit 2.
func TestEveryProgramSpeaksTheSameCommandLine(t *testing.T) {
	const version = "v1.2.3-cli"
	for _, p := range shippedPrograms(t) {
		t.Run(p, func(t *testing.T) {
			bin := build(t, p, version)
			if r := runBin(t, bin, nil, "-h"); r.code != 0 || !strings.HasPrefix(r.stdout, "usage: "+p) || r.stderr != "" {
				t.Errorf("-h: exit %d, stdout %.60q, stderr %q", r.code, r.stdout, r.stderr)
			}
			if r := runBin(t, bin, nil, "-version"); r.code != 0 || strings.TrimSpace(r.stdout) != p+" "+version || r.stderr != "" {
				t.Errorf("-version: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
			usageError := func(what string, r result, names string) {
				t.Helper()
				lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
				if r.code != 2 || r.stdout != "" || len(lines) != 2 || !strings.HasPrefix(lines[0], "error: ") ||
					!strings.Contains(lines[0], names) || !strings.HasPrefix(lines[1], "hint: ") {
					t.Errorf("%s: exit %d, stdout %q, stderr:\n%s", what, r.code, r.stdout, r.stderr)
				}
			}
			usageError("a bad flag", runBin(t, bin, nil, "-no-such-flag"), "-no-such-flag")

			// The man page and completions come from the flags -h lists.
			var help string
			if p == "stormguard" {
				help = runBin(t, bin, nil, "run", "-h").stdout
			} else {
				help = runBin(t, bin, nil, "-h").stdout
			}
			flags := regexp.MustCompile(`(?m)^  -([a-z][a-z0-9-]*)`).FindAllStringSubmatch(help, -1)
			man := runBin(t, bin, nil, "--man", "x-"+p)
			bash := runBin(t, bin, nil, "--completion", "bash", "x-"+p)
			zsh := runBin(t, bin, nil, "--completion", "zsh", "x-"+p)
			if len(flags) < 5 || man.code != 0 || bash.code != 0 || zsh.code != 0 {
				t.Fatalf("%d flags in -h; --man exit %d, --completion exit %d and %d", len(flags), man.code, bash.code, zsh.code)
			}
			for _, f := range flags {
				if !strings.Contains(man.stdout, `\-`+strings.ReplaceAll(f[1], "-", `\-`)+" ") && !strings.Contains(man.stdout, `\-`+strings.ReplaceAll(f[1], "-", `\-`)+"\n") {
					t.Errorf("the man page lacks -%s", f[1])
				}
				inBash := regexp.MustCompile(`[ "]-` + regexp.QuoteMeta(f[1]) + `[ "]`).MatchString(bash.stdout)
				if !inBash || !strings.Contains(zsh.stdout, "'-"+f[1]+"[") && !strings.Contains(zsh.stdout, "'*-"+f[1]+"[") {
					t.Errorf("a completion lacks -%s", f[1])
				}
			}
			script := filepath.Join(t.TempDir(), "completion.bash")
			os.WriteFile(script, []byte(bash.stdout), 0o644)
			if out, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
				t.Errorf("bash -n on the completion: %v %s", err, out)
			}
			typo := envPrefix[p] + "_KEEPALIVEE"
			usageError("a misspelt variable", runBin(t, bin, []string{typo + "=30s"}), typo)
		})
	}
}

// A daemon whose broker refuses it says so once, at warning level, with
// the broker and the cause, however often it retries; under systemd the
// line carries the journal priority and no time stamp.
func TestDaemonsReportBrokerTroubleOnce(t *testing.T) {
	b := mqtttest.MosquittoWithUser(t, "fleet", "right")
	dir := t.TempDir()
	host, port, _ := strings.Cut(b.Addr, ":")
	wrong := filepath.Join(dir, "wrong")
	os.WriteFile(wrong, []byte("wrong\n"), 0o600)
	storm, _ := filepath.Abs("../internal/demo/storm.jsonl")
	cfg := filepath.Join(dir, "stormguard.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("site: {lat: 40.0, lon: -105.0}\nsources:\n  - {type: replay, path: %q, speed: 1}\n", storm)), 0o644)
	conn := []string{"-host", host, "-port", port, "-user", "fleet", "-password-file", wrong, "-v"}
	for prog, args := range map[string][]string{
		"agent":          {"-name", "nas", "-state-dir", t.TempDir(), "-dry-run"},
		"servicemanager": {},
		"stormguard":     {"-config", cfg, "-state-dir", t.TempDir()},
	} {
		t.Run(prog, func(t *testing.T) {
			t.Parallel()
			bin := build(t, prog, "dev")
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var st syscall.Stat_t
			if err := syscall.Fstat(int(w.Fd()), &st); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, append(args, conn...)...)
			cmd.Env = append(os.Environ(), fmt.Sprintf("JOURNAL_STREAM=%d:%d", st.Dev, st.Ino))
			cmd.Stderr = w
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			w.Close()
			t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })

			lines := make(chan string, 100)
			go func() {
				sc := bufio.NewScanner(r)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			trouble := regexp.MustCompile(`^<4>level=WARN msg="broker connection trouble; retrying" .*broker=tcp://` + regexp.QuoteMeta(b.Addr) + ` cause="not authorised"`)
			var warnings, all []string
			repeats := 0
			deadline := time.After(30 * time.Second)
			for repeats < 2 {
				select {
				case l, ok := <-lines:
					if !ok {
						t.Fatalf("%s exited; it logged:\n%s", prog, strings.Join(all, "\n"))
					}
					all = append(all, l)
					if !regexp.MustCompile(`^<[0-7]>level=`).MatchString(l) || strings.Contains(l, "time=") {
						t.Errorf("not a journal line: %s", l)
					}
					if strings.HasPrefix(l, "<4>") && strings.Contains(l, "broker") {
						warnings = append(warnings, l)
					}
					if strings.HasPrefix(l, "<7>") && strings.Contains(l, "same as before") && strings.Contains(l, b.Addr) {
						repeats++
					}
				case <-deadline:
					t.Fatalf("no repeated refusals within 30s; %s logged:\n%s", prog, strings.Join(all, "\n"))
				}
			}
			if len(warnings) != 1 || !trouble.MatchString(warnings[0]) {
				t.Errorf("want one warning naming the broker and \"not authorised\", got %d:\n%s", len(warnings), strings.Join(warnings, "\n"))
			}
		})
	}
}

// A daemon that cannot use its configuration exits 78, which its unit's
// RestartPreventExitStatus names: installed but not configured, it fails
// once instead of restarting every five seconds.
func TestUnconfiguredDaemonsExit78(t *testing.T) {
	for prog, args := range map[string][]string{
		"agent":          {"-config", "etc/agent.yaml", "-state-dir", t.TempDir()},
		"servicemanager": {"-config", "etc/servicemanager.yaml"},
		"stormguard":     {"-config", "etc/stormguard.yaml", "-state-dir", t.TempDir()},
	} {
		// The packaged configuration names certificate directories under
		// /etc/stormguard/tls, which a fresh install does not have.
		r := runBin(t, build(t, prog, "dev"), nil, append(args, "-cert", filepath.Join(t.TempDir(), "no-such-dir"))...)
		// (stormguard's packaged file has no site yet: that is said first.)
		if r.code != 78 || !strings.HasPrefix(r.stderr, "error: ") || (prog != "stormguard" && !strings.Contains(r.stderr, "no-such-dir")) {
			t.Errorf("%s with a missing certificate directory: exit %d, stderr:\n%s", prog, r.code, r.stderr)
		}
	}
}

// shutdownall against a broker that is not there says so at once, with the
// cause, not "context deadline exceeded" after its whole -wait.
func TestShutdownallSaysWhyItCannotConnect(t *testing.T) {
	port := fmt.Sprint(mqtttest.FreePort(t))
	begin := time.Now()
	r := runBin(t, build(t, "shutdownall", "dev"), nil, "-host", "127.0.0.1", "-port", port, "-wait", "2m", "storm")
	if r.code != 1 || !strings.Contains(r.stderr, "error: connect to tcp://127.0.0.1:"+port+": refused") || strings.Contains(r.stderr, "deadline") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if took := time.Since(begin); took > 10*time.Second {
		t.Errorf("took %v", took)
	}
}
