package testutil

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// RedisServerEnv names the environment variable that, when set, is the
// redis-server binary [StartRedis] runs instead of the one on PATH.
const RedisServerEnv = "TOKENEXCHANGE_REDIS_SERVER"

// Timings of a Redis launch.
const (
	// redisStartTimeout bounds how long one start waits for the server to
	// answer PING.
	redisStartTimeout = 10 * time.Second
	// redisStopTimeout bounds how long a stop waits after SIGINT before it
	// kills the server.
	redisStopTimeout = 5 * time.Second
	// redisPortTries is how many ports a start tries when the port it
	// picked was taken before the server could bind it.
	redisPortTries = 5
	// redisDialTimeout bounds one PING while waiting for the server.
	redisDialTimeout = 500 * time.Millisecond
)

// Redis is a real redis-server process on a loopback port, for tests: no
// persistence (save "" and appendonly no), its working directory a
// temporary one. Start it with [StartRedis]. Its methods are safe for
// concurrent use.
type Redis struct {
	tb     testing.TB
	binary string
	dir    string
	port   int

	mu   sync.Mutex // serialises Kill, Restart and the cleanup
	proc *redisProcess
	runs int // servers started so far, names their log files
}

// redisProcess is one run of redis-server.
type redisProcess struct {
	cmd    *exec.Cmd
	log    string        // the server's log file
	exited chan struct{} // closed when cmd.Wait has returned
	err    error         // what cmd.Wait returned; read after exited
}

// StartRedis starts redis-server on a free port of 127.0.0.1 and waits
// until it answers PING; tb.Cleanup stops it and waits for the process to
// end. When the port it picked is taken before the server binds it, it
// tries another one.
//
// It runs the binary named by $TOKENEXCHANGE_REDIS_SERVER, or else
// redis-server from PATH. When there is none, it fails the test if the
// environment variable CI is "true" (CI installs it: see .ci/run), and
// skips it otherwise, each with a one-line reason.
func StartRedis(tb testing.TB) *Redis {
	tb.Helper()
	binary, err := redisBinary()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("testutil: %v (CI=true: Redis tests must run; .ci/run installs the Debian package redis-server)", err)
		}
		tb.Skipf("testutil: skipping a Redis test: %v (install the Debian package redis-server)", err)
	}
	r := &Redis{tb: tb, binary: binary, dir: tb.TempDir()}
	tb.Cleanup(r.stop)
	var lastErr error
	for range redisPortTries {
		port, err := freePort()
		if err != nil {
			tb.Fatalf("testutil: no free loopback port for redis-server: %v", err)
		}
		r.port = port
		r.mu.Lock()
		lastErr = r.startLocked()
		r.mu.Unlock()
		if lastErr == nil {
			return r
		}
		if !errors.Is(lastErr, errRedisExited) {
			break
		}
	}
	tb.Fatalf("testutil: starting redis-server: %v", lastErr)
	return nil
}

// redisBinary returns the redis-server to run.
func redisBinary() (string, error) {
	if b := os.Getenv(RedisServerEnv); b != "" {
		p, err := exec.LookPath(b)
		if err != nil {
			return "", fmt.Errorf("$%s=%q is not an executable", RedisServerEnv, b)
		}
		return p, nil
	}
	p, err := exec.LookPath("redis-server")
	if err != nil {
		return "", errors.New("redis-server is not on PATH")
	}
	return p, nil
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Addr returns the server's address, "127.0.0.1:port".
func (r *Redis) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// URL returns the server's URL for database 0, "redis://127.0.0.1:port/0".
func (r *Redis) URL() string { return "redis://" + r.Addr() + "/0" }

// Port returns the server's port.
func (r *Redis) Port() int { return r.port }

// errRedisExited is the error of a start whose server ended before it
// answered: most often because its port was taken meanwhile.
var errRedisExited = errors.New("redis-server exited before answering")

// startLocked starts a server on r.port and waits until it answers PING.
// r.mu must be held.
func (r *Redis) startLocked() error {
	r.runs++
	logFile := filepath.Join(r.dir, fmt.Sprintf("redis-%d.log", r.runs))
	cmd := exec.Command(r.binary,
		"--port", strconv.Itoa(r.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", r.dir,
		"--logfile", logFile,
		"--daemonize", "no",
		// DEBUG SLEEP from the loopback interface, for the tests of a
		// slow server.
		"--enable-debug-command", "local",
	)
	cmd.Dir = r.dir
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("running %s: %w", r.binary, err)
	}
	p := &redisProcess{cmd: cmd, log: logFile, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	r.proc = p

	deadline := time.Now().Add(redisStartTimeout)
	for {
		select {
		case <-p.exited:
			r.proc = nil
			return fmt.Errorf("%w on port %d (%v): %s", errRedisExited, r.port, p.err, lastLogLine(logFile))
		default:
		}
		// The server that answers must be this process, not another one
		// that took the port first.
		if info, err := redisCommand(r.Addr(), redisDialTimeout, "INFO", "server"); err == nil {
			if pid, ok := infoField(info, "process_id"); ok && pid == strconv.Itoa(cmd.Process.Pid) {
				return nil
			}
		}
		if time.Now().After(deadline) {
			r.killLocked()
			return fmt.Errorf("redis-server on port %d did not answer within %v: %s", r.port, redisStartTimeout, lastLogLine(logFile))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Kill ends the server at once with SIGKILL, as a crash would, and waits
// for the process to end. Clients then see connection errors until
// [Redis.Restart]. Killing a server that is not running does nothing.
func (r *Redis) Kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.killLocked()
}

// killLocked kills the running server, if any, and waits for it. r.mu
// must be held.
func (r *Redis) killLocked() {
	p := r.proc
	if p == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
	r.proc = nil
}

// Restart kills the server if it runs and starts a new one on the same
// port, with no data, and waits until it answers PING. It fails the test
// if the port cannot be had again within a few tries.
func (r *Redis) Restart() {
	r.tb.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.killLocked()
	var err error
	for range redisPortTries {
		if err = r.startLocked(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.tb.Fatalf("testutil: restarting redis-server: %v", err)
}

// stop ends the server with SIGINT (it exits without saving), or with
// SIGKILL if it has not ended within redisStopTimeout, and waits for it.
func (r *Redis) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.proc
	if p == nil {
		return
	}
	if err := p.cmd.Process.Signal(os.Interrupt); err == nil {
		t := time.NewTimer(redisStopTimeout)
		defer t.Stop()
		select {
		case <-p.exited:
			r.proc = nil
			return
		case <-t.C:
		}
	}
	r.killLocked()
}

// Do sends one command to the server over a new connection and returns
// its reply: a string for a simple string or bulk string, an int64 for
// an integer, nil for a null, []any for an array; a Redis error reply is
// returned as an error. It is for tests that need to tell the server
// something (CLIENT PAUSE, DEBUG SLEEP, FLUSHALL) without a client
// library; each call waits at most five seconds.
func (r *Redis) Do(args ...string) (any, error) {
	return redisDo(r.Addr(), 5*time.Second, args...)
}

// lastLogLine returns the last non-empty line of the server's log file,
// or a note that there is none.
func lastLogLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "no log"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if last := strings.TrimSpace(lines[len(lines)-1]); last != "" {
		return last
	}
	return "empty log"
}

// infoField returns the value of field in the text of an INFO reply.
func infoField(info, field string) (string, bool) {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v, true
		}
	}
	return "", false
}
