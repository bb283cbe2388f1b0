package testutil

import (
	"bufio"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStartRedis(t *testing.T) {
	r := StartRedis(t)
	assert.Equal(t, "redis://"+r.Addr()+"/0", r.URL())
	assert.True(t, strings.HasPrefix(r.Addr(), "127.0.0.1:"))

	pong, err := r.Do("PING")
	require.NoError(t, err)
	assert.Equal(t, "PONG", pong)
	for _, tc := range []struct {
		args []string
		want any
	}{
		{[]string{"SET", "k", "v"}, "OK"},
		{[]string{"GET", "k"}, "v"},
		{[]string{"GET", "absent"}, nil},
		{[]string{"INCR", "n"}, int64(1)},
		{[]string{"CONFIG", "GET", "save"}, []any{"save", ""}},
		{[]string{"CONFIG", "GET", "appendonly"}, []any{"appendonly", "no"}},
	} {
		got, err := r.Do(tc.args...)
		require.NoError(t, err, tc.args)
		assert.Equal(t, tc.want, got, tc.args)
	}
	_, err = r.Do("NOSUCHCOMMAND")
	var re RedisError
	require.ErrorAs(t, err, &re)
	assert.Contains(t, re.Error(), "unknown command")
}

func TestRedisKillRestart(t *testing.T) {
	r := StartRedis(t)
	port := r.Port()
	_, err := r.Do("SET", "k", "v")
	require.NoError(t, err)

	r.Kill()
	_, err = r.Do("PING")
	assert.Error(t, err, "a killed server does not answer")
	r.Kill() // killing twice does nothing

	r.Restart()
	assert.Equal(t, port, r.Port(), "the same port")
	got, err := r.Do("GET", "k")
	require.NoError(t, err)
	assert.Nil(t, got, "a restarted server has no data")

	r.Restart() // restarting a running server
	pong, err := r.Do("PING")
	require.NoError(t, err)
	assert.Equal(t, "PONG", pong)
}

func TestRedisSeveralSideBySide(t *testing.T) {
	a, b := StartRedis(t), StartRedis(t)
	assert.NotEqual(t, a.Addr(), b.Addr())
	_, err := a.Do("SET", "k", "a")
	require.NoError(t, err)
	got, err := b.Do("GET", "k")
	require.NoError(t, err)
	assert.Nil(t, got, "separate servers")
}

// TestRedisPortTaken: a server whose port another listener took exits,
// and the start reports it as errRedisExited, which StartRedis retries.
func TestRedisPortTaken(t *testing.T) {
	binary, err := redisBinary()
	if err != nil {
		t.Skipf("testutil: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	r := &Redis{tb: t, binary: binary, dir: t.TempDir(), port: l.Addr().(*net.TCPAddr).Port}
	r.mu.Lock()
	err = r.startLocked()
	r.mu.Unlock()
	require.ErrorIs(t, err, errRedisExited)
	assert.Contains(t, err.Error(), "Failed listening on port", "the server's last log line")
	assert.Nil(t, r.proc)
}

// recordingTB records how a test ended, for the tests of StartRedis
// without a server.
type recordingTB struct {
	testing.TB
	mu      sync.Mutex
	fatal   string
	skipped string
}

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.fatal = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recordingTB) Skipf(format string, args ...any) {
	r.mu.Lock()
	r.skipped = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func TestStartRedisWithoutServer(t *testing.T) {
	for _, tc := range []struct {
		ci        string
		wantFatal bool
	}{{"true", true}, {"", false}, {"false", false}} {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			t.Setenv(RedisServerEnv, "/nonexistent/redis-server")
			t.Setenv("CI", tc.ci)
			rec := &recordingTB{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				StartRedis(rec)
				t.Error("StartRedis returned without a server")
			}()
			<-done
			if tc.wantFatal {
				assert.Contains(t, rec.fatal, "CI=true")
				assert.Empty(t, rec.skipped)
			} else {
				assert.Contains(t, rec.skipped, "skipping a Redis test")
				assert.Empty(t, rec.fatal)
			}
			for _, s := range []string{rec.fatal, rec.skipped} {
				assert.NotContains(t, s, "\n", "one line")
			}
			assert.Contains(t, rec.fatal+rec.skipped, RedisServerEnv)
		})
	}
}

func TestReadReply(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    any
		wantErr string
	}{
		{"+OK\r\n", "OK", ""},
		{"-ERR no\r\n", nil, "redis: ERR no"},
		{":42\r\n", int64(42), ""},
		{"$3\r\nabc\r\n", "abc", ""},
		{"$-1\r\n", nil, ""},
		{"*2\r\n$1\r\na\r\n:1\r\n", []any{"a", int64(1)}, ""},
		{"*-1\r\n", nil, ""},
		{"?x\r\n", nil, "unknown Redis reply type"},
		{"$x\r\n", nil, "bad Redis bulk length"},
		{"+OK\n", nil, "without CRLF"},
		{"$5\r\nab", nil, "EOF"},
		{strings.Repeat("*1\r\n", 10) + ":1\r\n", nil, "nested too deep"},
	} {
		got, err := readReply(bufio.NewReader(strings.NewReader(tc.in)), 0)
		if tc.wantErr != "" {
			assert.ErrorContains(t, err, tc.wantErr, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}
