package testpeer

import (
	"bufio"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"
)

// Redis is a private redis-server on a loopback port, no persistence:
// rspamd keeps its Bayes statistics (and greylisting) there.
type Redis struct {
	Addr string
	d    *daemon
}

// StartRedis starts redis-server with its working directory in dir.
func StartRedis(dir string) (*Redis, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	d, err := startDaemon("redis-server", filepath.Join(dir, "redis.log"), "redis-server",
		"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no")
	if err != nil {
		return nil, err
	}
	r := &Redis{Addr: "127.0.0.1:" + strconv.Itoa(port), d: d}
	if err := d.waitReady(r.ping, filepath.Join(dir, "redis.log")); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Redis) ping() error {
	c, err := net.DialTimeout("tcp", r.Addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// RspamdRedisFiles are the local.d files that point rspamd at r, for
// StartRspamd: Bayes learning, from the first lesson on.
func (r *Redis) RspamdRedisFiles() map[string]string {
	return map[string]string{
		"redis.conf":            "servers = \"" + r.Addr + "\";\n",
		"classifier-bayes.conf": "backend = \"redis\";\nservers = \"" + r.Addr + "\";\n",
	}
}

// Stop stops redis-server by its PID.
func (r *Redis) Stop() { r.d.stop() }
