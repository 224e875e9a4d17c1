// A small Go server and client for the seccomp backend's tests: Go's runtime makes its
// socket system calls itself, so LD_PRELOAD never sees them.
//   go_ping serve PORT    answer PING with +PONG on 127.0.0.1:PORT until SIGTERM
//   go_ping ping PORT     send PING, expect +PONG; exit 0 if it came, 1 otherwise
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func serve(port string) int {
	l, err := net.Listen("tcp4", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		return 1
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-sig; l.Close() }()
	for {
		c, err := l.Accept()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			select {
			case <-sig:
			default:
			}
			if opErr, ok := err.(*net.OpError); ok && opErr.Err.Error() == "use of closed network connection" {
				return 0
			}
			fmt.Fprintln(os.Stderr, "accept:", err)
			return 1
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err == nil && len(line) >= 4 && line[:4] == "PING" {
			c.Write([]byte("+PONG\n"))
		}
		c.Close()
	}
}

func ping(port string) int {
	c, err := net.DialTimeout("tcp4", "127.0.0.1:"+port, 3*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dial:", err)
		return 1
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write([]byte("PING\n")); err != nil {
		fmt.Fprintln(os.Stderr, "write:", err)
		return 1
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "+PONG\n" {
		fmt.Fprintln(os.Stderr, "read:", err)
		return 1
	}
	return 0
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go_ping serve|ping PORT")
		os.Exit(2)
	}
	if os.Args[1] == "serve" {
		os.Exit(serve(os.Args[2]))
	}
	os.Exit(ping(os.Args[2]))
}
