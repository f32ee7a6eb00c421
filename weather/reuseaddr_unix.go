//go:build unix

package weather

import "syscall"

// reuseAddr sets SO_REUSEADDR so the Tempest listener can share port 50222
// with other listeners of the hub's broadcasts on the same host.
func reuseAddr(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
