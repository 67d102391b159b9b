package admin

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A real HAProxy 2.6 answer to "show servers state pg" (captured here).
const showServersPG = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n" +
	"4 pg 1 pg1 127.0.0.1 0 0 1 1 6 17 2 0 6 0 0 0 - 18081 - 0 0 - - 0\n" +
	"4 pg 2 pg2 127.0.0.1 0 0 1 1 6 8 2 0 6 0 0 0 - 18082 - 0 0 - - 0\n\n"

// fakeRuntimeAPI is a stats socket in non-interactive mode: it reads one
// command line, answers, and closes, as HAProxy does.
type fakeRuntimeAPI struct {
	ln       net.Listener
	answer   func(cmd string) string
	silent   atomic.Bool // read the command and never answer
	mu       sync.Mutex
	commands []string
	wg       sync.WaitGroup
}

func startFakeRuntimeAPI(t *testing.T, network, addr string, answer func(string) string) *fakeRuntimeAPI {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeRuntimeAPI{ln: ln, answer: answer}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.wg.Add(1)
			go f.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close(); f.wg.Wait() })
	return f
}

func (f *fakeRuntimeAPI) serve(c net.Conn) {
	defer f.wg.Done()
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return
	}
	cmd := strings.TrimSuffix(line, "\n")
	f.mu.Lock()
	f.commands = append(f.commands, cmd)
	f.mu.Unlock()
	if f.silent.Load() {
		buf := make([]byte, 1)
		c.Read(buf) // hold the connection until the client gives up
		return
	}
	c.Write([]byte(f.answer(cmd)))
}

func (f *fakeRuntimeAPI) sent() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.commands)
}

// haproxyAnswers behaves like HAProxy for backend pg with servers pg1, pg2.
func haproxyAnswers(cmd string) string {
	switch {
	case cmd == "show servers state pg":
		return showServersPG
	case strings.HasPrefix(cmd, "show servers state "):
		return "Can't find backend.\n\n"
	case strings.HasPrefix(cmd, "set server pg/pg") && (strings.HasSuffix(cmd, " state maint") || strings.HasSuffix(cmd, " state ready")):
		return "\n"
	case strings.HasPrefix(cmd, "set server "):
		return "No such server.\n\n"
	}
	return "Unknown command.\n\n"
}

func TestHAProxySet(t *testing.T) {
	tests := []struct {
		name     string
		backend  string
		action   Action
		answer   func(string) string
		silent   bool
		timeout  time.Duration
		wantCmds []string
		wantErr  error
		errText  string
	}{
		{name: "force open puts every server in maintenance", backend: "pg", action: ForceOpen,
			wantCmds: []string{"show servers state pg", "set server pg/pg1 state maint", "set server pg/pg2 state maint"}},
		{name: "close makes every server ready", backend: "pg", action: Close,
			wantCmds: []string{"show servers state pg", "set server pg/pg1 state ready", "set server pg/pg2 state ready"}},
		{name: "unknown backend", backend: "pgg", action: ForceOpen, wantErr: ErrUnknownName,
			wantCmds: []string{"show servers state pgg"}},
		{name: "disable unsupported", backend: "pg", action: Disable, wantErr: ErrUnsupported},
		{name: "command injection refused", backend: "pg;shutdown sessions", action: ForceOpen, wantErr: ErrUnknownName},
		{name: "refused half-way names what changed", backend: "pg", action: ForceOpen,
			answer: func(cmd string) string {
				if cmd == "set server pg/pg2 state maint" {
					return "Permission denied\n\n"
				}
				return haproxyAnswers(cmd)
			},
			errText:  `refused "set server pg/pg2 state maint": Permission denied (already maint: pg1)`,
			wantCmds: []string{"show servers state pg", "set server pg/pg1 state maint", "set server pg/pg2 state maint"}},
		{name: "backend without servers", backend: "pg", action: ForceOpen,
			answer:   func(string) string { return "1\n# be_id be_name srv_id srv_name\n\n" },
			wantErr:  ErrUnknownName,
			wantCmds: []string{"show servers state pg"}},
		{name: "silent socket hits the deadline", backend: "pg", action: ForceOpen, silent: true, timeout: 150 * time.Millisecond,
			wantErr: context.DeadlineExceeded, wantCmds: []string{"show servers state pg"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answer := tt.answer
			if answer == nil {
				answer = haproxyAnswers
			}
			fake := startFakeRuntimeAPI(t, "tcp", "127.0.0.1:0", answer)
			fake.silent.Store(tt.silent)
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			got, err := NewHAProxy(fake.ln.Addr().String(), 0).Set(ctx, tt.backend, tt.action)
			checkErr(t, err, tt.wantErr, tt.errText)
			if got != "" {
				t.Errorf("state = %q, want none", got)
			}
			if cmds := fake.sent(); strings.Join(cmds, "\n") != strings.Join(tt.wantCmds, "\n") {
				t.Errorf("commands = %q, want %q", cmds, tt.wantCmds)
			}
		})
	}
}

