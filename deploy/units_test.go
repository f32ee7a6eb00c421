package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// requireSystemdEnv makes a missing systemd-analyze fail the tests (CI sets it).
const requireSystemdEnv = "STORMGUARD_REQUIRE_SYSTEMD"

// services maps each unit to the nfpm package that installs it.
var services = map[string]string{
	"stormguard-agent.service":          "nfpm/agent.yaml",
	"stormguard.service":                "nfpm/stormguard.yaml",
	"stormguard-servicemanager.service": "nfpm/servicemanager.yaml",
}

// unit is a unit file read as section -> key -> values (in order).
type unit map[string]map[string][]string

func readUnit(t *testing.T, path string) unit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unit{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s: cannot parse %q", path, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	return u
}

func (u unit) get(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

type nfpmConfig struct {
	Contents []struct {
		Src  string `yaml:"src"`
		Dst  string `yaml:"dst"`
		Type string `yaml:"type"`
	} `yaml:"contents"`
	Scripts map[string]string `yaml:"scripts"`
	Depends []string          `yaml:"depends"`
}

func readNFPM(t *testing.T, path string) nfpmConfig {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c nfpmConfig
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

// TestUnitsKeepTheirPromises checks what the issue asks of every service
// and that each unit runs what its package installs: a unit that gives up
// restarting, has no watchdog, runs as root, or starts a binary or reads a
// config file its package does not ship would be noticed only on a host.
func TestUnitsKeepTheirPromises(t *testing.T) {
	for name, pkg := range services {
		t.Run(name, func(t *testing.T) {
			u := readUnit(t, filepath.Join("systemd", name))
			want := []struct{ section, key, value string }{
				{"Service", "Type", "notify"},
				{"Service", "NotifyAccess", "main"},
				{"Service", "Restart", "always"},
				{"Unit", "StartLimitIntervalSec", "0"},
				{"Service", "NoNewPrivileges", "yes"},
				{"Service", "CapabilityBoundingSet", ""},
				{"Service", "ProtectSystem", "strict"},
				{"Install", "WantedBy", "multi-user.target"},
			}
			for _, w := range want {
				if _, ok := u[w.section][w.key]; !ok {
					t.Errorf("[%s] %s missing; want %q", w.section, w.key, w.value)
				} else if got := u.get(w.section, w.key); got != w.value {
					t.Errorf("[%s] %s=%s, want %q", w.section, w.key, got, w.value)
				}
			}
			if codes := strings.Fields(u.get("Service", "RestartPreventExitStatus")); !slices.Contains(codes, "78") || !slices.Contains(codes, "2") {
				t.Errorf("RestartPreventExitStatus=%v: a service that cannot read its configuration (exit 78) or its command line (exit 2) would restart every few seconds forever", codes)
			}
			if wd := u.get("Service", "WatchdogSec"); wd == "" || wd == "0" {
				t.Errorf("WatchdogSec=%q: a stuck event loop would never be restarted", wd)
			}
			if usr := u.get("Service", "User"); usr == "" || usr == "root" {
				t.Errorf("User=%q: the service must run as its own user", usr)
			}
			if u.get("Service", "StateDirectory") == "" {
				t.Error("no StateDirectory: the journal or state would have nowhere to go under ProtectSystem=strict")
			}

			argv := strings.Fields(u.get("Service", "ExecStart"))
			if len(argv) == 0 {
				t.Fatal("no ExecStart")
			}
			shipped := map[string]string{}
			conffiles := map[string]bool{}
			c := readNFPM(t, pkg)
			for _, f := range c.Contents {
				shipped[f.Dst] = f.Src
				if strings.HasPrefix(f.Type, "config") {
					conffiles[f.Dst] = true
				}
			}
			if _, ok := shipped[argv[0]]; !ok {
				t.Errorf("ExecStart runs %s, which %s does not install", argv[0], pkg)
			}
			if _, ok := shipped["/usr/lib/systemd/system/"+name]; !ok {
				t.Errorf("%s does not install the unit to /usr/lib/systemd/system/%s", pkg, name)
			}
			for i, a := range argv {
				if a == "-config" && i+1 < len(argv) && !conffiles[argv[i+1]] {
					t.Errorf("ExecStart reads %s, which %s does not ship as a conffile", argv[i+1], pkg)
				}
			}
			for _, s := range []string{"postinstall", "preremove"} {
				b, err := os.ReadFile(filepath.Join("..", c.Scripts[s]))
				if err != nil {
					t.Fatalf("%s script: %v", s, err)
				}
				if !strings.Contains(string(b), "[ -d /run/systemd/system ]") || !strings.Contains(string(b), name) {
					t.Errorf("%s script must act on %s only where systemd runs ([ -d /run/systemd/system ])", s, name)
				}
				if !strings.Contains(string(b), "deb-systemd-") {
					t.Errorf("%s script does not use Debian's deb-systemd-helper/deb-systemd-invoke", s)
				}
				code := regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(string(b), "")
				if m := regexp.MustCompile(`systemctl +(enable|disable|start|stop|restart|try-restart)`).FindString(code); m != "" {
					t.Errorf("%s script runs %q itself; deb-systemd-helper and deb-systemd-invoke keep the administrator's choices", s, m)
				}
			}
			if !slices.Contains(c.Depends, "init-system-helpers") {
				t.Errorf("%s does not depend on init-system-helpers (deb-systemd-helper)", pkg)
			}
		})
	}
}

// TestUnitsVerify runs systemd-analyze verify over every unit and over
// Debian's mosquitto.service with the repository's drop-in. Any complaint
// about them fails the test, not only a non-zero exit: systemd ignores an
// unknown key or a bad value with a warning and runs the unit without it.
// The ExecStart binaries are stand-ins in a temporary directory, since
// verify insists that they exist.
func TestUnitsVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv(requireSystemdEnv) == "1" {
			t.Fatalf("systemd-analyze is required (%s=1) but not installed: apt-get install systemd", requireSystemdEnv)
		}
		t.Skip("systemd-analyze not installed (apt-get install systemd); skipping")
	}
	dir := t.TempDir()
	var files []string
	for name := range services {
		b, err := os.ReadFile(filepath.Join("systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(b), "/usr/bin/", dir+"/bin/")
		files = append(files, writeFile(t, filepath.Join(dir, name), text))
		argv := strings.Fields(readUnit(t, filepath.Join(dir, name)).get("Service", "ExecStart"))
		writeFile(t, argv[0], "#!/bin/sh\n")
		os.Chmod(argv[0], 0o755)
	}
	// Debian's mosquitto.service (or a copy of it) with the drop-in next to it.
	mosq, err := os.ReadFile("/usr/lib/systemd/system/mosquitto.service")
	if err != nil {
		mosq = []byte(debianMosquittoUnit)
	}
	mosqUnit := writeFile(t, filepath.Join(dir, "mosquitto.service"),
		strings.Replace(string(mosq), "ExecStart=/usr/sbin/mosquitto", "ExecStart="+dir+"/bin/mosquitto", 1))
	writeFile(t, filepath.Join(dir, "bin", "mosquitto"), "#!/bin/sh\n")
	os.Chmod(filepath.Join(dir, "bin", "mosquitto"), 0o755)
	dropIn, err := os.ReadFile("mosquitto/mosquitto.service.d/stormguard.conf")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "mosquitto.service.d", "stormguard.conf"), string(dropIn))
	files = append(files, mosqUnit)

	verify := func(files []string) []string {
		out, err := exec.Command(analyze, append([]string{"verify", "--man=no"}, files...)...).CombinedOutput()
		var complaints []string
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, dir) || strings.Contains(line, ".service") {
				complaints = append(complaints, line)
			}
		}
		if err != nil && len(complaints) == 0 {
			complaints = append(complaints, "exit: "+err.Error()+": "+string(out))
		}
		return complaints
	}
	if c := verify(files); len(c) > 0 {
		t.Errorf("systemd-analyze verify:\n%s", strings.Join(c, "\n"))
	}

	// The check itself: a typo in the drop-in must be caught.
	writeFile(t, filepath.Join(dir, "mosquitto.service.d", "stormguard.conf"), string(dropIn)+"Restart=alwayz\n")
	if c := verify([]string{mosqUnit}); len(c) == 0 {
		t.Error("systemd-analyze verify did not complain about Restart=alwayz: the check above proves nothing")
	}
}

