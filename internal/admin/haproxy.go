package admin

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// DefaultHAProxyTimeout bounds one runtime API exchange when the caller's
// context has no earlier deadline.
const DefaultHAProxyTimeout = 5 * time.Second

// HAProxy switches a backend through HAProxy's runtime API (the "stats
// socket" at admin level), over TCP ("127.0.0.1:9999") or a unix socket
// ("/run/haproxy/admin.sock" or "unix:/run/…"). HAProxy has no breaker, so:
//
//	force open → every server of backend B: set server B/S state maint
//	close      → every server of backend B: set server B/S state ready
//
// Servers are learnt with "show servers state B". Each command uses its own
// connection in non-interactive mode: HAProxy answers and closes, which is
// the framing. Disabling has no equivalent (ErrUnsupported).
type HAProxy struct {
	network, address string
	timeout          time.Duration
}

// NewHAProxy returns a switch for the runtime API at addr. A timeout ≤ 0
// means DefaultHAProxyTimeout; it bounds every exchange on the socket
// (dial, write, read) together with the caller's context.
func NewHAProxy(addr string, timeout time.Duration) *HAProxy {
	if timeout <= 0 {
		timeout = DefaultHAProxyTimeout
	}
	h := &HAProxy{network: "tcp", address: addr, timeout: timeout}
	switch {
	case strings.HasPrefix(addr, "unix:"):
		h.network, h.address = "unix", strings.TrimPrefix(addr, "unix:")
	case strings.HasPrefix(addr, "/") || strings.HasPrefix(addr, "./"):
		h.network = "unix"
	}
	return h
}

// Servers returns the names of backend's servers in configuration order.
func (h *HAProxy) Servers(ctx context.Context, backend string) ([]string, error) {
	if err := haproxyName("backend", backend); err != nil {
		return nil, err
	}
	out, err := h.Command(ctx, "show servers state "+backend)
	if err != nil {
		return nil, err
	}
	return parseServersState(out, backend)
}

// Set puts every server of backend in maintenance (ForceOpen) or back to
// ready (Close). It returns "" because the runtime API reports no state;
// haproxy_server_status{state="MAINT"} in later scrapes confirms it.
// When a command fails half-way, the error names the servers already changed.
func (h *HAProxy) Set(ctx context.Context, backend string, action Action) (string, error) {
	var state string
	switch action {
	case ForceOpen:
		state = "maint"
	case Close:
		state = "ready"
	case Disable:
		return "", fmt.Errorf("%w: HAProxy has no way to disable a backend's protection", ErrUnsupported)
	default:
		return "", fmt.Errorf("unknown admin action %q", action)
	}
	servers, err := h.Servers(ctx, backend)
	if err != nil {
		return "", err
	}
	if len(servers) == 0 {
		return "", fmt.Errorf("%w: backend %q has no servers", ErrUnknownName, backend)
	}
	var done []string
	for _, s := range servers {
		if err := haproxyName("server", s); err != nil {
			return "", err
		}
		out, err := h.Command(ctx, "set server "+backend+"/"+s+" state "+state)
		if err == nil && strings.TrimSpace(out) != "" {
			err = fmt.Errorf("HAProxy refused %q: %s", "set server "+backend+"/"+s+" state "+state, oneLine(out))
		}
		if err != nil {
			if len(done) > 0 {
				return "", fmt.Errorf("%w (already %s: %s)", err, state, strings.Join(done, ", "))
			}
			return "", err
		}
		done = append(done, s)
	}
	return "", nil
}

// Command sends one runtime API command and returns HAProxy's whole answer
// (at most 1 MiB). A timeout is reported as context.DeadlineExceeded.
func (h *HAProxy) Command(ctx context.Context, cmd string) (string, error) {
	if strings.ContainsAny(cmd, "\r\n") {
		return "", errors.New("HAProxy runtime API command must be one line")
	}
	deadline := time.Now().Add(h.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, h.network, h.address)
	if err != nil {
		return "", h.ioError(ctx, err)
	}
	defer conn.Close()
	// The context can end while blocked on the socket; closing it unblocks.
	stop := context.AfterFunc(dctx, func() { conn.Close() })
	defer stop()
	if err := conn.SetDeadline(deadline); err != nil {
		return "", h.ioError(ctx, err)
	}
	if _, err := io.WriteString(conn, cmd+"\n"); err != nil {
		return "", h.ioError(ctx, err)
	}
	body, err := io.ReadAll(io.LimitReader(conn, maxBody+1))
	if err != nil {
		return "", h.ioError(ctx, err)
	}
	if len(body) > maxBody {
		return "", fmt.Errorf("HAProxy runtime API answer larger than %d bytes", maxBody)
	}
	return string(body), nil
}

func (h *HAProxy) ioError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, net.ErrClosed) {
		return context.DeadlineExceeded
	}
	return fmt.Errorf("HAProxy runtime API at %s: %v", h.address, err)
}

// parseServersState reads the answer to "show servers state B": a format
// version line ("1"), a "# be_id be_name srv_id srv_name …" header naming the
// columns, then one line per server. Any other answer is HAProxy's error text.
func parseServersState(out, backend string) ([]string, error) {
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 0, 4096), maxBody)
	col := -1
	bcol := -1
	var servers []string
	sawVersion := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			continue
		case !sawVersion:
			if line != "1" {
				if strings.Contains(line, "Can't find backend") {
					return nil, fmt.Errorf("%w: HAProxy has no backend %q", ErrUnknownName, backend)
				}
				return nil, fmt.Errorf("HAProxy: unexpected answer to show servers state: %s", oneLine(out))
			}
			sawVersion = true
		case strings.HasPrefix(line, "#"):
			for i, f := range strings.Fields(strings.TrimPrefix(line, "#")) {
				switch f {
				case "srv_name":
					col = i
				case "be_name":
					bcol = i
				}
			}
		default:
			if col < 0 {
				return nil, errors.New("HAProxy: show servers state answered rows before its header")
			}
			fields := strings.Fields(line)
			if len(fields) <= col || (bcol >= 0 && (len(fields) <= bcol || fields[bcol] != backend)) {
				continue
			}
			servers = append(servers, fields[col])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("HAProxy: reading show servers state: %v", err)
	}
	if !sawVersion {
		return nil, errors.New("HAProxy: empty answer to show servers state")
	}
	return servers, nil
}

// haproxyName refuses names that could smuggle a second command into the
// runtime API (it splits on ';' and whitespace) instead of trying to escape
// them: HAProxy's own identifiers are letters, digits and "-_.:".
func haproxyName(kind, name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty HAProxy %s name", ErrUnknownName, kind)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:", r)
		if !ok {
			return fmt.Errorf("%w: %q is not a valid HAProxy %s name", ErrUnknownName, name, kind)
		}
	}
	return nil
}

// oneLine shortens an answer for an error message.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}
