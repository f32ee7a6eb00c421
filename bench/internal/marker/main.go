// Command marker is the power command in the fan-out comparison
// (bench/power_test.go): it tells the benchmark over loopback TCP that a
// host's power command has started, and does nothing else.
//
//	marker ADDR NAME
package main

import (
	"fmt"
	"net"
	"os"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: marker ADDR NAME")
		os.Exit(2)
	}
	conn, err := net.Dial("tcp", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "marker:", err)
		os.Exit(1)
	}
	fmt.Fprintln(conn, os.Args[2])
	conn.Close()
}
