package testutil

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// RedisError is an error reply of a Redis server, as [Redis.Do] returns it.
type RedisError string

func (e RedisError) Error() string { return "redis: " + string(e) }

// Limits of what redisDo reads: a test's replies are small.
const (
	respMaxBulk  = 64 << 20
	respMaxArray = 1 << 20
	respMaxDepth = 8
)

// redisDo sends one command in RESP2 to addr over a new connection and
// reads its reply, all within timeout.
func redisDo(addr string, timeout time.Duration, args ...string) (any, error) {
	if len(args) == 0 {
		return nil, errors.New("testutil: a Redis command needs a name")
	}
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	if _, err := conn.Write(appendCommand(nil, args)); err != nil {
		return nil, err
	}
	return readReply(bufio.NewReader(conn), 0)
}

// redisCommand is redisDo for a command whose reply is a string.
func redisCommand(addr string, timeout time.Duration, args ...string) (string, error) {
	v, err := redisDo(addr, timeout, args...)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("testutil: %s replied %T, not a string", args[0], v)
	}
	return s, nil
}

// appendCommand appends args as a RESP array of bulk strings.
func appendCommand(b []byte, args []string) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}

// readReply reads one RESP2 reply.
func readReply(r *bufio.Reader, depth int) (any, error) {
	if depth > respMaxDepth {
		return nil, errors.New("testutil: Redis reply nested too deep")
	}
	line, err := readLine(r)
	if err != nil {
		return nil, err
	}
	if len(line) == 0 {
		return nil, errors.New("testutil: empty Redis reply line")
	}
	body := string(line[1:])
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return nil, RedisError(body)
	case ':':
		n, err := strconv.ParseInt(body, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("testutil: bad Redis integer reply: %w", err)
		}
		return n, nil
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 || n > respMaxBulk {
			return nil, errors.New("testutil: bad Redis bulk length")
		}
		if n == -1 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 || n > respMaxArray {
			return nil, errors.New("testutil: bad Redis array length")
		}
		if n == -1 {
			return nil, nil
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = readReply(r, depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	default:
		return nil, fmt.Errorf("testutil: unknown Redis reply type %q", line[0])
	}
}

// readLine reads a line ended by CRLF, without it.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, errors.New("testutil: Redis reply line without CRLF")
	}
	return line[:len(line)-2], nil
}
