package cli

import (
	"slices"
	"sort"
	"strings"
)

// programPrefixes are the environment prefixes of the four programs.
// stormguard's is the bare STORMGUARD; a variable under another program's
// prefix belongs to that program.
var programPrefixes = []string{"STORMGUARD_AGENT_", "STORMGUARD_SHUTDOWNALL_", "STORMGUARD_SERVICEMANAGER_"}

// reservedEnv are STORMGUARD_ variables that are not settings: the agent
// sets the first two for its power command; tests read the others.
var reservedEnv = []string{"STORMGUARD_COMMAND_ID", "STORMGUARD_ACTION", "STORMGUARD_FAULT"}

// checkEnv fails on variables under this program's prefix that name no
// setting: a typo (STORMGUARD_AGENT_MAX_AEG) would otherwise be ignored.
func (l *Loader) checkEnv(environ []string) error {
	own := l.Env + "_"
	var unknown []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, own) || slices.Contains(l.EnvNames, name) ||
			slices.Contains(reservedEnv, name) || strings.HasPrefix(name, "STORMGUARD_REQUIRE_") {
			continue
		}
		if other := slices.IndexFunc(programPrefixes, func(p string) bool { return p != own && strings.HasPrefix(name, p) }); other >= 0 {
			continue
		}
		key := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(name, own)), "_", "-")
		if key == "config" || key == "version" {
			unknown = append(unknown, name)
			continue
		}
		top, _, _ := strings.Cut(key, ".")
		if l.FS.Lookup(key) == nil && !slices.Contains(l.Keys, top) {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	return Usagef("unknown environment variable %s (%s -h lists the settings; each is %s<NAME>)", strings.Join(unknown, ", "), l.Program, own)
}