// TestMosquittoDropIn checks that the drop-in makes Mosquitto restart
// whatever stopped it, and never give up.
func TestMosquittoDropIn(t *testing.T) {
	u := readUnit(t, "mosquitto/mosquitto.service.d/stormguard.conf")
	if got := u.get("Service", "Restart"); got != "always" {
		t.Errorf("Restart=%q, want always", got)
	}
	if got := u.get("Unit", "StartLimitIntervalSec"); got != "0" {
		t.Errorf("StartLimitIntervalSec=%q, want 0", got)
	}
}

func writeFile(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// debianMosquittoUnit is mosquitto.service from Debian 12's mosquitto 2.0.11.
const debianMosquittoUnit = `[Unit]
Description=Mosquitto MQTT Broker
Documentation=man:mosquitto.conf(5) man:mosquitto(8)
After=network.target
Wants=network.target

[Service]
Type=notify
NotifyAccess=main
ExecStart=/usr/sbin/mosquitto -c /etc/mosquitto/mosquitto.conf
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
ExecStartPre=/bin/mkdir -m 740 -p /var/log/mosquitto
ExecStartPre=/bin/chown mosquitto /var/log/mosquitto
ExecStartPre=/bin/mkdir -m 740 -p /run/mosquitto
ExecStartPre=/bin/chown mosquitto /run/mosquitto

[Install]
WantedBy=multi-user.target
`
