//go:build !unix

package weather

import "syscall"

// reuseAddr does nothing where SO_REUSEADDR is not set the unix way.
func reuseAddr(network, address string, c syscall.RawConn) error { return nil }
