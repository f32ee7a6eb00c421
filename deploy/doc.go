// Package deploy holds what runs the programs on real machines: the systemd
// units (systemd/), the broker's Mosquitto configuration and ACL
// (mosquitto/), the packaged configuration files (etc/), the polkit rule that
// lets the agent power a host off (polkit/) and the nfpm package definitions
// (nfpm/). It has no Go code of its own; its tests start the repository's
// broker configuration and check the units (docs/install.md uses them all).
package deploy