func TestHAProxySocketTimeout(t *testing.T) {
	fake := startFakeRuntimeAPI(t, "tcp", "127.0.0.1:0", haproxyAnswers)
	fake.silent.Store(true)
	start := time.Now()
	// No deadline on the context: the switch's own socket timeout must end it.
	_, err := NewHAProxy(fake.ln.Addr().String(), 100*time.Millisecond).Servers(context.Background(), "pg")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("took %v, the socket timeout did not apply", time.Since(start))
	}
}

func TestHAProxyUnixSocket(t *testing.T) {
	dir, err := os.MkdirTemp("", "hapx") // short: unix socket paths are limited to ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "admin.sock")
	startFakeRuntimeAPI(t, "unix", sock, haproxyAnswers)
	for _, addr := range []string{sock, "unix:" + sock} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		servers, err := NewHAProxy(addr, 0).Servers(ctx, "pg")
		cancel()
		if err != nil || strings.Join(servers, ",") != "pg1,pg2" {
			t.Errorf("%s: servers = %v, %v", addr, servers, err)
		}
	}
}

func TestHAProxyRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = NewHAProxy(addr, 0).Set(ctx, "pg", ForceOpen)
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("err = %v, want connection refused", err)
	}
}

func TestParseServersState(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    []string
		wantErr error
		errText string
	}{
		{name: "haproxy 2.6", out: showServersPG, want: []string{"pg1", "pg2"}},
		{name: "other backends' rows skipped", out: "1\n# be_id be_name srv_id srv_name\n3 other 1 x\n4 pg 1 a\n", want: []string{"a"}},
		{name: "columns found by header", out: "1\n# srv_name be_name\ns1 pg\n", want: []string{"s1"}},
		{name: "no servers", out: "1\n# be_id be_name srv_id srv_name\n\n", want: nil},
		{name: "unknown backend", out: "Can't find backend.\n\n", wantErr: ErrUnknownName},
		{name: "permission", out: "Permission denied\n\n", errText: "unexpected answer"},
		{name: "empty", out: "", errText: "empty answer"},
		{name: "rows before header", out: "1\n4 pg 1 a\n", errText: "before its header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseServersState(tt.out, "pg")
			checkErr(t, err, tt.wantErr, tt.errText)
			if !slices.Equal(got, tt.want) {
				t.Errorf("servers = %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzParseServersState(f *testing.F) {
	f.Add(showServersPG, "pg")
	f.Add("Can't find backend.\n", "x")
	f.Add("1\n#\n\n\n", "")
	f.Fuzz(func(t *testing.T, out, backend string) {
		servers, err := parseServersState(out, backend)
		if err != nil && servers != nil {
			t.Fatal("servers with an error")
		}
		for _, s := range servers {
			if s == "" || strings.ContainsAny(s, " \t\n") {
				t.Fatalf("bad server name %q", s)
			}
		}
	})
}

func TestHAProxyName(t *testing.T) {
	for name, ok := range map[string]bool{
		"pg": true, "be_api-v2.internal:8080": true,
		"": false, "pg;shutdown": false, "pg b": false, "pg\nx": false, "pg/x": false, "é": false,
	} {
		if err := haproxyName("backend", name); (err == nil) != ok {
			t.Errorf("haproxyName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}
